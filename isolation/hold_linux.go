package isolation

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Processes that init spawns are held at their first instruction while init
// confines them: the child asks to be traced (PTRACE_TRACEME, the last step
// before execve in Go's ForkExec), so the kernel stops it with SIGTRAP right
// after the execve, before the new program runs a single instruction. Init,
// its tracer, then applies the rlimits of the levels without cgroup limits
// and puts it into its job's cgroup, and detaches. Nothing the program does
// can happen under no limit or outside its cgroup, and nothing races: a
// prlimit after the start let 6-18% of processes run unlimited.
//
//	init (spawner thread)                 child
//	  fork ─────────────────────────────▶ setsid, dup2 fds, PTRACE_TRACEME, execve
//	  wait4(pid, __WALL) ◀──── SIGTRAP stop (new image loaded, not yet run)
//	  prlimit(pid, NPROC/AS), cgroup.procs ← pid
//	  ptrace(DETACH, pid, 0) ───────────▶ runs, confined from its first instruction
//
// The reaper is kept out by d.mu, which spawn holds from fork to reply.

// maxHoldStops bounds the signal-delivery stops a held child may show
// before its exec stop (a sandbox process may signal a fresh pid).
const maxHoldStops = 16

// holdAtExec reports whether spawned children must be held for confinement.
func (d *initd) holdAtExec(subreaper bool) bool {
	return d.cfg.RlimitPids > 0 || d.cfg.RlimitMem > 0 || d.jobs != nil || subreaper
}

// release confines the held child pid and lets it run. When the child dies
// before, its exit status is returned (it was consumed here, not by the
// reaper). On an error the child has been SIGKILLed and reaped.
//
// With subreaper, the child is also made a child subreaper (subreaper.go)
// before it is let go: from the exec trap it runs to its first syscall
// (still the dynamic loader or the program's start code: nothing has
// forked yet), which becomes prctl(PR_SET_CHILD_SUBREAPER, 1) and is then
// rewound to run as meant.
//
// Preconditions: on the spawner thread (the tracer) with d.mu held.
func (d *initd) release(pid int, tag string, subreaper bool) (*exitEvent, error) {
	confined, execed := false, false
	var saved syscall.PtraceRegs
	entered := false // saved holds the registers of a substituted syscall
	for range maxHoldStops {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, unix.WALL, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wait for new process %d: %w", pid, err)
		}
		if ws.Exited() || ws.Signaled() {
			ev := &exitEvent{Pid: pid, Code: ws.ExitStatus()}
			if ws.Signaled() {
				ev.Code, ev.Signal = -1, int(ws.Signal())
			}
			return ev, nil
		}
		if !ws.Stopped() {
			continue
		}
		if !confined {
			if err := d.confine(pid, tag); err != nil {
				d.killHeld(pid)
				return nil, err
			}
			confined = true
		}
		sig := ws.StopSignal()
		var next func() error // how the child goes on; nil = detach
		switch {
		case sig == syscall.SIGTRAP|0x80: // a syscall stop (PTRACE_O_TRACESYSGOOD)
			if !entered {
				var ok bool
				if saved, ok, err = subreaperEnter(pid); err == nil && ok {
					entered = true
					next = func() error { return syscall.PtraceSyscall(pid, 0) }
				}
			} else {
				err = subreaperExit(pid, saved)
			}
		case sig == syscall.SIGTRAP && !execed:
			execed = true
			if subreaper {
				err = syscall.PtraceSetOptions(pid, syscall.PTRACE_O_TRACESYSGOOD)
				next = func() error { return syscall.PtraceSyscall(pid, 0) }
			}
		default:
			// A signal that arrived before the exec trap or before the
			// first syscall: deliver it and wait on.
			next = func() error {
				if execed {
					return syscall.PtraceSyscall(pid, int(sig))
				}
				return syscall.PtraceCont(pid, int(sig))
			}
		}
		if err != nil {
			d.killHeld(pid)
			return nil, fmt.Errorf("set up new process %d: %w", pid, err)
		}
		if next != nil {
			if err := next(); err != nil {
				d.killHeld(pid)
				return nil, fmt.Errorf("resume new process %d: %w", pid, err)
			}
			continue
		}
		if err := syscall.PtraceDetach(pid); err != nil {
			d.killHeld(pid)
			return nil, fmt.Errorf("release new process %d: %w", pid, err)
		}
		return nil, nil
	}
	d.killHeld(pid)
	return nil, errors.New("new process kept stopping before its first instruction")
}

// killHeld SIGKILLs a held child and reaps it.
func (d *initd) killHeld(pid int) {
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, unix.WALL, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || ws.Exited() || ws.Signaled() {
			return
		}
	}
}

// confine applies what must hold from the child's first instruction.
func (d *initd) confine(pid int, tag string) error {
	if err := d.applyRlimits(pid); err != nil {
		return err
	}
	if d.jobs != nil {
		return d.jobs.place(pid, tag)
	}
	return nil
}

// applyRlimits is the limit of the levels without cgroup limits, applied
// while the child is held. RLIMIT_NPROC counts every task (threads too) of
// the child's real uid in its user namespace: in the userns level that is
// the sandbox, init's threads included; in the none level it is the whole
// uid on the host; real root ignores it. RLIMIT_AS bounds each process's
// address space, not the sandbox's total.
func (d *initd) applyRlimits(pid int) error {
	if n := d.cfg.RlimitPids; n > 0 {
		lim := &unix.Rlimit{Cur: uint64(n), Max: uint64(n)}
		if err := unix.Prlimit(pid, unix.RLIMIT_NPROC, lim, nil); err != nil {
			return fmt.Errorf("limit processes of %d: %w", pid, err)
		}
	}
	if b := d.cfg.RlimitMem; b > 0 {
		lim := &unix.Rlimit{Cur: uint64(b), Max: uint64(b)}
		if err := unix.Prlimit(pid, unix.RLIMIT_AS, lim, nil); err != nil {
			return fmt.Errorf("limit memory of %d: %w", pid, err)
		}
	}
	return nil
}
