// Package session runs persistent bash sessions inside the sandbox: framing
// of commands, bounded output capture, timeouts and streaming.
//
// A session is one bash with its own cwd, environment and shell state.
// "default" exists implicitly; others are made with Create. Commands on one
// session run one at a time in arrival order; sessions run in parallel. When
// bash ends (exit, set -e, a runaway killed) the session stays and the next
// command gets a fresh shell.
//
// Trust boundary: code the session's bash evaluates itself (the command
// text, files it sources, its subshells) is the shell, and can make it
// report anything about itself, as it could redefine any command. What the
// package guarantees is that no other process (programs a command runs,
// background processes, other sessions, code contexts) can forge or alter
// a session's status, exit code or cwd: bash is non-dumpable (no ptrace,
// /proc/PID/mem or /proc/PID/fd from outside it, see
// isolation.Spec.NonDumpable), its status goes over a socket no command
// holds (status_linux.go), and a record completes only the call in flight.
// Output is weaker: see "Known gaps" in the README and shell_linux.go.
package session

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// DefaultID is the implicit session.
const DefaultID = "default"

// Options configure a Manager.
type Options struct {
	Timeout   time.Duration // default command timeout
	MaxOutput int           // default bytes kept per stream
	Max       int           // most sessions at once, default included (0: no limit)
	Log       zerolog.Logger
}

// Manager owns every session of one sandbox.
type Manager struct {
	sbox atomic.Pointer[isolation.Sandbox] // the current one (SetSandbox replaces it)
	opts Options

	mu       sync.Mutex
	sessions map[string]*Session
	nextTag  int
	nextID   int
	closed   bool
}

// Session is one named execution context.
type Session struct {
	id      string
	tag     string
	created time.Time
	env     []string
	dir     string
	timeout time.Duration

	lock    chan struct{} // FIFO lock: senders queue in order
	busy    atomic.Int32
	deleted atomic.Bool

	mu  sync.Mutex // guards sh and the cached state
	sh  *shell
	cwd string
	// envCache is the exported environment as of the last command (nil: stale).
	envCache []string
	// lost is why the shell's sandbox died, until a result has said so.
	lost error
}

// Info describes a session (list_sessions).
type Info struct {
	ID        string    `json:"id"`
	Cwd       string    `json:"cwd"`
	CreatedAt time.Time `json:"created_at"`
	Busy      bool      `json:"busy"`
	Processes int       `json:"processes"` // filled in by list_sessions (package process counts them)
}

// Errors.
var (
	ErrNoSandbox = errors.New("the sandbox is not running")
	ErrExists    = errors.New("session already exists")
	ErrNotFound  = errors.New("session not found")
	ErrInvalidID = errors.New("invalid session id: use 1-63 characters of A-Z a-z 0-9 _ -")
	ErrTooMany   = errors.New("too many sessions")
)

// ValidID reports whether id is a valid session (or process) id: 1-63
// characters of A-Z a-z 0-9 _ -. A loop, not a package-level regexp: every
// start of this binary (the server and both stages of the sandbox's init)
// would compile that regexp, whose {1,63} alone took ~0.5 ms.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 63 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validEnvKey reports whether k is a shell variable name ([A-Za-z_][A-Za-z0-9_]*).
func validEnvKey(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// NewManager returns a Manager; sessions start lazily.
func NewManager(sb *isolation.Sandbox, opts Options) *Manager {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MaxOutput <= 0 {
		opts.MaxOutput = 256 << 10
	}
	m := &Manager{opts: opts, sessions: map[string]*Session{}}
	m.sbox.Store(sb)
	return m
}

// SetSandbox makes sessions use sb from now on (after the previous sandbox
// died): each session's next command starts a fresh shell in it.
func (m *Manager) SetSandbox(sb *isolation.Sandbox) { m.sbox.Store(sb) }

func (m *Manager) sandbox() *isolation.Sandbox { return m.sbox.Load() }

// CreateRequest are create_session's arguments.
type CreateRequest struct {
	ID      string
	Env     map[string]string
	Cwd     string
	Timeout time.Duration
}

// Create makes a session and starts its shell (so a bad cwd fails here).
func (m *Manager) Create(ctx context.Context, req CreateRequest) (Info, error) {
	if m.sandbox() == nil {
		return Info{}, ErrNoSandbox
	}
	m.mu.Lock()
	if req.ID == "" {
		for {
			m.nextID++
			req.ID = "s" + strconv.Itoa(m.nextID)
			if _, ok := m.sessions[req.ID]; !ok {
				break
			}
		}
	}
	if !ValidID(req.ID) {
		m.mu.Unlock()
		return Info{}, fmt.Errorf("%w (got %q)", ErrInvalidID, req.ID)
	}
	if _, ok := m.sessions[req.ID]; ok {
		m.mu.Unlock()
		return Info{}, fmt.Errorf("session %q already exists: pick another id or delete it first: %w", req.ID, ErrExists)
	}
	if err := m.capLocked(); err != nil {
		m.mu.Unlock()
		return Info{}, err
	}
	s := m.newSessionLocked(req.ID, req.Env, req.Cwd, req.Timeout)
	m.mu.Unlock()

	s.lock <- struct{}{}
	defer func() { <-s.lock }()
	if _, err := s.ensure(ctx, m); err != nil {
		m.mu.Lock()
		if m.sessions[req.ID] == s {
			delete(m.sessions, req.ID)
		}
		m.mu.Unlock()
		return Info{}, err
	}
	return m.info(s), nil
}

func (m *Manager) newSessionLocked(id string, env map[string]string, cwd string, timeout time.Duration) *Session {
	m.nextTag++
	if timeout <= 0 {
		timeout = m.opts.Timeout
	}
	base := m.sandbox().BaseEnv()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		base = setEnv(base, k, env[k])
	}
	if cwd == "" {
		cwd = m.sandbox().Workdir()
	}
	s := &Session{
		id: id, tag: "S" + strconv.Itoa(m.nextTag), created: time.Now().UTC(),
		env: base, dir: cwd, timeout: timeout, cwd: cwd,
		lock: make(chan struct{}, 1),
	}
	m.sessions[id] = s
	return s
}

// capLocked refuses a new session past Options.Max.
func (m *Manager) capLocked() error {
	if m.opts.Max > 0 && len(m.sessions) >= m.opts.Max {
		return fmt.Errorf("%w: %d sessions exist, the limit (--max-sessions) is %d: delete_session one you no longer need", ErrTooMany, len(m.sessions), m.opts.Max)
	}
	return nil
}

// get returns the session, creating "default" on first use.
func (m *Manager) get(id string) (*Session, error) {
	if m.sandbox() == nil {
		return nil, ErrNoSandbox
	}
	if id == "" {
		id = DefaultID
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, isolation.ErrClosed
	}
	if s, ok := m.sessions[id]; ok {
		return s, nil
	}
	if id == DefaultID {
		if err := m.capLocked(); err != nil {
			return nil, err
		}
		return m.newSessionLocked(id, nil, "", 0), nil
	}
	return nil, fmt.Errorf("session %q does not exist: call create_session first (or omit session to use %q): %w", id, DefaultID, ErrNotFound)
}

// ensure returns the session's running shell, starting one if needed.
// Called with s.lock held.
func (s *Session) ensure(ctx context.Context, m *Manager) (*shell, error) {
	s.mu.Lock()
	sh := s.sh
	s.mu.Unlock()
	if sh != nil && sh.alive() {
		return sh, nil
	}
	if sh != nil {
		if lost := sh.sb.Lost(); lost != nil {
			s.mu.Lock()
			s.lost = lost
			s.mu.Unlock()
		}
		sh.close()
	}
	s.mu.Lock()
	dir := s.dir
	if s.cwd != "" {
		dir = s.cwd // a restarted shell keeps the last known cwd
	}
	s.mu.Unlock()
	sh, err := startShell(ctx, m.sandbox(), m.opts.Log, s.tag, s.env, dir)
	if err != nil && dir != s.dir {
		sh, err = startShell(ctx, m.sandbox(), m.opts.Log, s.tag, s.env, s.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("session %q: %w", s.id, err)
	}
	s.mu.Lock()
	s.sh, s.cwd, s.envCache = sh, sh.cwd, nil
	s.mu.Unlock()
	return sh, nil
}

// Request are exec's arguments.
type Request struct {
	Session   string
	Command   string
	Cwd       string
	Env       map[string]*string // nil value: unset
	Timeout   time.Duration      // 0: the session's default
	Stdin     *string
	MaxOutput int // 0: the manager's default
	// Raw carries output that is not valid UTF-8 as base64 even when it is
	// mostly text (default: utf-8-lossy, see outbuf.Encode).
	Raw bool
	// OnChunk, when set, receives output while the command runs (coalesced
	// to ~16 KiB or ~10 ms, split on UTF-8 boundaries). data is valid only
	// until OnChunk returns.
	OnChunk func(stream string, data []byte)
}

// Result is exec's result.
type Result struct {
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutEncoding  string `json:"stdout_encoding" jsonschema:"enum=utf-8,enum=utf-8-lossy,enum=base64"`
	StderrEncoding  string `json:"stderr_encoding" jsonschema:"enum=utf-8,enum=utf-8-lossy,enum=base64"`
	StdoutReplaced  int    `json:"stdout_replaced_bytes,omitempty"` // utf-8-lossy: invalid bytes shown as U+FFFD
	StderrReplaced  int    `json:"stderr_replaced_bytes,omitempty"`
	StdoutTruncated bool   `json:"stdout_truncated"`
	StderrTruncated bool   `json:"stderr_truncated"`
	StdoutBytes     int64  `json:"stdout_bytes"`
	StderrBytes     int64  `json:"stderr_bytes"`
	ExitCode        int    `json:"exit_code"`
	Success         bool   `json:"success"`
	DurationMs      int64  `json:"duration_ms"`
	TimedOut        bool   `json:"timed_out"`
	Truncated       bool   `json:"truncated"`
	SessionEnded    bool   `json:"session_ended"`
	Session         string `json:"session"`
	Cwd             string `json:"cwd"`
	Note            string `json:"note,omitempty"`
	// StateLost says the sandbox's init died during or before this command:
	// the sandbox was replaced and this session's shell state, like every
	// background process and code context, is gone (Note says why).
	StateLost bool `json:"state_lost,omitempty"`
}

// Exec runs a command in a session's shell. A non-zero exit code is data;
// errors are for a command that could not run at all. When ctx is cancelled
// the command's tree is killed and ctx.Err() is returned.
func (m *Manager) Exec(ctx context.Context, req Request) (Result, error) {
	if req.Command == "" {
		return Result{}, errors.New("command is empty")
	}
	if strings.IndexByte(req.Command, 0) >= 0 {
		return Result{}, errors.New("command contains a NUL byte, which bash cannot read")
	}
	if req.Stdin != nil && strings.IndexByte(*req.Stdin, 0) >= 0 {
		return Result{}, errors.New("stdin contains a NUL byte: pass binary input through a file instead")
	}
	prelude, err := prelude(req.Cwd, req.Env)
	if err != nil {
		return Result{}, err
	}
	s, err := m.get(req.Session)
	if err != nil {
		return Result{}, err
	}
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	defer func() { <-s.lock }()
	if s.deleted.Load() {
		return Result{}, fmt.Errorf("session %q: %w", s.id, errDeleted)
	}
	s.busy.Add(1)
	defer s.busy.Add(-1)
	sh, err := s.ensure(ctx, m)
	if err != nil {
		return Result{}, err
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = s.timeout
	}
	limit := req.MaxOutput
	if limit <= 0 {
		limit = m.opts.MaxOutput
	}
	out, err := sh.run(ctx, command{text: req.Command, prelude: prelude, stdin: req.Stdin, limit: limit, timeout: timeout, onChunk: req.OnChunk})
	if err != nil {
		return Result{}, fmt.Errorf("session %q: %w", s.id, err)
	}
	s.mu.Lock()
	s.cwd, s.envCache = sh.cwd, nil
	if out.shellExited {
		s.sh = nil
		if lost := sh.sb.Lost(); lost != nil {
			s.lost = lost
		}
	}
	lost := s.lost
	s.lost = nil
	s.mu.Unlock()
	if out.shellExited {
		sh.close()
	}
	if out.cancelled {
		return Result{}, ctx.Err()
	}
	so, se := out.stdout.Render(), out.stderr.Render()
	if req.Raw {
		so, se = out.stdout.RenderRaw(), out.stderr.RenderRaw()
	}
	r := Result{
		StdoutReplaced: so.Replaced, StderrReplaced: se.Replaced,
		Stdout: so.Content, Stderr: se.Content, StdoutEncoding: so.Encoding, StderrEncoding: se.Encoding,
		StdoutTruncated: so.Truncated, StderrTruncated: se.Truncated, StdoutBytes: so.Total, StderrBytes: se.Total,
		ExitCode: out.code, TimedOut: out.timedOut, SessionEnded: out.shellExited,
		DurationMs: out.duration.Milliseconds(), Session: s.id, Cwd: sh.cwd,
	}
	if r.TimedOut {
		r.ExitCode = 124
		r.Note = fmt.Sprintf("timed out after %s: the command's processes were killed", timeout)
	}
	if out.shellKilled {
		r.Note = "the shell itself did not stop (a builtin loop?) and was restarted: shell state (variables, functions, cwd) was reset"
	} else if out.shellExited {
		r.Note = "the shell exited; the next command in this session starts a fresh shell"
	}
	if lost != nil {
		r.StateLost = true
		r.Note = fmt.Sprintf("%v; sbx-mcp started a fresh sandbox: this session's shell state (variables, functions, cwd), every background process and every code context were lost", lost)
	}
	r.Success = r.ExitCode == 0 && !r.TimedOut
	r.Truncated = r.StdoutTruncated || r.StderrTruncated
	return r, nil
}

// Hold keeps the session busy for a command running outside its shell (an
// exec that yielded to the background): it takes the session's turn, as a
// command would, so later commands on the session wait (in order) until
// release is called. release may be called more than once.
func (m *Manager) Hold(ctx context.Context, id string) (release func(), err error) {
	s, err := m.get(id)
	if err != nil {
		return nil, err
	}
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.busy.Add(1)
	return sync.OnceFunc(func() {
		s.busy.Add(-1)
		<-s.lock
	}), nil
}

// prelude builds the per-call cwd/env text run before the command (in a
// subshell, so it applies to that command only).
func prelude(cwd string, env map[string]*string) (string, error) {
	if cwd == "" && len(env) == 0 {
		return "", nil
	}
	var b strings.Builder
	if cwd != "" {
		fmt.Fprintf(&b, "builtin cd -- %s || builtin exit 1\n", quote(cwd))
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validEnvKey(k) {
			return "", fmt.Errorf("env: %q is not a valid variable name", k)
		}
		if v := env[k]; v == nil {
			fmt.Fprintf(&b, "builtin unset -v %s\n", k)
		} else {
			if strings.IndexByte(*v, 0) >= 0 {
				return "", fmt.Errorf("env %s: value contains a NUL byte", k)
			}
			fmt.Fprintf(&b, "builtin export %s=%s\n", k, quote(*v))
		}
	}
	return b.String(), nil
}

// Exists reports whether session id exists ("default" once used).
func (m *Manager) Exists(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.sessions[id]
	return ok
}

// Cwd returns the session's current working directory ("default" is created
// on first use; any other unknown id is an error that says to create it).
func (m *Manager) Cwd(ctx context.Context, id string) (string, error) {
	s, err := m.get(id)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cwd, nil
}

// State returns the session's cwd and exported environment as of now (for
// start_process and code contexts that inherit a session's state).
func (m *Manager) State(ctx context.Context, id string) (cwd string, env []string, err error) {
	s, err := m.get(id)
	if err != nil {
		return "", nil, err
	}
	s.mu.Lock()
	cwd, env = s.cwd, s.envCache
	started := s.sh != nil
	s.mu.Unlock()
	if env != nil {
		return cwd, env, nil
	}
	if !started {
		return cwd, append([]string(nil), s.env...), nil
	}
	r, err := m.Exec(ctx, Request{Session: s.id, Command: "builtin unset -v " + isolation.TagEnv + "; /usr/bin/env -0", MaxOutput: 4 << 20, Timeout: 10 * time.Second})
	if err != nil {
		return "", nil, err
	}
	if r.ExitCode != 0 || r.StdoutEncoding != "utf-8" || r.StdoutTruncated {
		return r.Cwd, append([]string(nil), s.env...), nil
	}
	for _, kv := range strings.Split(r.Stdout, "\x00") {
		if kv != "" && !strings.HasPrefix(kv, isolation.TagEnv+"=") {
			env = append(env, kv)
		}
	}
	s.mu.Lock()
	s.envCache = env
	s.mu.Unlock()
	return r.Cwd, env, nil
}

// List describes every session, sorted by creation.
func (m *Manager) List() []Info {
	m.mu.Lock()
	ss := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		ss = append(ss, s)
	}
	m.mu.Unlock()
	sort.Slice(ss, func(i, j int) bool { return ss[i].created.Before(ss[j].created) })
	out := make([]Info, 0, len(ss))
	for _, s := range ss {
		out = append(out, m.info(s))
	}
	return out
}

func (m *Manager) info(s *Session) Info {
	s.mu.Lock()
	cwd := s.cwd
	s.mu.Unlock()
	return Info{ID: s.id, Cwd: cwd, CreatedAt: s.created, Busy: s.busy.Load() > 0}
}

// Delete kills the session's shell and everything it started; the id can
// be reused afterwards. The session's background processes are the process
// package's: delete_session (tools) kills them first.
func (m *Manager) Delete(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("id is required")
	}
	m.mu.Lock()
	s, ok := m.sessions[id]
	if ok {
		delete(m.sessions, id)
	}
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("session %q does not exist (list_sessions shows the ones that do): %w", id, ErrNotFound)
	}
	s.shutdown(m)
	return nil
}

// shutdown kills the session's shell and everything tagged with it, then
// releases the shell once no command holds the session (a running command
// returns as soon as bash is gone).
func (s *Session) shutdown(m *Manager) {
	s.deleted.Store(true)
	s.mu.Lock()
	sh := s.sh
	s.mu.Unlock()
	if sh != nil {
		sh.kill()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	m.sandbox().Kill(ctx, isolation.Selector{Tag: s.tag}, syscall.SIGKILL)
	cancel()
	select {
	case s.lock <- struct{}{}:
		s.mu.Lock()
		sh = s.sh
		s.sh = nil
		s.mu.Unlock()
		if sh != nil {
			sh.close()
		}
		<-s.lock
	case <-time.After(3 * time.Second):
	}
}

// Close kills every session's shell and what it started.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	ss := m.sessions
	m.sessions = map[string]*Session{}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Add(1)
		go func() { defer wg.Done(); s.shutdown(m) }()
	}
	wg.Wait()
}

func setEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if strings.HasPrefix(kv, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}
