// Package process manages background processes started inside the sandbox:
// bounded logs with stable offsets, status, tree kills, waits.
//
// Each process is `/bin/bash -c COMMAND` (a command too long for an
// argument is read from a sealed memfd instead: commandArgs) spawned
// through the sandbox with
// the session's cwd and exported environment as of the start, its own
// stdin pipe and one pipe per output stream, and a unique tag (TagEnv=P/<session>/<n>)
// so a kill finds every descendant, including setsid/nohup ones. Nothing is
// ever signalled except through Sandbox.Kill.
//
// Goroutines per process, all owned by the Manager: one reader per output
// stream (exits at EOF, or at the drain deadline after the process exited
// when a daemonized child still holds the pipe) and one waiter that, once
// the process is reaped and both readers are done, records the exit and
// closes proc.done. The record then stays queryable until evicted (oldest
// finished first, beyond maxFinished records or finishedBudget bytes of logs).
package process

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/isolation"
	"github.com/sbx-mcp/sbx-mcp/session"
)

// Options configure a Manager.
type Options struct {
	// MaxOutput is --max-output, the cap of one stream in a tool result.
	// A log is retained memory, paged through get_process_logs, so it keeps
	// more: 4×MaxOutput per stream, at least 1 MiB.
	MaxOutput int
	// MaxRunning is the most processes running at once (0: no limit).
	MaxRunning int
	Log        zerolog.Logger
}

const (
	minLogBytes  = 1 << 20                // per stream
	maxFinished  = 1000                   // finished records kept
	drainTimeout = 250 * time.Millisecond // reading on after exit while a descendant holds the pipe
	readChunk    = 16 << 10
	// DefaultGrace is how long kill_process waits after the first signal.
	DefaultGrace = 5 * time.Second
	sessionGrace = time.Second // grace when a session is deleted
)

// Status values.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusKilled    = "killed"
	StatusError     = "error"
)

// Errors.
var (
	ErrNotFound  = errors.New("no such process")
	ErrExists    = errors.New("process id already in use")
	ErrInvalidID = errors.New("invalid process id: use 1-63 characters of A-Z a-z 0-9 _ -")
	ErrClosed    = errors.New("the process manager is shut down")
	ErrExited    = errors.New("process has exited")
	ErrTooMany   = errors.New("too many background processes")
)

// Manager owns every background process of one sandbox.
type Manager struct {
	sbox     atomic.Pointer[isolation.Sandbox] // the current one (SetSandbox replaces it)
	sessions *session.Manager
	opts     Options
	logCap   int   // bytes of log kept per stream
	budget   int64 // bytes of logs kept for finished records

	mu       sync.Mutex
	procs    map[string]*proc // started processes, by id
	reserved map[string]bool  // ids being started
	order    []*proc          // by start
	finished []*proc          // by end, oldest first
	finBytes int64
	seq      int
	closed   bool

	wg sync.WaitGroup // every process goroutine
}

// NewManager returns a Manager; sessions (may be nil) gives a new
// process its session's cwd and environment.
func NewManager(sb *isolation.Sandbox, sessions *session.Manager, opts Options) *Manager {
	logCap := max(4*opts.MaxOutput, minLogBytes)
	m := &Manager{
		sessions: sessions, opts: opts, logCap: logCap,
		budget: max(64<<20, 16*2*int64(logCap)),
		procs:  map[string]*proc{}, reserved: map[string]bool{},
	}
	m.sbox.Store(sb)
	return m
}

// SetSandbox makes new processes start in sb (after the previous sandbox
// died; the records of its processes stay, ended).
func (m *Manager) SetSandbox(sb *isolation.Sandbox) { m.sbox.Store(sb) }

func (m *Manager) sandbox() *isolation.Sandbox { return m.sbox.Load() }

// proc is one background process. Fields above mu are immutable after Start.
type proc struct {
	id, session, command, tag string
	started                   time.Time
	pid                       int
	sp                        *isolation.Process
	term                      *term // tty: true (tty.go), else nil

	done chan struct{} // closed by the waiter once finished (logs complete)

	stdinMu sync.Mutex // guards stdin and serialises writes to it
	stdin   *os.File   // write end, nil once closed

	mu       sync.Mutex
	out, err *logBuf
	notify   chan struct{} // closed and replaced on every change
	status   string
	exit     isolation.ExitStatus
	ended    time.Time
	seenOut  int64 // log offsets write_process_stdin has returned up to (interact.go)
	seenErr  int64
	killed   bool   // a kill was requested
	errMsg   string // status error
}

// changed wakes every waiter. Call with p.mu held.
func (p *proc) changed() {
	close(p.notify)
	p.notify = make(chan struct{})
}

// Info is the record of one process (get_process, list_processes).
type Info struct {
	ID          string    `json:"id"`
	Session     string    `json:"session"`
	Command     string    `json:"command"`
	Pid         int       `json:"pid" jsonschema_description:"pid inside the sandbox"`
	Status      string    `json:"status" jsonschema:"enum=running,enum=completed,enum=failed,enum=killed,enum=error"`
	ExitCode    *int      `json:"exit_code,omitempty" jsonschema_description:"absent while running or when ended by a signal"`
	Signal      string    `json:"signal,omitempty" jsonschema_description:"signal that ended it (e.g. SIGTERM)"`
	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at,omitzero"`
	DurationMs  int64     `json:"duration_ms"`
	StdoutBytes int64     `json:"stdout_bytes" jsonschema_description:"bytes written to stdout so far"`
	StderrBytes int64     `json:"stderr_bytes" jsonschema_description:"bytes written to stderr so far"`
	Error       string    `json:"error,omitempty"`
	TTY         string    `json:"tty,omitempty" jsonschema_description:"the process's terminal (/dev/pts/N inside the sandbox) when started with tty: true; stdout then holds stdout and stderr as one stream"`
	// ListeningPorts are the TCP ports the process or its descendants
	// listen on (running processes; read from the sandbox's /proc/net/tcp{,6}).
	ListeningPorts []isolation.ListeningPort `json:"listening_ports,omitempty" jsonschema_description:"TCP ports the process or its descendants listen on (running processes only); expose_port brings one to the host"`
}

func (p *proc) info() Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.infoLocked()
}

func (p *proc) infoLocked() Info {
	in := Info{
		ID: p.id, Session: p.session, Command: p.command, Pid: p.pid, Status: p.status,
		StartedAt: p.started, EndedAt: p.ended, StdoutBytes: p.out.Total(), StderrBytes: p.err.Total(),
		Error: p.errMsg,
	}
	if p.term != nil {
		in.TTY = p.term.name
	}
	end := p.ended
	if p.status == StatusRunning {
		end = time.Now()
	} else if p.status != StatusError {
		if p.exit.Signal != 0 {
			in.Signal = unix.SignalName(syscall.Signal(p.exit.Signal))
			if in.Signal == "" {
				in.Signal = strconv.Itoa(p.exit.Signal)
			}
		} else {
			c := p.exit.Code
			in.ExitCode = &c
		}
	}
	in.DurationMs = end.Sub(p.started).Milliseconds()
	return in
}

// StartRequest are start_process's arguments.
type StartRequest struct {
	Command string
	Session string
	Cwd     string
	Env     map[string]*string // nil value: unset
	ID      string
	// TTY runs it on a terminal of Cols×Rows (0: DefaultCols, DefaultRows).
	TTY        bool
	Cols, Rows int
}

// Start runs req.Command in the background and returns at once.
func (m *Manager) Start(ctx context.Context, req StartRequest) (Info, error) {
	if strings.TrimSpace(req.Command) == "" {
		return Info{}, errors.New("command is required")
	}
	if strings.IndexByte(req.Command, 0) >= 0 {
		return Info{}, errors.New("command contains a NUL byte")
	}
	if req.ID != "" && !session.ValidID(req.ID) {
		return Info{}, fmt.Errorf("id %q: %w", req.ID, ErrInvalidID)
	}
	if req.Session == "" {
		req.Session = session.DefaultID
	}
	if req.TTY {
		req.Cols = cmp.Or(req.Cols, DefaultCols)
		req.Rows = cmp.Or(req.Rows, DefaultRows)
		if err := checkSize(req.Cols, req.Rows); err != nil {
			return Info{}, err
		}
	} else if req.Cols != 0 || req.Rows != 0 {
		return Info{}, errors.New("cols and rows need tty: true")
	}
	if _, err := overlayEnv(nil, req.Env); err != nil { // validate before touching the session
		return Info{}, err
	}
	if m.sandbox() == nil {
		return Info{}, session.ErrNoSandbox
	}
	var cwd string
	var env []string
	var err error
	if m.sessions != nil {
		cwd, env, err = m.sessions.State(ctx, req.Session)
		if err != nil {
			return Info{}, err
		}
	} else {
		cwd, env = m.sandbox().Workdir(), m.sandbox().BaseEnv()
	}
	if env, err = overlayEnv(env, req.Env); err != nil {
		return Info{}, err
	}
	if req.Cwd != "" {
		if filepath.IsAbs(req.Cwd) {
			cwd = filepath.Clean(req.Cwd)
		} else {
			cwd = filepath.Join(cwd, req.Cwd)
		}
	}

	// Reserve the id and tag.
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return Info{}, ErrClosed
	}
	m.seq++
	tag := sessionTag(req.Session) + "/" + strconv.Itoa(m.seq)
	id := req.ID
	taken := func(id string) bool { _, ok := m.procs[id]; return ok || m.reserved[id] }
	if id == "" {
		for n := m.seq; ; n++ {
			if !taken("p" + strconv.Itoa(n)) {
				id = "p" + strconv.Itoa(n)
				break
			}
		}
	} else if taken(id) {
		m.mu.Unlock()
		return Info{}, fmt.Errorf("id %q is already in use (list_processes shows the ids; omit id to get a fresh one): %w", id, ErrExists)
	}
	if n := m.runningLocked() + len(m.reserved); m.opts.MaxRunning > 0 && n >= m.opts.MaxRunning {
		m.mu.Unlock()
		return Info{}, fmt.Errorf("%w: %d are running, the limit (--max-processes) is %d: kill_process the ones you no longer need", ErrTooMany, n, m.opts.MaxRunning)
	}
	p := &proc{
		id: id, session: req.Session, command: req.Command, tag: tag,
		done: make(chan struct{}), out: newLogBuf(m.logCap), err: newLogBuf(m.logCap),
		notify: make(chan struct{}), status: StatusRunning,
	}
	m.reserved[id] = true
	m.wg.Add(3) // the process's goroutines; under mu so Close's Wait sees it
	m.mu.Unlock()

	if req.TTY {
		err = m.spawnTTY(p, env, cwd, req.Cols, req.Rows)
	} else {
		err = m.spawn(p, env, cwd)
	}
	m.mu.Lock()
	delete(m.reserved, id)
	if err == nil {
		m.procs[id] = p
		m.order = append(m.order, p)
	}
	closed := m.closed
	m.mu.Unlock()
	if err != nil {
		m.wg.Add(-3)
		return Info{}, fmt.Errorf("start process: %w", err)
	}
	if closed { // Close ran while this one was starting
		m.killMany(ctx, []*proc{p}, syscall.SIGKILL, 0)
		return Info{}, ErrClosed
	}
	return p.info(), nil
}

// spawn starts p's process and its goroutines.
func (m *Manager) spawn(p *proc, env []string, cwd string) (err error) {
	var files [6]*os.File // child stdin, stdout, stderr; our ends
	defer func() {
		for i, f := range files {
			if f != nil && (i < 3 || err != nil) {
				f.Close()
			}
		}
	}()
	if files[0], files[3], err = os.Pipe(); err != nil {
		return err
	}
	if files[4], files[1], err = os.Pipe(); err != nil {
		return err
	}
	if files[5], files[2], err = os.Pipe(); err != nil {
		return err
	}
	// os.Pipe ends are non-blocking (for Go's poller) and the flag belongs
	// to the open file, which the child would share: Fd puts the child's
	// ends back in blocking mode, as os/exec does, or a child writing
	// faster than we read gets EAGAIN.
	for _, f := range files[:3] {
		f.Fd()
	}
	args, script, err := commandArgs(p.command)
	if err != nil {
		return err
	}
	childFiles := files[:3]
	if script != nil {
		defer script.Close()
		childFiles = append(childFiles[:3:3], script)
	}
	p.started = time.Now().UTC()
	sp, err := m.sandbox().Spawn(context.Background(), isolation.Spec{
		Path:  "/bin/bash",
		Args:  args,
		Env:   env,
		Dir:   cwd,
		Files: childFiles,
		Tag:   p.tag,
		// Without job cgroups, what the command double-forks stays
		// below its root while the root lives (kill.go).
		Subreaper: true,
	})
	if err != nil {
		return err
	}
	p.sp, p.pid, p.stdin = sp, sp.Pid, files[3]
	var readers sync.WaitGroup
	readers.Add(2)
	go m.read(p, files[4], p.out, &readers)
	go m.read(p, files[5], p.err, &readers)
	go m.wait(p, []*os.File{files[4], files[5]}, &readers)
	return nil
}

// read copies one output pipe into its log until EOF or the drain deadline.
func (m *Manager) read(p *proc, f *os.File, lb *logBuf, readers *sync.WaitGroup) {
	defer m.wg.Done()
	defer readers.Done()
	buf := make([]byte, readChunk)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			p.mu.Lock()
			lb.Write(buf[:n])
			p.changed()
			p.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// wait records p's end once it is reaped and its output drained.
func (m *Manager) wait(p *proc, outs []*os.File, readers *sync.WaitGroup) {
	defer m.wg.Done()
	<-p.sp.Done()
	st := p.sp.Exit()
	// Output written just before exit is still in the pipes: read to EOF,
	// but not forever when a daemonized descendant keeps a pipe open.
	for _, f := range outs {
		f.SetReadDeadline(time.Now().Add(drainTimeout))
	}
	readers.Wait()
	if p.term != nil {
		p.term.finish()
	}
	for _, f := range outs {
		f.Close()
	}
	p.stdinMu.Lock()
	if p.stdin != nil {
		p.stdin.Close()
		p.stdin = nil
	}
	p.stdinMu.Unlock()

	p.mu.Lock()
	p.exit, p.ended = st, time.Now().UTC()
	switch {
	case p.killed || st.Signal != 0:
		p.status = StatusKilled
	case st.Code == 0:
		p.status = StatusCompleted
	default:
		p.status = StatusFailed
	}
	size := int64(p.out.retained() + p.err.retained())
	p.changed()
	p.mu.Unlock()
	close(p.done)

	m.mu.Lock()
	m.finished = append(m.finished, p)
	m.finBytes += size
	m.evictLocked()
	m.mu.Unlock()
	m.opts.Log.Debug().Str("id", p.id).Int("pid", p.pid).Str("status", p.status).Msg("process ended")
}

// evictLocked drops the oldest finished records beyond the limits, always
// keeping the newest one.
func (m *Manager) evictLocked() {
	for len(m.finished) > 1 && (len(m.finished) > maxFinished || m.finBytes > m.budget) {
		old := m.finished[0]
		m.finished = m.finished[1:]
		old.mu.Lock()
		m.finBytes -= int64(old.out.retained() + old.err.retained())
		old.mu.Unlock()
		if m.procs[old.id] == old {
			delete(m.procs, old.id)
		}
		if i := indexOf(m.order, old); i >= 0 {
			m.order = append(m.order[:i], m.order[i+1:]...)
		}
	}
}

func indexOf(ps []*proc, p *proc) int {
	for i, q := range ps {
		if q == p {
			return i
		}
	}
	return -1
}

// tagRoot is the tag every background process's tag descends from:
// P/<session>/<n> (tags are hierarchical, so one Kill with P/<session>
// reaches every process a session ever started, including setsid/nohup
// descendants of processes whose root already exited).
const tagRoot = "P"

func sessionTag(session string) string { return tagRoot + "/" + session }

// overlayEnv applies per-call variables (nil value = unset) to env and
// drops TagEnv (the process gets its own tag).
func overlayEnv(env []string, over map[string]*string) ([]string, error) {
	keys := make([]string, 0, len(over))
	for k := range over {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("env: invalid variable name %q", k)
		}
		if v := over[k]; v != nil && strings.IndexByte(*v, 0) >= 0 {
			return nil, fmt.Errorf("env: value of %s contains a NUL byte", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(env)+len(keys))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := over[k]; ok || k == isolation.TagEnv {
			continue
		}
		out = append(out, kv)
	}
	for _, k := range keys {
		if v := over[k]; v != nil {
			out = append(out, k+"="+*v)
		}
	}
	return out, nil
}

// get returns the process with id or an error that says what to do.
func (m *Manager) get(id string) (*proc, error) {
	if id == "" {
		return nil, errors.New("id is required")
	}
	m.mu.Lock()
	p, ok := m.procs[id]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("process %q not found (list_processes shows the known ids): %w", id, ErrNotFound)
	}
	return p, nil
}

// Get returns the record of one process.
func (m *Manager) Get(id string) (Info, error) {
	p, err := m.get(id)
	if err != nil {
		return Info{}, err
	}
	return p.info(), nil
}

// List returns the records matching session and status ("" = any), in start order.
func (m *Manager) List(session, status string) ([]Info, error) {
	switch status {
	case "", StatusRunning, StatusCompleted, StatusFailed, StatusKilled, StatusError:
	default:
		return nil, fmt.Errorf("status %q: use running, completed, failed, killed or error", status)
	}
	m.mu.Lock()
	ps := append([]*proc(nil), m.order...)
	m.mu.Unlock()
	out := []Info{}
	for _, p := range ps {
		if session != "" && p.session != session {
			continue
		}
		in := p.info()
		if status != "" && in.Status != status {
			continue
		}
		out = append(out, in)
	}
	return out, nil
}

// runningLocked counts the running processes (m.mu held).
func (m *Manager) runningLocked() int {
	n := 0
	for _, p := range m.order {
		if !isClosed(p.done) {
			n++
		}
	}
	return n
}

// running returns the running processes of session ("" = all).
func (m *Manager) running(session string) []*proc {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []*proc
	for _, p := range m.order {
		if session != "" && p.session != session {
			continue
		}
		select {
		case <-p.done:
		default:
			ps = append(ps, p)
		}
	}
	return ps
}

// CountSession is the number of processes started by session that are still running.
func (m *Manager) CountSession(session string) int { return len(m.running(session)) }

// Close kills every process at once and waits (briefly, shutdown has a
// 2 s budget in all) for their goroutines to finish.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// One sweep reaches every tagged process; roots that dropped the tag
	// from their environment (env -i) are killed by pid while still ours.
	m.sweep(ctx, tagRoot)
	for _, p := range m.running("") {
		p.mu.Lock()
		p.killed = true
		p.mu.Unlock()
		if !isClosed(p.sp.Done()) {
			m.sandbox().Kill(ctx, isolation.Selector{Root: p.pid, IncludeRoot: true}, syscall.SIGKILL)
		}
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		m.opts.Log.Warn().Msg("background processes did not all end on close")
	}
}
