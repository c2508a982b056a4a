package isolation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// initArg is the hidden subcommand that makes this binary the sandbox init.
// The command line carries nothing else (configuration comes over fd 3).
const (
	initArg    = "__sbx_init"
	stage2Arg  = "2"
	initArgv0  = "sbx-init"
	fdControl  = 3 // control socket (SOCK_SEQPACKET)
	fdLifeline = 4 // read end of the lifeline pipe
	fdHandoff  = 5 // stage 1 → stage 2: config and status (a pipe)
	oomInit    = 500
	procTicks  = 100 // USER_HZ
)

// initConfig is what the server tells init (the "config" message).
type initConfig struct {
	Level     Level    `json:"level"`
	NetNS     bool     `json:"net_ns"`
	Workdir   string   `json:"workdir"`
	JobsTasks []string `json:"jobs_tasks,omitempty"` // v1 cgroup "tasks" files the spawner thread joins
	// CgroupMounts are mounted read-only at /sys/fs/cgroup inside;
	// CgroupJobs is the host path of init's cgroup that job cgroups go
	// below: its v2 cgroup, or (JobsV1) its v1 freezer cgroup.
	CgroupMounts []cgroupMount `json:"cgroup_mounts,omitempty"`
	CgroupJobs   string        `json:"cgroup_jobs,omitempty"`
	JobsV1       bool          `json:"jobs_v1,omitempty"`
	RlimitPids   int           `json:"rlimit_pids,omitempty"`
	RlimitMem    int64         `json:"rlimit_mem,omitempty"`
	ServerDebug  bool          `json:"debug,omitempty"`
	FS           fsConfig      `json:"fs"`
}

// initStatus is what init achieved (the "hello" message).
type initStatus struct {
	Pid        int    `json:"pid"` // init's pid as seen by itself
	Fatal      string `json:"fatal,omitempty"`
	FreshProc  bool   `json:"fresh_proc"`
	Hostname   bool   `json:"hostname"`
	Loopback   bool   `json:"loopback"`
	NNP        bool   `json:"no_new_privs"`
	CapsDrop   bool   `json:"caps_dropped"`
	Seccomp    bool   `json:"seccomp"`
	Jobs       bool   `json:"jobs"`        // the spawner thread joined JobsTasks
	JobsFD     bool   `json:"jobs_fd"`     // fdJobs holds init's v2 cgroup
	JobCgroups bool   `json:"job_cgroups"` // each job gets a cgroup of its own (jobs_linux.go)
	// JobsTaskFDs: fdJobsTasks... hold the first JobsTaskFDs of JobsTasks.
	JobsTaskFDs int  `json:"jobs_task_fds,omitempty"`
	CgroupNS    bool `json:"cgroup_ns"`
	// CgroupConfined: /sys/fs/cgroup shows only the sandbox's cgroups, read-only.
	CgroupConfined bool   `json:"cgroup_confined"`
	RunDir         string `json:"run_dir"`
	RunDirTmp      bool   `json:"run_dir_tmpfs"` // RunDir is a private tmpfs (removed with the namespace)
	// Private: fdPrivate holds the private directory (private_linux.go),
	// detached from every mount tree when PrivateDetached.
	Private         bool     `json:"private,omitempty"`
	PrivateDetached bool     `json:"private_detached,omitempty"`
	Reasons         []string `json:"reasons,omitempty"`
	CapEff          string   `json:"cap_eff,omitempty"`
	PtsDev          uint64   `json:"pts_dev,omitempty"` // ptsDev() inside
	SeccompErr      string   `json:"-"`
	FS              fsStatus `json:"fs"`
}

func (st *initStatus) gap(format string, args ...any) {
	st.Reasons = append(st.Reasons, fmt.Sprintf(format, args...))
}

type handoff struct {
	Config initConfig `json:"config"`
	Status initStatus `json:"status"`
}

// InitMain runs the sandbox init when args say this process is the re-exec'd
// init (a hidden subcommand) and then never returns; otherwise it returns
// false at once. main calls it first thing.
func InitMain(args []string) bool {
	if len(args) < 2 || args[1] != initArg {
		return false
	}
	if len(args) >= 3 && args[2] == stage2Arg {
		stage2()
	} else {
		stage1()
	}
	os.Exit(3) // not reached
	return true
}

func initFatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sbx-init: "+format+"\n", args...)
	os.Exit(2)
}

// stage1 prepares the namespaces and reduces privileges, then becomes the
// long-running init. Every thread of that init must carry the reduced
// credentials, the cgroup namespace and the seccomp filter: a pure-Go
// binary changes every thread in place (threads_linux.go); a cgo binary,
// whose runtime cannot reach every thread, re-executes itself from the
// locked thread (stage 2), so that the new image's threads all descend
// from it.
//
// Preconditions: runs on the main goroutine, locked to its thread until
// the reduction is done (unshare, prctl and seccomp are per-thread, and
// execve must come from the thread that set them).
func stage1() {
	runtime.LockOSThread()
	// Whatever the server's own parent leaked to it (fds without
	// close-on-exec) must not reach stage 2 and its children.
	closeExtraFds(fdLifeline + 1)
	buf := make([]byte, maxMsg)
	n, _, _, _, err := unix.Recvmsg(fdControl, buf, nil, 0)
	if err != nil || n == 0 {
		initFatal("read config: %v", err)
	}
	var m message
	var cfg initConfig
	if err := json.Unmarshal(buf[:n], &m); err != nil || m.Kind != kConfig {
		initFatal("bad config message")
	}
	if err := json.Unmarshal(m.Body, &cfg); err != nil {
		initFatal("bad config: %v", err)
	}
	st := initStatus{}
	if cfg.Level != LevelNone {
		setupNamespaces(&cfg, &st)
		setupResolvConf(&cfg, &st) // forward_linux.go
	} else {
		dir, err := os.MkdirTemp("", "sbx-mcp-run-")
		if err != nil {
			st.Fatal = fmt.Sprintf("create run dir: %v", err)
		}
		st.RunDir = dir
		if err == nil {
			openPrivateDir(dir, false, &st)
		}
	}
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(oomInit)), 0)
	inPlace := canReduceInPlace()
	reducePrivileges(&cfg, &st, inPlace)
	if inPlace {
		// Every thread carries the reduced credentials, the cgroup
		// namespace and the filter already (threads_linux.go): no
		// second image to start. Nothing per-thread is left that the
		// main goroutine must keep to itself.
		runtime.UnlockOSThread()
		runInit(handoff{Config: cfg, Status: st})
	}

	hb, _ := json.Marshal(handoff{Config: cfg, Status: st})
	var p [2]int
	if err := unix.Pipe2(p[:], 0); err != nil {
		initFatal("pipe: %v", err)
	}
	if len(hb) > 60000 { // a pipe holds 64 KiB; we write before exec
		initFatal("handoff too large")
	}
	if _, err := unix.Write(p[1], hb); err != nil {
		initFatal("handoff: %v", err)
	}
	unix.Close(p[1])
	if p[0] != fdHandoff {
		if err := unix.Dup3(p[0], fdHandoff, 0); err != nil {
			initFatal("dup handoff: %v", err)
		}
		unix.Close(p[0])
	}
	err = unix.Exec("/proc/self/exe", []string{initArgv0, initArg, stage2Arg}, []string{})
	initFatal("exec stage 2: %v", err)
}

// closeExtraFds marks every fd >= from close-on-exec.
func closeExtraFds(from int) {
	if err := unix.CloseRange(uint(from), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return
	}
	for fd := from; fd < 4096; fd++ {
		unix.CloseOnExec(fd)
	}
}

// setupNamespaces does the privileged work inside fresh namespaces: private
// propagation first, then the sandbox's own root (fresh /proc, /sys, /dev
// included, see rootfs_linux.go), hostname, loopback and RunDir.
func setupNamespaces(cfg *initConfig, st *initStatus) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		st.Fatal = fmt.Sprintf("make / rprivate: %v", err)
		return
	}
	openCgroupHandles(cfg, st)
	if err := buildRoot(&cfg.FS, &st.FS, st.gap); err != nil {
		// Without its own root (and fresh /proc: pids would be the
		// host's) the sandbox is not worth the level: auto moves on.
		st.Fatal = fmt.Sprintf("build the sandbox's root: %v", err)
		return
	}
	st.FS.Root = cfg.FS.Root
	st.FreshProc = true
	enterCgroupNamespace(cfg, st)
	if err := unix.Sethostname([]byte("sandbox")); err != nil {
		st.gap("uts_ns: sethostname: %v", err)
	} else {
		st.Hostname = true
	}
	if cfg.NetNS {
		if err := loopbackUp(); err != nil {
			st.gap("net_ns: bring lo up: %v", err)
		} else {
			st.Loopback = true
		}
	}
	// RunDir: a private tmpfs, only in our mount namespace.
	const dir = "/run/sbx-mcp"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		st.Fatal = fmt.Sprintf("create run dir: %v", err)
		return
	}
	if err := unix.Mount("sbx-run", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700,size=64m"); err != nil {
		st.Fatal = fmt.Sprintf("mount run dir: %v", err)
		return
	}
	st.RunDir, st.RunDirTmp = dir, true
	openPrivateDir(dir, true, st)
}

// loopbackUp sets IFF_UP on lo with SIOCSIFFLAGS.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// reducePrivileges sets NO_NEW_PRIVS, drops capabilities outside Docker's
// default set from the bounding set, installs the seccomp filter and marks
// the process non-dumpable. With inPlace it does so on every thread and
// also moves them into the locked thread's cgroup namespace and reduces
// their permitted and effective sets to the bounding set (what the execve
// of stage 2 does otherwise). The results are verified in runInit.
//
// Preconditions: called on the locked thread (that will execve stage 2
// unless inPlace).
func reducePrivileges(cfg *initConfig, st *initStatus, inPlace bool) {
	if inPlace && st.CgroupNS {
		if err := joinCgroupNSEverywhere(); err != nil {
			st.gap("cgroup_ns: move init's threads into it: %v", err)
		}
	}
	if err := prctlEverywhere(inPlace, unix.PR_SET_NO_NEW_PRIVS, 1); err != nil {
		st.gap("no_new_privs: %v", err)
	}
	if err := dropCapabilities(!cfg.NetNS, inPlace); err != nil {
		st.gap("caps_dropped: %v", err)
	}
	// Init keeps its pid across the execve; the server is our parent, seen
	// only at level none (getppid is 0 across a pid namespace).
	protected := []uint32{1}
	if pid := os.Getpid(); pid != 1 {
		protected = append(protected, uint32(pid))
	}
	if pid := os.Getppid(); pid > 1 {
		protected = append(protected, uint32(pid))
	}
	if err := installSeccomp(protected, inPlace); err != nil {
		st.SeccompErr = err.Error()
		st.gap("seccomp: %v", err)
	}
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// initd is the long-running init (runInit).
type initd struct {
	cfg     initConfig
	st      initStatus
	c       *conn
	self    int
	devnull *os.File

	// mu serializes fork+register+reply against reaping, so an exit event
	// never precedes the spawn reply and a reused pid is never confused.
	mu   sync.Mutex
	kids map[int]bool // pids spawned on request, not yet reaped
	// jobs, when the sandbox has a cgroup v2 of its own, holds each job's
	// processes; kidTags is the job of each kid (for removing its cgroup).
	jobs    *jobCgroups
	kidTags map[int]string
	// subs: the kids made child subreapers (Spec.Subreaper); adopted: the
	// orphans re-parented to init already seen by adopt (pid → start).
	subs    map[int]bool
	adopted map[int]uint64

	opsMu   sync.Mutex
	cancels map[uint64]context.CancelFunc

	spawnq chan func() // run on the spawner thread (see spawner)
	dying  sync.Once

	sealed sealed // executables for non-dumpable spawns (nondump_linux.go)

	// seen: per tag, what kills with a non-fatal signal selected
	// (anchors); nseen counts all entries.
	anchorMu sync.Mutex
	seen     map[string][]procRef
	nseen    int
}

// stage2 is the re-executed init of a cgo build (see stage1): it takes
// what stage 1 did from the handoff pipe.
func stage2() {
	// Non-dumpable first: execve reset it, and sandbox processes have the
	// same uid and capabilities as init.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	hf := os.NewFile(fdHandoff, "handoff")
	hb, err := io.ReadAll(hf)
	hf.Close()
	var h handoff
	if err != nil || json.Unmarshal(hb, &h) != nil {
		initFatal("read handoff: %v", err)
	}
	runInit(h)
}

// runInit is the long-running init, after stage 1 (in place or through
// stage 2). It never returns.
func runInit(h handoff) {
	// Catch every signal and drop it (SIGCHLD drives the reaper): a Go
	// program would otherwise die of SIGTERM/SIGINT/SIGHUP or a SIGSEGV sent
	// with kill(2). Unlike SIG_IGN, handlers are reset in exec'd children.
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs)

	unix.CloseOnExec(fdControl)
	unix.CloseOnExec(fdLifeline)
	unix.CloseOnExec(fdJobs) // a writable handle on the sandbox's cgroup: init's alone
	unix.CloseOnExec(fdPrivate)
	for i := range h.Status.JobsTaskFDs {
		unix.CloseOnExec(fdJobsTasks + i)
	}
	c, err := newConn(os.NewFile(fdControl, "control"))
	if err != nil {
		initFatal("%v", err)
	}
	d := &initd{
		cfg: h.Config, st: h.Status, c: c, self: os.Getpid(),
		kids: map[int]bool{}, kidTags: map[int]string{}, subs: map[int]bool{}, adopted: map[int]uint64{}, cancels: map[uint64]context.CancelFunc{},
		spawnq: make(chan func()),
	}
	if d.cfg.Level == LevelNone {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			d.st.Fatal = fmt.Sprintf("set child subreaper: %v", err)
		}
	}
	d.devnull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		d.st.Fatal = fmt.Sprintf("open /dev/null: %v", err)
	}
	d.verify()
	d.openJobs()
	// Before any sandbox code runs (nondump_linux.go).
	if _, err := d.sealed.fd(ShellPath); err != nil {
		d.st.gap("shell_nondumpable: %v", err)
	} else if gap := nonDumpableGap(); gap != "" {
		d.st.gap("%s", gap)
	}
	jobsErr := make(chan error, 1)
	go d.spawner(jobsErr)
	if err := <-jobsErr; err != nil {
		d.st.gap("cgroup_limits: spawner thread cannot join the jobs cgroup: %v", err)
	} else {
		d.st.Jobs = len(d.cfg.JobsTasks) > 0
	}
	d.st.Pid = d.self
	if err := d.send(&message{Kind: kHello}, d.st); err != nil || d.st.Fatal != "" {
		os.Exit(1)
	}
	go d.lifeline()
	go d.signals(sigs)
	d.serve() // never returns: exits through die
}

// verify reads back what stage 1 did, from the kernel's point of view, on
// every thread: a sandbox process is forked from whichever thread runs the
// spawner, and an op runs on any.
func (d *initd) verify() {
	d.st.PtsDev = ptsDev()
	threads, err := readThreads()
	if err != nil {
		d.st.gap("read /proc/self/task: %v", err)
		return
	}
	d.st.NNP, d.st.Seccomp = true, true
	var eff, prm uint64
	sameNS := true
	for _, t := range threads {
		d.st.NNP = d.st.NNP && t.nnp
		d.st.Seccomp = d.st.Seccomp && t.seccomp
		eff |= t.capEff
		prm |= t.capPrm
		sameNS = sameNS && t.cgroupNS == threads[0].cgroupNS
	}
	d.st.CapEff = fmt.Sprintf("%016x", eff)
	d.st.CapsDrop = (eff|prm)&^keptCapsMask() == 0
	if d.st.CapsDrop { // e.g. an unprivileged none level: nothing to drop
		kept := d.st.Reasons[:0]
		for _, r := range d.st.Reasons {
			if !strings.HasPrefix(r, "caps_dropped:") {
				kept = append(kept, r)
			}
		}
		d.st.Reasons = kept
	} else {
		d.st.gap("caps_dropped: capabilities %016x (effective) and %016x (permitted) of init's threads exceed Docker's default set", eff, prm)
	}
	if d.st.CgroupNS && !sameNS {
		d.st.CgroupNS, d.st.CgroupConfined = false, false
		d.st.gap("cgroup_confined: init's threads are not all in the sandbox's cgroup namespace")
	}
}

func (d *initd) send(m *message, body any, raw ...int) error {
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		m.Body = b
	}
	return d.c.send(m, nil, raw...)
}

func (d *initd) reply(id uint64, body any, err error, raw ...int) {
	m := &message{ID: id, Kind: kReply, Err: toWireError(err)}
	if err != nil {
		body = nil
	}
	if serr := d.send(m, body, raw...); serr != nil && err == nil {
		// Too large or unencodable: say so instead of leaving the caller waiting.
		_ = d.c.send(&message{ID: id, Kind: kReply, Err: toWireError(serr)}, nil)
	}
}

// serve reads requests until the control socket closes.
func (d *initd) serve() {
	for {
		m, files, err := d.c.recv()
		if err != nil {
			d.die()
		}
		switch m.Kind {
		case kSpawn:
			d.spawnq <- func() { d.spawn(m, files) }
		case kSignal:
			closeAll(files)
			go d.signal(m)
		case kKill, kKillAll:
			closeAll(files)
			go d.kill(m)
		case kOp:
			go d.op(m, files)
		case kCancel:
			closeAll(files)
			d.opsMu.Lock()
			if cancel := d.cancels[m.ID]; cancel != nil {
				cancel()
			}
			d.opsMu.Unlock()
		default:
			closeAll(files)
			d.reply(m.ID, nil, fmt.Errorf("unknown request %q", m.Kind))
		}
	}
}

// lifeline waits for EOF on the lifeline pipe: the server is gone.
func (d *initd) lifeline() {
	f := os.NewFile(fdLifeline, "lifeline")
	var b [16]byte
	for {
		if _, err := f.Read(b[:]); err != nil {
			d.die()
		}
	}
}

// die kills every sandbox process and exits. In a pid namespace the
// kernel would do the killing when PID 1 exits; in the none level only we
// can.
func (d *initd) die() {
	d.dying.Do(func() {
		d.killAll()
		if !d.st.RunDirTmp && d.st.RunDir != "" {
			os.RemoveAll(d.st.RunDir)
		}
		os.Exit(0)
	})
	select {}
}

func (d *initd) signals(sigs chan os.Signal) {
	tick := time.NewTicker(time.Second) // belt and braces for a coalesced SIGCHLD
	defer tick.Stop()
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGCHLD {
				d.reap()
			}
		case <-tick.C:
			d.reap()
		}
	}
}

// reap is the only place that waits for children. The exits are reported
// after adopt has anchored what the reaped roots orphaned, so a kill the
// server sends on seeing an exit already selects those orphans.
func (d *initd) reap() {
	d.mu.Lock()
	defer d.mu.Unlock()
	var evs []exitEvent
	var orphaned []string // tags of subreaper roots reaped now
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			break
		}
		if !d.kids[pid] {
			continue // an orphan re-parented to us
		}
		delete(d.kids, pid)
		if tag, ok := d.kidTags[pid]; ok {
			if d.subs[pid] {
				orphaned = append(orphaned, tag)
			}
			delete(d.kidTags, pid)
			if d.jobs != nil {
				d.jobs.remove(tag) // fails while daemons of the job live on
			}
		}
		delete(d.subs, pid)
		ev := exitEvent{Pid: pid, Code: ws.ExitStatus()}
		if ws.Signaled() {
			ev.Code, ev.Signal = -1, int(ws.Signal())
		}
		evs = append(evs, ev)
	}
	d.adopt(orphaned)
	for _, ev := range evs {
		_ = d.send(&message{Kind: kExit}, ev)
	}
}

// adopt records, for each tag of a subreaper root just reaped, the orphans
// that root left to init. While a job's root lives, what its processes
// orphan is re-parented to it (Spec.Subreaper); when it dies, its children
// go to init, before init can reap it (the kernel re-parents them first).
// So the children of init that init did not spawn and has not seen before
// are the dead root's, and become anchors of its tag (see anchors): a
// later kill of the job (kill_process of a process whose command already
// ended, delete_session) still selects them and their descendants.
// When roots of several jobs die at once, their orphans are anchored to
// each of those tags: a kill of one may take the other's orphans too.
//
// Preconditions: d.mu held.
func (d *initd) adopt(tags []string) {
	if len(tags) == 0 || d.jobs != nil {
		return
	}
	procs := scanProcs()
	fresh := map[int]uint64{}
	for pid, st := range d.adopted {
		if p, ok := procs[pid]; !ok || p.start != st || p.ppid != d.self {
			delete(d.adopted, pid)
		}
	}
	for pid, p := range procs {
		if p.ppid != d.self || p.zombie || d.kids[pid] {
			continue
		}
		if st, ok := d.adopted[pid]; ok && st == p.start {
			continue
		}
		d.adopted[pid] = p.start
		fresh[pid] = p.start
	}
	for _, tag := range tags {
		d.remember(killReq{Tag: tag}, fresh)
	}
}

// spawner owns the thread every child is forked from. In the cgroup v1
// layout that thread alone sits in the limited "jobs" cgroups, so children
// are born there while init's other threads stay outside the limits (a fork
// bomb cannot starve init of threads).
//
// Preconditions: runs on its own goroutine, locked to its thread for good.
func (d *initd) spawner(joined chan<- error) {
	runtime.LockOSThread()
	var err error
	tid := strconv.Itoa(unix.Gettid())
	for i, tasks := range d.cfg.JobsTasks {
		var werr error
		if i < d.st.JobsTaskFDs { // opened in stage 1: the host's mounts are gone
			_, werr = unix.Write(fdJobsTasks+i, []byte(tid))
			unix.Close(fdJobsTasks + i)
		} else {
			werr = os.WriteFile(tasks, []byte(tid), 0)
		}
		if werr != nil {
			err = fmt.Errorf("join %s: %w", tasks, werr)
			break
		}
	}
	joined <- err
	for fn := range d.spawnq {
		fn()
	}
}

func (d *initd) spawn(m *message, files []*os.File) {
	defer closeAll(files)
	var req spawnReq
	if err := json.Unmarshal(m.Body, &req); err != nil {
		d.reply(m.ID, nil, fmt.Errorf("spawn: %w", err))
		return
	}
	path, err := lookPath(req.Path, req.Env)
	if err != nil {
		d.reply(m.ID, nil, err)
		return
	}
	fds := make([]uintptr, len(req.Files))
	for i, idx := range req.Files {
		if idx >= 0 && idx < len(files) {
			fds[i] = files[idx].Fd()
		} else {
			fds[i] = d.devnull.Fd()
		}
	}
	dir := req.Dir
	if dir == "" {
		dir = d.cfg.Workdir
	}
	execPath, argv := path, req.Args
	if req.NonDumpable {
		if len(fds) >= minSealedFd {
			d.reply(m.ID, nil, fmt.Errorf("spawn %s: too many files", req.Path))
			return
		}
		if execPath, argv, err = d.nonDumpableExec(path, req.Args); err != nil {
			d.reply(m.ID, nil, err)
			return
		}
	}
	if req.PrivateFd > 0 {
		if err := d.checkPrivateFd(req.PrivateFd); err != nil {
			d.reply(m.ID, nil, err)
			return
		}
		for len(fds) <= req.PrivateFd {
			fds = append(fds, d.devnull.Fd())
		}
		fds[req.PrivateFd] = fdPrivate
	}
	// Without job cgroups, a job's root adopts what its descendants orphan
	// (subreaper.go); with them the cgroup already holds the job.
	sub := req.Subreaper && subreaperSupported && d.jobs == nil
	hold := d.holdAtExec(sub)
	// With Ctty, fd 0 is a terminal slave (OpenPTY): it becomes the
	// controlling terminal of the child's new session.
	attr := &syscall.ProcAttr{Dir: dir, Env: req.Env, Files: fds, Sys: &syscall.SysProcAttr{Setsid: true, Setctty: req.Ctty, Ctty: 0, Ptrace: hold}}
	d.mu.Lock()
	defer d.mu.Unlock()
	var pid int
	if req.NonDumpable {
		// The memfd is readable only with DAC capabilities: without them
		// in effect, the exec makes the child non-dumpable.
		if cerr := withoutDAC(func() { pid, err = syscall.ForkExec(execPath, argv, attr) }); cerr != nil && pid == 0 {
			err = fmt.Errorf("spawn %s: %w", req.Path, cerr)
		}
	} else {
		pid, err = syscall.ForkExec(path, req.Args, attr)
	}
	if err != nil {
		d.reply(m.ID, nil, err)
		return
	}
	var exited *exitEvent
	if hold {
		if exited, err = d.release(pid, req.Tag, sub); err != nil {
			d.reply(m.ID, nil, fmt.Errorf("spawn %s: %w", req.Path, err))
			return
		}
	}
	d.kids[pid] = true
	if req.Tag != "" {
		d.kidTags[pid] = req.Tag
	}
	if sub {
		d.subs[pid] = true
	}
	d.reply(m.ID, spawnResp{Pid: pid}, nil)
	if exited != nil { // died while held: its status was consumed by release
		delete(d.kids, pid)
		delete(d.kidTags, pid)
		delete(d.subs, pid)
		_ = d.send(&message{Kind: kExit}, exited)
	}
}

// lookPath resolves file against PATH of env (the sandbox's, not ours).
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	path := SandboxPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &remoteError{msg: "executable file not found in $PATH", errno: syscall.ENOENT}
}

func (d *initd) signal(m *message) {
	var req signalReq
	if err := json.Unmarshal(m.Body, &req); err != nil {
		d.reply(m.ID, nil, err)
		return
	}
	if req.Pid <= 0 || req.Pid == d.self || !d.isDescendant(req.Pid) {
		d.reply(m.ID, nil, fmt.Errorf("signal %d: %w", req.Pid, syscall.ESRCH))
		return
	}
	err := syscall.Kill(req.Pid, syscall.Signal(req.Sig))
	if err != nil {
		err = fmt.Errorf("signal %d: %w", req.Pid, err)
	}
	d.reply(m.ID, nil, err)
}

func (d *initd) isDescendant(pid int) bool {
	procs := scanProcs()
	return procs.descendsFrom(pid, d.self)
}

func (d *initd) kill(m *message) {
	var req killReq
	if err := json.Unmarshal(m.Body, &req); err != nil {
		d.reply(m.ID, nil, err)
		return
	}
	if req.All {
		d.killAll()
		d.reply(m.ID, killResp{}, nil)
		return
	}
	n := d.killMatching(req)
	d.reply(m.ID, killResp{N: n}, nil)
}

// killMatching signals every process req selects and returns how many.
//
// Membership, without job cgroups (and on top of them): descent from
// req.Root (started since req.SinceNano, when set), descent from a process
// that an earlier kill of req.Tag selected (anchors, below), or the tag in
// the environment (a hint). Job roots are child subreapers (Spec.Subreaper),
// so what a job double-forks stays below its root while the root lives.
// Nothing selected may fork, or be orphaned away to init by a parent's
// death, while the members are picked: each is stopped first (SIGSTOP; a
// process with a stop pending cannot complete a fork), scanning /proc
// until a scan finds no member that is not stopped; then all are signalled
// at once, and continued when the signal is neither SIGKILL nor SIGSTOP.
func (d *initd) killMatching(req killReq) int {
	signalled := map[int]bool{}
	var sinceTicks uint64
	if req.SinceNano > 0 {
		sinceTicks = nanoToTicks(req.SinceNano)
	}
	// Membership first: a job's cgroup holds whatever its processes did.
	// The scan below only adds to it.
	if d.jobs != nil && req.Tag != "" {
		if pids, ok := d.jobs.kill(req, sinceTicks, d.self); ok {
			for _, pid := range pids {
				signalled[pid] = true
			}
		}
	}
	anchors := d.anchors(req.Tag)
	// The roots init spawned under the tag (or a tag below it), by the tag
	// init recorded at spawn, not by what their environment says now.
	if req.Tag != "" {
		d.mu.Lock()
		for pid, t := range d.kidTags {
			if tagUnder(t, req.Tag) {
				if p, ok := readStat(pid); ok {
					anchors[pid] = p.start
				}
			}
		}
		d.mu.Unlock()
	}
	stopped := map[int]uint64{} // pid → start time
	for round := 0; round < 100; round++ {
		procs := scanProcs()
		var fresh []int
		for pid, p := range procs {
			if pid == d.self || signalled[pid] || p.zombie || !procs.descendsFrom(pid, d.self) {
				continue
			}
			if st, ok := stopped[pid]; ok && st == p.start {
				continue
			}
			if d.matches(procs, pid, req, sinceTicks) || anchors.selects(procs, pid) {
				fresh = append(fresh, pid)
			}
		}
		if len(fresh) == 0 {
			break
		}
		for _, pid := range fresh {
			if syscall.Kill(pid, syscall.SIGSTOP) == nil {
				stopped[pid] = procs[pid].start
			}
		}
	}
	for pid := range stopped {
		if syscall.Kill(pid, syscall.Signal(req.Sig)) == nil {
			signalled[pid] = true
		}
	}
	if sig := syscall.Signal(req.Sig); sig != syscall.SIGKILL && sig != syscall.SIGSTOP {
		for pid := range stopped {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	d.remember(req, stopped)
	return len(signalled)
}

// procRef names one process: a pid and its start time, so that a reused
// pid is not taken for it.
type procRef struct {
	pid   int
	start uint64
}

// procRefs is a set of processes a kill selected: anchors of a later kill.
type procRefs map[int]uint64

// selects reports whether pid is in the set or descends from a member.
func (a procRefs) selects(procs procTable, pid int) bool {
	if len(a) == 0 {
		return false
	}
	for i := 0; i < 4096; i++ { // bounded, as in descendsFrom
		p, ok := procs[pid]
		if !ok {
			return false
		}
		if st, ok := a[pid]; ok && st == p.start {
			return true
		}
		if p.ppid == 0 {
			return false
		}
		pid = p.ppid
	}
	return false
}

// tagUnder reports whether t is tag or a tag below it (tag/...).
func tagUnder(t, tag string) bool {
	return t == tag || strings.HasPrefix(t, tag+"/")
}

// maxAnchors bounds what init remembers of earlier kills (all tags).
const maxAnchors = 4096

// anchors returns the live processes that earlier kills of tag (or of a
// tag below it) selected with a signal that may leave them alive. A job's
// root may die of a SIGTERM that one of its descendants ignores, and the
// descendant, re-parented to init, would no longer descend from anything
// the SIGKILL after the grace period selects: this record, which init
// keeps and the sandbox cannot edit, still names it.
func (d *initd) anchors(tag string) procRefs {
	out := procRefs{}
	if tag == "" {
		return out
	}
	d.anchorMu.Lock()
	defer d.anchorMu.Unlock()
	for t, refs := range d.seen {
		if !tagUnder(t, tag) {
			continue
		}
		live := refs[:0]
		for _, r := range refs {
			if p, ok := readStat(r.pid); ok && !p.zombie && p.start == r.start {
				live = append(live, r)
				out[r.pid] = r.start
			}
		}
		if len(live) == 0 {
			delete(d.seen, t)
			d.nseen -= len(refs)
		} else {
			d.seen[t] = live
			d.nseen -= len(refs) - len(live)
		}
	}
	return out
}

// remember records the processes a kill of req.Tag stopped and signalled
// with a signal that may leave them alive (see anchors), within maxAnchors.
func (d *initd) remember(req killReq, stopped map[int]uint64) {
	if req.Tag == "" || req.Sig == int(syscall.SIGKILL) || len(stopped) == 0 {
		return
	}
	d.anchorMu.Lock()
	defer d.anchorMu.Unlock()
	if d.seen == nil {
		d.seen = map[string][]procRef{}
	}
	if d.nseen+len(stopped) > maxAnchors {
		d.pruneAnchors()
	}
	for pid, start := range stopped {
		if d.nseen >= maxAnchors {
			return
		}
		d.seen[req.Tag] = append(d.seen[req.Tag], procRef{pid, start})
		d.nseen++
	}
}

// pruneAnchors drops the anchors of every tag that are no longer alive.
//
// Preconditions: d.anchorMu held.
func (d *initd) pruneAnchors() {
	for t, refs := range d.seen {
		live := refs[:0]
		for _, r := range refs {
			if p, ok := readStat(r.pid); ok && !p.zombie && p.start == r.start {
				live = append(live, r)
			}
		}
		d.nseen -= len(refs) - len(live)
		if len(live) == 0 {
			delete(d.seen, t)
		} else {
			d.seen[t] = live
		}
	}
}

func (d *initd) matches(procs procTable, pid int, req killReq, sinceTicks uint64) bool {
	if req.Root > 0 {
		if pid == req.Root {
			if req.IncludeRoot {
				return true
			}
		} else if procs.descendsFrom(pid, req.Root) && (sinceTicks == 0 || procs[pid].start >= sinceTicks) {
			return true
		}
	}
	if req.Tag != "" {
		return hasTag(pid, req.Tag)
	}
	return false
}

// killAll SIGKILLs every process in the sandbox but init, until none is
// left (zombies aside; the reaper collects them).
func (d *initd) killAll() {
	if d.jobs != nil {
		d.jobs.killAll()
	}
	for round := 0; round < 200; round++ {
		if d.cfg.Level != LevelNone {
			_ = syscall.Kill(-1, syscall.SIGKILL) // inside our pid namespace: everything but us
		}
		procs := scanProcs()
		left := 0
		for pid, p := range procs {
			if pid == d.self || p.zombie || !procs.descendsFrom(pid, d.self) {
				continue
			}
			left++
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if left == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (d *initd) op(m *message, files []*os.File) {
	defer closeAll(files)
	fn := lookupOp(m.Op)
	if fn == nil {
		d.reply(m.ID, nil, &OpError{Op: m.Op, Kind: "invalid", Msg: "unknown op"})
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.opsMu.Lock()
	d.cancels[m.ID] = cancel
	d.opsMu.Unlock()
	defer func() {
		d.opsMu.Lock()
		delete(d.cancels, m.ID)
		d.opsMu.Unlock()
		cancel()
	}()
	res, err := runOp(ctx, fn, m.Body, files)
	if fr, ok := res.(FileResult); ok {
		defer func() {
			for _, fd := range fr.Fds {
				unix.Close(fd)
			}
		}()
		d.reply(m.ID, fr.Value, err, fr.Fds...)
		return
	}
	d.reply(m.ID, res, err)
}

func runOp(ctx context.Context, fn Op, req json.RawMessage, files []*os.File) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("op panicked: %v", r)
		}
	}()
	return fn(ctx, req, files)
}

const opMkfifo = "isolation.mkfifo"

type mkfifoReq struct {
	Path string `json:"path"`
}

func init() {
	RegisterOp(opMkfifo, func(ctx context.Context, raw json.RawMessage, _ []*os.File) (any, error) {
		var req mkfifoReq
		if err := json.Unmarshal(raw, &req); err != nil || req.Path == "" {
			return nil, &OpError{Op: "mkfifo", Kind: "invalid", Msg: "missing path"}
		}
		if err := unix.Mkfifo(req.Path, 0o600); err != nil {
			return nil, &OpError{Op: "mkfifo", Path: req.Path, Kind: errnoKind(err), Msg: err.Error()}
		}
		if err := os.Chmod(req.Path, 0o600); err != nil {
			os.Remove(req.Path)
			return nil, &OpError{Op: "mkfifo", Path: req.Path, Kind: errnoKind(err), Msg: err.Error()}
		}
		fd, err := unix.Open(req.Path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			os.Remove(req.Path)
			return nil, &OpError{Op: "mkfifo", Path: req.Path, Kind: errnoKind(err), Msg: err.Error()}
		}
		return FileResult{Fds: []int{fd}}, nil
	})
}

func errnoKind(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "not_found"
	case errors.Is(err, os.ErrExist):
		return "exists"
	case errors.Is(err, os.ErrPermission):
		return "permission_denied"
	case errors.Is(err, syscall.ENOTDIR):
		return "not_directory"
	case errors.Is(err, syscall.EISDIR):
		return "is_directory"
	}
	return "io"
}
