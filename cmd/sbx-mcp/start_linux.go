package main

import (
	"math"
	"os"

	"golang.org/x/sys/unix"
)

// prepareProcess is the server's first step, before it serves or starts
// anything:
//   - non-dumpable from the start, so no process of the same uid can
//     ptrace it or open its /proc/PID/fd (isolation.Start says so again;
//     at level userns it is dumpable only for the length of a clone);
//   - every descriptor inherited beyond stdio close-on-exec: they belong
//     to whoever started the server (an agent host may leak a few), and
//     the sandbox's init, which runs in place of the server's image
//     without a second execve, must not start holding them;
//   - the Go runtime's poller made now, while descriptors are free: the
//     runtime creates it at the first pollable descriptor and a failure
//     there (EMFILE under a low RLIMIT_NOFILE) is a fatal error, not an
//     error a caller could report.
func prepareProcess() {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	_ = unix.CloseRange(3, math.MaxUint, unix.CLOSE_RANGE_CLOEXEC)
	if r, w, err := os.Pipe(); err == nil { // pipes are pollable: this makes the poller
		r.Close()
		w.Close()
	}
}
