// Package isolation runs the sandbox: a re-executed copy of this binary as
// PID 1 of fresh namespaces (the "init"), which spawns, signals and reaps
// every sandbox process and runs registered ops inside the sandbox's mount
// namespace and credentials. It knows Linux and nothing about
// MCP.
//
// # Levels
//
// Start tries, in order: full (root: new pid, mount, ipc, uts, cgroup and
// optionally net namespaces), userns (the same inside an unprivileged user
// namespace mapping the caller to root), none (a plain child that is a child
// subreaper; process groups and rlimits only). Info says which layers hold
// and why the others do not, and which root the sandbox got (Filesystem).
// Ops run in init, after its pivot_root: they see exactly the root that
// sandbox processes see.
//
// # Start-up of init
//
//	server (multi-threaded, never unshare/setns)
//	  │ exec.Cmd{Path: /proc/self/exe, Args: ["sbx-init", "__sbx_init"], Env: []}
//	  │ Cloneflags NEWPID|NEWNS|NEWIPC|NEWUTS[|NEWNET][|NEWUSER], Setsid, Pdeathsig
//	  │ fd 3 = control socket (SOCK_SEQPACKET), fd 4 = lifeline (read end of a pipe)
//	  ▼
//	  │ (the server writes init's pid into the sandbox's cgroups, then sends config)
//	init stage 1 (PID 1, locked OS thread): reads "config" from fd 3,
//	  make / rprivate, open its cgroup handles (fds 6, 7..),
//	  build the sandbox's own root and pivot_root into it (rootfs_linux.go:
//	  overlays or read-only binds of the host's top-level directories, private
//	  /tmp /var/tmp /run /root, secrets hidden, workdir and --rw/--ro bound;
//	  mounts_linux.go: fresh masked /proc, read-only /sys, minimal /dev with
//	  its own devpts), unshare NEWCGROUP, read-only cgroupfs on the new
//	  /sys/fs/cgroup, hostname, lo up, RunDir tmpfs, private dir (fd 40, detached:
//	  private_linux.go), oom_score_adj,
//	  then on every thread (threads_linux.go: syscall.AllThreadsSyscall and
//	  SECCOMP_FILTER_FLAG_TSYNC): join that cgroup namespace, NO_NEW_PRIVS,
//	  drop bounding caps (and MKNOD; NET_RAW with the host's network), cut
//	  permitted and effective caps to them, seccomp (prlimit64 on init
//	  refused); DUMPABLE 0
//	  │                                    │ cgo build (the runtime cannot reach
//	  │ static build: in place             │ C's threads): the same on the locked
//	  │                                    │ thread only, config+status to a pipe
//	  │                                    │ at fd 5, execve(/proc/self/exe,
//	  │                                    │ "__sbx_init", "2"); stage 2 reads fd 5
//	  ▼                                    ▼
//	init (PID 1, reduced credentials in every thread, verified from
//	  /proc/self/task): sends "hello", then serves requests, reaps
//	  everything, watches fd 4.
//
// # Control protocol (one JSON object per SOCK_SEQPACKET message, fds by SCM_RIGHTS)
//
//	server                                   init
//	  ── {k:"config", b:initConfig} ───────────▶ (stage 1, once)
//	  ◀────────── {k:"hello", b:initStatus} ──── (once, when ready)
//	  ── {id, k:"spawn", b:spawnReq} + fds ────▶ fork/exec, close its copies
//	  ◀──────── {id, k:"reply", b:{pid}} ──────
//	  ── {id, k:"signal"|"kill"|"killall"} ────▶
//	  ◀──────── {id, k:"reply", b|e} ──────────
//	  ── {id, k:"op", op:name, b:req} + fds ───▶ runs op in its own goroutine
//	  ◀──────── {id, k:"reply", b:result | e:{op_error}} + fds
//	  ── {id, k:"cancel"} ─────────────────────▶ cancels op id's context
//	  ◀──────── {k:"exit", b:{pid, code, signal}}  (pushed; only for spawned pids)
//
// A spawn reply is always sent before the exit event of the same pid (init
// holds one lock across fork, registration and reply, and the reaper takes it
// too), and the server registers the pid while reading the reply, so no exit
// is lost. EOF on fd 4 (the server died) or on the socket makes init kill
// every sandbox process and exit; Pdeathsig SIGKILL on init does the same
// through the kernel in the namespace levels.
//
// # Cgroups
//
// The server creates the sandbox's cgroups before init runs anything and
// puts init into them; init then unshares its cgroup namespace, so the
// namespace is rooted at the sandbox's own cgroup in every hierarchy.
//
//	cgroup v2 (pure v2, or "unified" of a hybrid host; created by the server)
//	  <server's cgroup>/sbx-mcp-<pid>-<n>/     pids.max memory.max cpu.max (pure v2); cgroup.kill
//	    sandbox/                               ← cgroup namespace root: init
//	      <job>/...                            ← job cgroups (init, through fd 6)
//	cgroup v1 (pids, memory, cpu hierarchies; hybrid and v1 hosts)
//	  <server's cgroup>/sbx-mcp-<pid>-<n>/     ← cgroup namespace root: init
//	    jobs/                                  pids.max memory.limit_in_bytes cpu.cfs_quota_us;
//	                                           init's spawner thread, so every sandbox process
//	cgroup v1 freezer (only without cgroup v2)
//	  <server's cgroup>/sbx-mcp-<pid>-<n>/     ← cgroup namespace root: init
//	    <job>/...                              ← job cgroups (init, through fd 6)
//
// A job is a Spec.Tag: "S<n>" a session's shell, "P/<session>/<n>" a
// background process, a code context's driver; its cgroup path is the tag
// with each component escaped (jobs_linux.go). Kill by membership:
// cgroup.kill on v2; freeze, kill, thaw on v1. A session command's timeout
// ("S<n>/<seq>", no cgroup of its own) freezes the shell's cgroup and kills
// the members that started since the command did.
//
// Without job cgroups (level userns), membership is a genealogy that init
// keeps and the sandbox cannot edit (init_linux.go, killMatching):
//   - a job's root is a child subreaper (Spec.Subreaper; made one at its
//     first syscall while held, subreaper_linux_amd64.go), so what its
//     processes double-fork is re-parented to the root, not to init, and
//     stays its descendant while the root lives (the session shells and
//     background processes; not the code drivers, which would leave what
//     they adopt unreaped);
//   - init records each root's tag at spawn; a kill of a tag selects the
//     roots spawned under it and their descendants;
//   - when a root dies, the orphans it leaves to init are recorded as
//     anchors of its tag before its exit is reported (adopt), and so are
//     the processes a non-fatal kill selected (a SIGTERM that one ignores
//     while its root dies); a later kill of the tag selects them and their
//     descendants. Anchors are pid plus start time, at most 4096;
//   - a kill stops every member (SIGSTOP) before it signals any, so none
//     can fork or be orphaned away while they are picked;
//   - the environment tag (SBX_JOB) only adds to this: a hint.
//
// What escapes: the orphans of two roots that die in the same reap are
// anchored to both tags, and on architectures other than amd64 roots are
// not subreapers, so a cleared-environment double fork escapes there.
//
// Inside, /sys/fs/cgroup is a read-only tmpfs holding read-only mounts of
// those hierarchies (a read-only cgroup2 mount on a pure v2 host, an empty
// tmpfs when the level has no cgroup of its own): a process inside sees its
// own cgroups as "/" and "/jobs", nothing above or beside them, and can
// neither join, create, freeze nor retune any (it also lacks CAP_SYS_ADMIN
// and seccomp refuses mount, unshare and new user namespaces). On v2 the
// limits sit above the namespace root, out of sight. Init writes through
// descriptors opened in stage 1 on the host's mounts (fd 6: its v2 cgroup;
// fds 7..: the v1 jobs tasks files), closed on exec for every child.
//
// A limit that no cgroup holds falls back on its own: pids on RLIMIT_NPROC,
// memory on RLIMIT_AS, cpus on nothing (sandbox_info says which). Init
// applies rlimits and cgroup membership while the new process is stopped
// at its exec trap, before its first instruction (hold_linux.go).
//
// Slack: with --pids N a sandbox holds at most N+1 processes counting init
// (v1: init sits outside jobs and its spawner thread counts in jobs, so at
// most N-1 sandbox processes; v2 and rlimits: init and its threads count
// toward N). RLIMIT_NPROC does not bind real root: at level none as root
// without cgroups the process limit is not enforced, and says so.
//
// Ops are registered by other packages (fileops for the file tools,
// session and process for their helpers) with RegisterOp; init runs them
// with its mount namespace and credentials. An op may hand descriptors back
// (FileResult), which DoFiles returns to the caller.
//
// Bounds: one control message is at most maxMsg (1 MiB) with at most
// maxFDs (64) descriptors, read into a fixed buffer; a truncated or
// malformed message ends the connection, which counts as init's death.
// Bulk data (op replies that stream) crosses pipes passed with the
// request, read by the op's caller in bounded pieces. The stderr of init
// is logged line by line (a line without a newline is cut at 64 KiB).
//
// When init dies on its own (killed, crashed, a broken message), the reader
// records why (exit status, last stderr lines: Lost, ErrInitDied), fails
// every pending call, ends every Process as SIGKILLed and closes Gone. The
// Sandbox is then spent; the server starts a fresh one (tools.Deps.Supervise).
//
// # Network
//
// Modes allow and none give the sandbox its own network namespace (only lo,
// and /etc/resolv.conf bound to a file naming 127.0.0.1, so direct DNS fails
// at once). In mode allow init listens on ProxyHTTPAddr and ProxySOCKSAddr
// inside and passes each accepted socket to the server, which hands it to
// Config.Proxy (package egress); expose_port goes the other way with
// DialInside. Both travel by SCM_RIGHTS; forward_linux.go draws them.
package isolation
