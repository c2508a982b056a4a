package isolation

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Reducing init's privileges in place.
//
// Credentials, NO_NEW_PRIVS, the capability sets, the seccomp filter and
// the cgroup namespace are per thread, and a Go process has several
// threads before main runs. Stage 1 does its privileged work on one locked
// thread; then either every other thread gets the same changes here
// (syscall.AllThreadsSyscall, which stops the world and runs the call on
// every thread the runtime has; threads made later are cloned from one
// that ran it), or, in a cgo build where the runtime cannot reach the
// threads C made, the locked thread re-executes the binary (stage 2).
// In place saves a second start of a 16 MB Go binary: about 10 ms of a
// sandbox's start.

// canReduceInPlace reports whether the runtime can run a syscall on every
// thread: not in a cgo build.
func canReduceInPlace() bool {
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_GETPID, 0, 0, 0)
	return errno != unix.ENOTSUP
}

// prctlEverywhere runs prctl(option, arg2, 0, 0, 0) on the calling thread,
// or with everywhere on every thread.
func prctlEverywhere(everywhere bool, option int, arg2 uintptr) error {
	if !everywhere {
		return unix.Prctl(option, arg2, 0, 0, 0)
	}
	if _, _, errno := syscall.AllThreadsSyscall6(unix.SYS_PRCTL, uintptr(option), arg2, 0, 0, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// joinCgroupNSEverywhere moves every thread into the calling thread's
// cgroup namespace: unshare(2) changed only the calling thread's, and a
// process forked from any other thread would see the host's cgroups.
func joinCgroupNSEverywhere() error {
	fd, err := unix.Open("/proc/thread-self/ns/cgroup", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_SETNS, uintptr(fd), unix.CLONE_NEWCGROUP, 0); errno != 0 {
		return errno
	}
	return nil
}

// limitCapsEverywhere sets every thread's permitted and effective sets to
// what they hold of keep, and clears the inheritable set: what execve
// gives root once the bounding set is keep.
func limitCapsEverywhere(keep uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	perm := (uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32) & keep
	for i := range data {
		data[i].Permitted = uint32(perm >> (32 * i))
		data[i].Effective = data[i].Permitted
		data[i].Inheritable = 0
	}
	hdr.Pid = 0 // the calling thread, on each thread
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if errno != 0 {
		return fmt.Errorf("capset: %w", errno)
	}
	return nil
}

// threadState is what /proc says of one thread's reduction.
type threadState struct {
	tid            string
	nnp, seccomp   bool
	capEff, capPrm uint64
	cgroupNS       string
}

// readThreads reads the state of every thread of this process.
func readThreads() ([]threadState, error) {
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, err
	}
	out := make([]threadState, 0, len(tids))
	for _, e := range tids {
		dir := "/proc/self/task/" + e.Name()
		b, err := os.ReadFile(dir + "/status")
		if err != nil {
			if os.IsNotExist(err) {
				continue // the thread exited meanwhile
			}
			return nil, err
		}
		t := threadState{tid: e.Name()}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimSpace(v)
			switch k {
			case "NoNewPrivs":
				t.nnp = v == "1"
			case "Seccomp":
				t.seccomp = v == "2"
			case "CapEff":
				t.capEff, err = strconv.ParseUint(v, 16, 64)
			case "CapPrm":
				t.capPrm, err = strconv.ParseUint(v, 16, 64)
			}
			if err != nil {
				return nil, fmt.Errorf("%s/status: %s: %v", dir, k, err)
			}
		}
		t.cgroupNS, _ = os.Readlink(dir + "/ns/cgroup")
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("/proc/self/task lists no thread")
	}
	return out, nil
}
