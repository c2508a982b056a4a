package isolation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// helloTimeout bounds how long Start waits for init to come up.
const helloTimeout = 15 * time.Second

// Sandbox is one running sandbox (one init process).
type Sandbox struct {
	cfg     Config
	log     zerolog.Logger
	info    Info
	env     []string
	workdir string
	runDir  string
	private bool   // init has the private directory
	netMode string // the network mode reached (allow may degrade to host)

	cmd      *exec.Cmd
	c        *conn
	lifeline *os.File // write end; closing it (or our death) makes init exit
	initDone chan struct{}
	cg       *cgroupSet
	helloCh  chan *message

	nextID atomic.Uint64
	mu     sync.Mutex
	calls  map[uint64]*call
	procs  map[int]*Process
	dead   error // set once init is gone or Close ran
	closed bool
	lost   error         // why init died on its own (nil: alive, or closed by Close)
	gone   chan struct{} // closed with dead (lost_linux.go)

	rootBuild time.Duration // how long init took to build the root (benchmarks)
	stderr    *lineLogger   // init's stderr, for the cause of its death

	closeOnce sync.Once
}

type call struct {
	ch chan callResult
	// onReply runs on the reader goroutine before the next message is read
	// (Spawn registers its Process there, before any exit event).
	onReply func(*message) any
}

type callResult struct {
	m     *message
	files []*os.File
	v     any
}

var (
	sandboxSeq atomic.Int64
	dumpableMu sync.Mutex
)

// Start creates the sandbox at the best level allowed by cfg and the host.
func Start(ctx context.Context, cfg Config) (*Sandbox, error) {
	switch cfg.Isolation {
	case "":
		cfg.Isolation = "auto"
	case "auto", "strict", "off":
	default:
		return nil, fmt.Errorf("isolation %q: want auto, strict or off", cfg.Isolation)
	}
	switch cfg.Network {
	case "":
		cfg.Network = NetworkAllow
	case NetworkHost, NetworkNone, NetworkAllow:
	default:
		return nil, fmt.Errorf("network %q: want allow, none or host", cfg.Network)
	}
	// The server itself: no ptrace/core dumps of it by same-uid processes,
	// and the OOM killer prefers the sandbox (lowering needs privilege).
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("-500"), 0)

	workdir := cfg.Workdir
	if workdir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("workdir: %w", err)
		}
		workdir = wd
	}
	workdir, err := filepath.Abs(workdir)
	if err != nil {
		return nil, fmt.Errorf("workdir: %w", err)
	}
	if err := os.MkdirAll(workdir, 0o755); err != nil {
		return nil, fmt.Errorf("create workdir: %w", err)
	}

	ladder := []Level{LevelFull, LevelUserNS, LevelNone}
	switch cfg.Isolation {
	case "strict":
		ladder = []Level{LevelFull}
	case "off":
		ladder = []Level{LevelNone}
	}
	serr := &StartError{Strict: cfg.Isolation == "strict"}
	var tried []string
	for _, lvl := range ladder {
		s, err := startLevel(ctx, cfg, workdir, lvl)
		if err != nil {
			serr.Tried = append(serr.Tried, &LevelError{Level: lvl, Err: err})
			tried = append(tried, fmt.Sprintf("%s: %v", lvl, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if cfg.Isolation == "strict" {
			if missing := s.missing(); len(missing) > 0 {
				s.Close()
				return nil, fmt.Errorf("isolation strict: full isolation not reached; missing %s", strings.Join(missing, "; "))
			}
		}
		s.info.Reasons = append(tried, s.info.Reasons...)
		s.logStart()
		return s, nil
	}
	return nil, serr
}

// missing lists the layers strict mode requires but did not get.
func (s *Sandbox) missing() []string {
	var out []string
	need := []string{"pid_ns", "mount_ns", "ipc_ns", "uts_ns", "cgroup_ns", "cgroup_confined", "job_cgroups", "fresh_proc", "caps_dropped", "seccomp", "no_new_privs",
		"proc_masked", "sys_readonly", "dev_minimal"}
	if s.cfg.Network != NetworkHost {
		need = append(need, "net_ns")
	}
	if s.cfg.Pids > 0 || s.cfg.MemoryBytes > 0 || s.cfg.CPUs > 0 {
		need = append(need, "cgroup_limits")
	}
	if s.info.Level != LevelFull {
		out = append(out, "level full (got "+string(s.info.Level)+")")
	}
	if s.info.Filesystem.Root == "host" {
		out = append(out, "a root of its own (--root host)")
	}
	for _, l := range need {
		if !s.info.Layers[l] {
			out = append(out, l+reasonFor(s.info.Reasons, l))
		}
	}
	return out
}

func reasonFor(reasons []string, layer string) string {
	for _, r := range reasons {
		if strings.HasPrefix(r, layer+":") {
			return " (" + strings.TrimPrefix(r, layer+": ") + ")"
		}
	}
	return ""
}

func (s *Sandbox) logStart() {
	ev := s.log.Info()
	if len(s.info.Reasons) > 0 {
		ev = s.log.Warn()
	}
	var on, off []string
	for _, k := range layerNames {
		if s.info.Layers[k] {
			on = append(on, k)
		} else {
			off = append(off, k)
		}
	}
	ev.Str("isolation", string(s.info.Level)).Strs("layers", on).Strs("missing", off).
		Strs("reasons", s.info.Reasons).Msg("sandbox isolation")
}

var layerNames = []string{"pid_ns", "mount_ns", "ipc_ns", "uts_ns", "net_ns", "user_ns", "cgroup_ns",
	"cgroup_confined", "job_cgroups", "fresh_proc", "caps_dropped", "seccomp", "no_new_privs", "cgroup_limits",
	"proc_masked", "sys_readonly", "dev_minimal"}

// forker starts every init from one goroutine locked to its thread for the
// life of the process: Pdeathsig fires when the forking thread exits, and
// this thread never does (an unlocked goroutine's thread could be taken
// over and terminated by some other goroutine that locks it and returns).
var forker = sync.OnceValue(func() chan func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread()
		for fn := range ch {
			fn()
		}
	}()
	return ch
})

// startLevel starts one init at lvl: plan (cgroups, root), clone, hello,
// then the report of what holds.
func startLevel(ctx context.Context, cfg Config, workdir string, lvl Level) (_ *Sandbox, err error) {
	s := newSandbox(cfg, workdir, lvl)
	icfg := initConfig{Level: lvl, Workdir: workdir, NetNS: lvl != LevelNone && cfg.Network != NetworkHost}
	initEnd, lr, err := s.channels()
	if err != nil {
		return nil, err
	}
	defer initEnd.Close()
	defer lr.Close()
	stderr := &lineLogger{log: s.log}
	s.stderr = stderr
	// Init first: its Go runtime takes milliseconds to come up and then
	// waits for the config, so planning the root and creating the cgroups
	// here costs the start nothing. Init runs nothing of the sandbox's
	// before the config, and hello puts it into its cgroups before that.
	if err := s.clone(lvl, icfg.NetNS, stderr, initEnd, lr); err != nil {
		return nil, err
	}
	fail := func(err error) (*Sandbox, error) {
		_ = s.cmd.Process.Kill()
		<-s.initDone
		s.c.close()
		s.lifeline.Close()
		if tail := stderr.tail(); tail != "" {
			err = fmt.Errorf("%w (init said: %s)", err, tail)
		}
		return nil, err
	}
	if icfg.FS, err = planRoot(cfg, workdir, lvl); err != nil {
		return fail(err)
	}
	name := fmt.Sprintf("sbx-mcp-%d-%d", os.Getpid(), sandboxSeq.Add(1))
	var reasons []string
	s.cg, reasons = planCgroups(lvl, name, s.info.Limits, &icfg)
	defer func() {
		if err != nil && s.cg != nil {
			s.cg.destroy() // after fail: init is dead
		}
	}()
	cgLimited := s.cg.limited()
	st, err := s.hello(ctx, icfg)
	if err != nil {
		return fail(err)
	}
	if s.cg != nil && len(s.cg.jobsTasks) > 0 && !st.Jobs {
		if err := s.cg.limitParents(); err != nil {
			reasons = append(reasons, fmt.Sprintf("cgroup_limits: %v", err))
			cgLimited = false
		}
	}
	s.report(st, icfg, cgLimited, reasons)
	s.runDir = st.RunDir
	s.private = st.Private
	s.env = baseEnv(homeFor(lvl, workdir), cfg.Env)
	s.info.Reasons = s.startNetwork(ctx, icfg.NetNS, s.info.Reasons)
	return s, nil
}

func newSandbox(cfg Config, workdir string, lvl Level) *Sandbox {
	s := &Sandbox{
		cfg: cfg, log: cfg.Log, workdir: workdir,
		initDone: make(chan struct{}),
		gone:     make(chan struct{}),
		helloCh:  make(chan *message, 1),
		calls:    map[uint64]*call{},
		procs:    map[int]*Process{},
	}
	limits := Limits{Pids: cfg.Pids, MemoryBytes: cfg.MemoryBytes, CPUs: cfg.CPUs}
	s.info = Info{Level: lvl, Layers: map[string]bool{}, Limits: limits, Workdir: workdir, Root: os.Geteuid() == 0}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		s.info.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	return s
}

// channels makes the control socket (s.c; init's end returned) and the
// lifeline (s.lifeline; init's read end returned).
func (s *Sandbox) channels() (initEnd, lifeline *os.File, err error) {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	initEnd = os.NewFile(uintptr(sp[1]), "sbx-init-control")
	s.c, err = newConn(os.NewFile(uintptr(sp[0]), "sbx-control"))
	if err != nil {
		initEnd.Close()
		return nil, nil, err
	}
	lr, lw, err := os.Pipe()
	if err != nil {
		initEnd.Close()
		s.c.close()
		return nil, nil, err
	}
	s.lifeline = lw
	return initEnd, lr, nil
}

// clone starts init with the namespaces of lvl (from the forker thread).
func (s *Sandbox) clone(lvl Level, netNS bool, stderr io.Writer, initEnd, lr *os.File) error {
	sys := &syscall.SysProcAttr{Setsid: true}
	if lvl != LevelNone {
		sys.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC |
			syscall.CLONE_NEWUTS // the cgroup namespace comes later, see enterCgroupNamespace
		if netNS {
			sys.Cloneflags |= syscall.CLONE_NEWNET
		}
		// The kernel kills the whole pid namespace when its PID 1 dies. In
		// the none level init must outlive us long enough to kill its
		// descendants, so it relies on the lifeline alone.
		sys.Pdeathsig = syscall.SIGKILL
	}
	if lvl == LevelUserNS {
		sys.Cloneflags |= syscall.CLONE_NEWUSER
		sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		sys.GidMappingsEnableSetgroups = false
	}
	s.cmd = &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{initArgv0, initArg},
		Env:         []string{},
		Dir:         "/",
		ExtraFiles:  []*os.File{initEnd, lr}, // fd 3, fd 4
		Stderr:      stderr,
		SysProcAttr: sys,
	}
	errc := make(chan error, 1)
	forker() <- func() {
		if lvl == LevelUserNS {
			// An unprivileged parent writes the child's uid_map, which
			// belongs to root while the child (like us) is non-dumpable.
			// Being dumpable for the length of the clone is harmless here:
			// processes of any other user-namespace sandbox cannot ptrace
			// us without CAP_SYS_PTRACE in our namespace.
			dumpableMu.Lock()
			_ = unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
			defer func() {
				_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
				dumpableMu.Unlock()
			}()
		}
		errc <- s.cmd.Start()
	}
	if err := <-errc; err != nil {
		s.c.close()
		s.lifeline.Close()
		return fmt.Errorf("clone: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.initDone)
	}()
	return nil
}

// hello puts init into its cgroups, sends the config and waits for init's
// status. On an error the caller kills init.
func (s *Sandbox) hello(ctx context.Context, icfg initConfig) (initStatus, error) {
	var st initStatus
	if s.cg != nil {
		if err := s.cg.join(s.cmd.Process.Pid); err != nil {
			return st, err
		}
	}
	body, _ := json.Marshal(icfg)
	if err := s.c.send(&message{Kind: kConfig, Body: body}, nil); err != nil {
		return st, fmt.Errorf("send config: %w", err)
	}
	go s.read()
	timer := time.NewTimer(helloTimeout)
	defer timer.Stop()
	select {
	case m := <-s.helloCh:
		if m == nil {
			return st, errors.New("init exited during start-up")
		}
		if err := json.Unmarshal(m.Body, &st); err != nil {
			return st, fmt.Errorf("bad hello: %w", err)
		}
	case <-timer.C:
		return st, errors.New("init did not come up")
	case <-ctx.Done():
		return st, ctx.Err()
	}
	if st.Fatal != "" {
		return st, errors.New(st.Fatal)
	}
	return st, nil
}

// report fills s.info from what init achieved.
func (s *Sandbox) report(st initStatus, icfg initConfig, cgLimited bool, reasons []string) {
	lvl := s.info.Level
	ns := lvl != LevelNone
	L := s.info.Layers
	L["pid_ns"], L["mount_ns"], L["ipc_ns"], L["uts_ns"], L["cgroup_ns"] = ns, ns, ns, ns && st.Hostname, st.CgroupNS
	L["cgroup_confined"] = st.CgroupConfined
	L["job_cgroups"] = st.JobCgroups
	if !st.JobCgroups {
		reasons = append(reasons, "job_cgroups: no cgroup v2 of our own at this level: a job's processes are found by the genealogy init records (job roots are child subreapers, and the orphans a dead root leaves are recorded under its tag), not by a cgroup")
	}
	L["net_ns"] = icfg.NetNS && st.Loopback
	L["user_ns"] = lvl == LevelUserNS
	L["fresh_proc"] = st.FreshProc
	L["caps_dropped"], L["seccomp"], L["no_new_privs"] = st.CapsDrop, st.Seccomp, st.NNP
	L["cgroup_limits"] = cgLimited
	L["proc_masked"], L["sys_readonly"], L["dev_minimal"] = st.FS.ProcMasked, st.FS.SysReadonly, st.FS.DevMinimal
	if !ns {
		reasons = append(reasons, "pid_ns, mount_ns, ipc_ns, uts_ns, cgroup_ns, fresh_proc: no namespaces at this level (process groups, subreaper and rlimits only)",
			"cgroup_confined: no namespaces at this level: the sandbox sees the host's /sys/fs/cgroup",
			"proc_masked, sys_readonly, dev_minimal: no mount namespace at this level: the host's /proc, /sys and /dev",
			"filesystem: root host: no mount namespace at this level; the sandbox writes to the host's files")
	}
	if s.cfg.Network != NetworkHost && !ns {
		reasons = append(reasons, "net_ns: --network "+s.cfg.Network+" needs a network namespace; the sandbox has the host's network, unfiltered")
	}
	reasons = append(reasons, st.Reasons...)
	s.info.Reasons = reasons
	s.info.PTY = ptySource(st.PtsDev)
	s.info.Filesystem = filesystemInfo(icfg.FS, st.FS, ns)
	s.rootBuild = time.Duration(st.FS.BuildMicros) * time.Microsecond
	if lvl == LevelUserNS && os.Geteuid() != 0 && s.info.Filesystem.Root == "overlay" {
		reasons = append(s.info.Reasons, "filesystem: "+userNSForeignFiles)
		s.info.Reasons = reasons
	}
	if s.info.Filesystem.Root == "host" && ns {
		s.info.Reasons = append(s.info.Reasons, "filesystem: root host (--root host): the sandbox writes to the host's files")
	}
}

// userNSForeignFiles says what the overlay cannot do at level userns for
// an unprivileged server.
const userNSForeignFiles = "only the server's own uid is mapped in the user namespace: files the host's root (or any other user) owns, such as /usr, /etc and /var/lib/dpkg, show as nobody's and stay unwritable even in the overlay, so apt-get and dpkg cannot install packages (run the server as root for level full)"

// homeFor picks HOME: /root (private and empty) in the namespace levels and
// for real root, else the server user's home when it exists, else the
// workdir.
func homeFor(lvl Level, workdir string) string {
	if os.Geteuid() == 0 || lvl != LevelNone {
		return "/root"
	}
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		if fi, err := os.Stat(u.HomeDir); err == nil && fi.IsDir() && unix.Access(u.HomeDir, unix.W_OK) == nil {
			return u.HomeDir
		}
	}
	return workdir
}

// read is the single reader of the control socket. It exits when init is
// gone; then every pending call fails and every process counts as killed.
func (s *Sandbox) read() {
	for {
		m, files, err := s.c.recv()
		if err != nil {
			s.shutdown(s.died(err))
			select {
			case s.helloCh <- nil:
			default:
			}
			return
		}
		switch m.Kind {
		case kHello:
			closeAll(files)
			select {
			case s.helloCh <- m:
			default:
			}
		case kReply:
			s.mu.Lock()
			c := s.calls[m.ID]
			delete(s.calls, m.ID)
			s.mu.Unlock()
			if c == nil {
				closeAll(files) // the caller gave up
				continue
			}
			var v any
			if c.onReply != nil && m.Err == nil {
				v = c.onReply(m)
			}
			c.ch <- callResult{m: m, files: files, v: v}
		case kExit:
			closeAll(files)
			var ev exitEvent
			if json.Unmarshal(m.Body, &ev) != nil {
				continue
			}
			s.mu.Lock()
			p := s.procs[ev.Pid]
			delete(s.procs, ev.Pid)
			s.mu.Unlock()
			if p != nil {
				p.exit = ExitStatus{Code: ev.Code, Signal: ev.Signal}
				close(p.done)
			}
		default:
			closeAll(files)
		}
	}
}

// shutdown marks the sandbox dead and releases everyone waiting on it.
func (s *Sandbox) shutdown(cause error) {
	s.mu.Lock()
	if s.dead == nil {
		s.dead = cause
		close(s.gone)
	}
	calls, procs := s.calls, s.procs
	s.calls, s.procs = map[uint64]*call{}, map[int]*Process{}
	s.mu.Unlock()
	for _, c := range calls {
		c.ch <- callResult{m: &message{Kind: kReply, Err: &wireError{Msg: cause.Error()}}}
	}
	for _, p := range procs {
		p.exit = ExitStatus{Code: -1, Signal: int(syscall.SIGKILL)}
		close(p.done)
	}
}

// roundTrip sends a request and waits for its reply. When ctx ends first
// the request is cancelled on init's side (ops) and its late reply dropped.
func (s *Sandbox) roundTrip(ctx context.Context, m *message, files []*os.File, onReply func(*message) any) (callResult, error) {
	if err := ctx.Err(); err != nil {
		return callResult{}, err
	}
	m.ID = s.nextID.Add(1)
	c := &call{ch: make(chan callResult, 1), onReply: onReply}
	s.mu.Lock()
	if s.dead != nil {
		err := s.dead
		s.mu.Unlock()
		return callResult{}, err
	}
	s.calls[m.ID] = c
	s.mu.Unlock()
	if err := s.c.send(m, files); err != nil {
		s.mu.Lock()
		delete(s.calls, m.ID)
		s.mu.Unlock()
		return callResult{}, fmt.Errorf("send %s: %w", m.Kind, err)
	}
	select {
	case r := <-c.ch:
		if r.m.Err != nil {
			closeAll(r.files)
			return callResult{}, r.m.Err.err()
		}
		return r, nil
	case <-ctx.Done():
		s.mu.Lock()
		_, pending := s.calls[m.ID]
		delete(s.calls, m.ID)
		s.mu.Unlock()
		if !pending { // the reply raced us: drop it
			r := <-c.ch
			closeAll(r.files)
		}
		if m.Kind == kOp {
			_ = s.c.send(&message{ID: m.ID, Kind: kCancel}, nil)
		}
		return callResult{}, ctx.Err()
	}
}

// Close kills every process in the sandbox, then init; safe to call twice.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.KillAll(ctx)
		cancel()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.lifeline.Close() // init sees EOF: kills what is left and exits
		select {
		case <-s.initDone:
		case <-time.After(2 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.initDone
		}
		s.c.close()
		s.shutdown(ErrClosed)
		if s.cg != nil {
			s.cg.destroy()
		}
	})
	return nil
}

// Info reports the isolation reached.
func (s *Sandbox) Info() Info {
	info := s.info
	info.Layers = make(map[string]bool, len(s.info.Layers))
	for k, v := range s.info.Layers {
		info.Layers[k] = v
	}
	info.Reasons = append([]string(nil), s.info.Reasons...)
	return info
}

// BaseEnv is the allow-listed environment for new processes: PATH, HOME,
// LANG, the non-interactive variables of DESIGN §3, then Config.Env.
func (s *Sandbox) BaseEnv() []string { return append([]string(nil), s.env...) }

// Workdir is the default working directory (same path inside and outside).
func (s *Sandbox) Workdir() string { return s.workdir }

// RunDir is a private directory inside the sandbox for sbx-mcp's own files
// (fifos, large scripts); created by init with mode 0700. In the namespace
// levels it is a tmpfs visible only inside the sandbox.
func (s *Sandbox) RunDir() string { return s.runDir }

// PrivateDir is the sandbox's private directory as ops and MakeFifo see it
// ("" when init has none): a directory no sandbox program reaches by any
// path in the namespace levels (private_linux.go). Children get it with
// Spec.PrivateFd.
func (s *Sandbox) PrivateDir() string {
	if !s.private {
		return ""
	}
	return privatePath()
}

// Spawn starts a process inside the sandbox in its own session (setsid).
func (s *Sandbox) Spawn(ctx context.Context, spec Spec) (*Process, error) {
	if len(spec.Args) == 0 {
		spec.Args = []string{spec.Path}
	}
	if spec.Path == "" {
		return nil, errors.New("spawn: empty path")
	}
	env := spec.Env
	if spec.Tag != "" {
		env = setEnv(append([]string(nil), env...), TagEnv+"="+spec.Tag)
	}
	req := spawnReq{Path: spec.Path, Args: spec.Args, Env: env, Dir: spec.Dir, Ctty: spec.TTY, Tag: spec.Tag, NonDumpable: spec.NonDumpable, PrivateFd: spec.PrivateFd, Subreaper: spec.Subreaper}
	n := max(len(spec.Files), 3)
	req.Files = make([]int, n)
	var files []*os.File
	for i := range n {
		req.Files[i] = -1
		if i < len(spec.Files) && spec.Files[i] != nil {
			req.Files[i] = len(files)
			files = append(files, spec.Files[i])
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	r, err := s.roundTrip(context.WithoutCancel(ctx), &message{Kind: kSpawn, Body: body}, files, func(m *message) any {
		var resp spawnResp
		if json.Unmarshal(m.Body, &resp) != nil {
			return nil
		}
		p := &Process{Pid: resp.Pid, done: make(chan struct{})}
		s.mu.Lock()
		s.procs[resp.Pid] = p
		s.mu.Unlock()
		return p
	})
	runtime.KeepAlive(spec.Files)
	if err != nil {
		return nil, fmt.Errorf("spawn %s: %w", spec.Path, err)
	}
	p, _ := r.v.(*Process)
	if p == nil {
		return nil, fmt.Errorf("spawn %s: bad reply", spec.Path)
	}
	return p, nil
}

// Signal sends sig to one sandbox process (pid as seen inside).
func (s *Sandbox) Signal(pid int, sig syscall.Signal) error {
	body, _ := json.Marshal(signalReq{Pid: pid, Sig: int(sig)})
	_, err := s.roundTrip(context.Background(), &message{Kind: kSignal, Body: body}, nil, nil)
	return err
}

// Kill sends sig to every process sel matches and returns how many it signalled.
func (s *Sandbox) Kill(ctx context.Context, sel Selector, sig syscall.Signal) (int, error) {
	if sel.Tag == "" && sel.Root <= 0 {
		return 0, errors.New("kill: empty selector")
	}
	req := killReq{Tag: sel.Tag, Root: sel.Root, IncludeRoot: sel.IncludeRoot, Sig: int(sig)}
	if !sel.Since.IsZero() {
		req.SinceNano = sel.Since.UnixNano()
	}
	body, _ := json.Marshal(req)
	r, err := s.roundTrip(ctx, &message{Kind: kKill, Body: body}, nil, nil)
	if err != nil {
		return 0, err
	}
	var resp killResp
	_ = json.Unmarshal(r.m.Body, &resp)
	return resp.N, nil
}

// KillAll SIGKILLs every process in the sandbox except init.
func (s *Sandbox) KillAll(ctx context.Context) error {
	body, _ := json.Marshal(killReq{All: true, Sig: int(syscall.SIGKILL)})
	_, err := s.roundTrip(ctx, &message{Kind: kKillAll, Body: body}, nil, nil)
	return err
}

// MakeFifo creates a FIFO at path inside the sandbox (mode 0600, replacing
// nothing: path must not exist) and returns its read end, opened
// O_RDONLY|O_NONBLOCK|O_CLOEXEC, for the server to read.
func (s *Sandbox) MakeFifo(ctx context.Context, path string) (*os.File, error) {
	body, _ := json.Marshal(mkfifoReq{Path: path})
	r, err := s.roundTrip(ctx, &message{Kind: kOp, Op: opMkfifo, Body: body}, nil, nil)
	if err != nil {
		return nil, err
	}
	if len(r.files) != 1 {
		closeAll(r.files)
		return nil, fmt.Errorf("mkfifo %s: no fd in reply", path)
	}
	return r.files[0], nil
}

// Do runs the registered op inside the sandbox: req is JSON-encoded, the
// op's result is JSON-decoded into resp (may be nil), files are passed to the
// op as open fds (e.g. a pipe to stream bulk data through; init closes its
// copies when the op returns). An op's *OpError comes back as *OpError.
func (s *Sandbox) Do(ctx context.Context, op string, req, resp any, files ...*os.File) error {
	got, err := s.DoFiles(ctx, op, req, resp, files...)
	closeAll(got)
	return err
}

// DoFiles is Do for an op that may hand open files back (FileResult); the
// caller owns them.
func (s *Sandbox) DoFiles(ctx context.Context, op string, req, resp any, files ...*os.File) ([]*os.File, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("op %s: encode request: %w", op, err)
	}
	r, err := s.roundTrip(ctx, &message{Kind: kOp, Op: op, Body: body}, files, nil)
	runtime.KeepAlive(files)
	if err != nil {
		return nil, err
	}
	if resp != nil && len(r.m.Body) > 0 {
		if err := json.Unmarshal(r.m.Body, resp); err != nil {
			closeAll(r.files)
			return nil, fmt.Errorf("op %s: decode result: %w", op, err)
		}
	}
	return r.files, nil
}

// lineLogger forwards init's stderr (start-up failures, Go panics) to the
// server's log and keeps the last lines for error messages.
type lineLogger struct {
	log  zerolog.Logger
	mu   sync.Mutex
	buf  []byte
	last []string
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			if len(l.buf) > 64<<10 {
				l.buf = l.buf[:0]
			}
			return len(p), nil
		}
		line := string(l.buf[:i])
		l.buf = l.buf[i+1:]
		l.log.Warn().Str("init", line).Msg("sandbox init")
		l.last = append(l.last, line)
		if len(l.last) > 5 {
			l.last = l.last[1:]
		}
	}
}

func (l *lineLogger) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.last, " | ")
}

var _ io.Writer = (*lineLogger)(nil)
