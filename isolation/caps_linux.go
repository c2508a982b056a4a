package isolation

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// keptCaps is Docker's default capability set less CAP_MKNOD (no device
// cgroup here: mknod is refused outright); every other capability is
// dropped from the bounding set (CAP_SYS_ADMIN, CAP_SYS_PTRACE,
// CAP_SYS_MODULE, CAP_SYS_BOOT, CAP_SYS_RAWIO, CAP_SYS_TIME, CAP_NET_ADMIN...).
// CAP_NET_RAW goes too when the sandbox shares the host's network (raw and
// packet sockets would see and forge the host's traffic).
var keptCaps = []uintptr{
	unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FSETID, unix.CAP_FOWNER,
	unix.CAP_NET_RAW, unix.CAP_SETGID, unix.CAP_SETUID,
	unix.CAP_SETFCAP, unix.CAP_SETPCAP, unix.CAP_NET_BIND_SERVICE,
	unix.CAP_SYS_CHROOT, unix.CAP_KILL, unix.CAP_AUDIT_WRITE,
}

func keptCapsMask() uint64 {
	var m uint64
	for _, c := range keptCaps {
		m |= 1 << c
	}
	return m
}

func lastCap() uintptr {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 && n < 64 {
			return uintptr(n)
		}
	}
	return unix.CAP_LAST_CAP
}

// dropCapabilities drops every capability outside keptCaps (and NET_RAW with
// the host's network) from the bounding set and clears the ambient set.
// After the next execve, root's permitted and effective sets are the
// bounding set; inPlace sets them so at once, on every thread.
//
// Preconditions: on the locked thread of stage 1 (capabilities are per
// thread); without inPlace, the thread that will execve.
func dropCapabilities(hostNet, inPlace bool) error {
	keep := keptCapsMask()
	if hostNet {
		keep &^= 1 << unix.CAP_NET_RAW
	}
	var firstErr error
	// lastCap reads /proc once: in the loop's condition it was read once
	// per capability, ~1 ms of init's start.
	last := lastCap()
	for c := uintptr(0); c <= last; c++ {
		if keep&(1<<c) != 0 {
			continue
		}
		if err := prctlEverywhere(inPlace, unix.PR_CAPBSET_DROP, c); err != nil && err != unix.EINVAL && firstErr == nil {
			firstErr = err
		}
	}
	_ = prctlEverywhere(inPlace, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL)
	if inPlace {
		if err := limitCapsEverywhere(keep); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}
