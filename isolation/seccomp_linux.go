//go:build linux && (amd64 || arm64)

package isolation

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// deniedSyscalls fail with EPERM inside the sandbox.
var deniedSyscalls = []uint32{
	unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_MOVE_MOUNT,
	unix.SYS_OPEN_TREE, unix.SYS_FSOPEN, unix.SYS_FSCONFIG, unix.SYS_FSMOUNT,
	unix.SYS_FSPICK, unix.SYS_MOUNT_SETATTR, unix.SYS_UNSHARE, unix.SYS_SETNS,
	unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN, unix.SYS_KEYCTL, unix.SYS_ADD_KEY,
	unix.SYS_REQUEST_KEY, unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD,
	unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE,
	unix.SYS_USERFAULTFD, unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_REBOOT,
	unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_ACCT,
	// io_uring runs syscalls the filter never sees; file handles open
	// files by inode number, past the sandbox's root.
	unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER,
	unix.SYS_NAME_TO_HANDLE_AT,
}

// cloneNSFlags are the namespace flags clone(2) may not use. CLONE_NEWTIME
// (0x80) is left out: for clone(2) that bit is part of the exit signal.
const cloneNSFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// Offsets in struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16 // low 32 bits on little-endian
	offArg1 = 24
	offArg2 = 32
)

func bpfStmt(code uint16, k uint32) unix.SockFilter {
	return unix.SockFilter{Code: code, K: k}
}

func bpfJump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

func retErrno(errno unix.Errno) unix.SockFilter {
	return bpfStmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ERRNO|uint32(errno))
}

// seccompFilter builds the deny-list as classic BPF: check the audit arch
// (anything else is killed), refuse x32, EPERM for deniedSyscalls and for
// clone with a namespace flag, EPERM for kill(-1, …) and for the TIOCSTI and
// TIOCLINUX ioctls, EPERM for prlimit64 setting a limit of one of the
// protected pids (init: 1, or its host pid at level none; the server when
// visible), ENOSYS for clone3 (whose flags live in
// memory BPF cannot read; glibc then falls back to clone), allow the rest.
func seccompFilter(protected []uint32) []unix.SockFilter {
	arch := uint32(unix.AUDIT_ARCH_X86_64)
	if runtime.GOARCH == "arm64" {
		arch = unix.AUDIT_ARCH_AARCH64
	}
	ld := uint16(unix.BPF_LD | unix.BPF_W | unix.BPF_ABS)
	jeq := uint16(unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K)
	f := []unix.SockFilter{
		bpfStmt(ld, offArch),
		bpfJump(jeq, arch, 1, 0),
		bpfStmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_KILL_PROCESS),
		bpfStmt(ld, offNr),
	}
	if runtime.GOARCH == "amd64" {
		const x32Bit = 0x40000000
		f = append(f,
			bpfJump(unix.BPF_JMP|unix.BPF_JGE|unix.BPF_K, x32Bit, 0, 1),
			retErrno(unix.EPERM))
	}
	for _, nr := range deniedSyscalls {
		f = append(f, bpfJump(jeq, nr, 0, 1), retErrno(unix.EPERM))
	}
	// kill(-1, …) signals every process the caller may signal: inside a pid
	// namespace that is the sandbox, but at level none it would reach the
	// host's processes of the same uid. Refused at every level.
	f = append(f,
		bpfJump(jeq, unix.SYS_KILL, 0, 4),
		bpfStmt(ld, offArg0),
		bpfJump(jeq, 0xffffffff, 0, 1),
		retErrno(unix.EPERM),
		bpfStmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW),
	)
	// ioctl(fd, TIOCSTI | TIOCLINUX, …) pushes keystrokes into a terminal's
	// input (or, for TIOCLINUX, the console's selection): refused, so a tty
	// process cannot type into another terminal. The kernel takes the
	// request as an unsigned int, so the low 32 bits are the whole of it.
	f = append(f,
		bpfJump(jeq, unix.SYS_IOCTL, 0, 5),
		bpfStmt(ld, offArg1),
		bpfJump(jeq, unix.TIOCSTI, 1, 0),
		bpfJump(jeq, unix.TIOCLINUX, 0, 1),
		retErrno(unix.EPERM),
		bpfStmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW),
	)
	f = append(f, prlimitGuard(protected)...)
	f = append(f,
		bpfJump(jeq, unix.SYS_CLONE3, 0, 1), retErrno(unix.ENOSYS),
		bpfJump(jeq, unix.SYS_CLONE, 0, 4),
		bpfStmt(ld, offArg0),
		bpfJump(unix.BPF_JMP|unix.BPF_JSET|unix.BPF_K, cloneNSFlags, 0, 1),
		retErrno(unix.EPERM),
		bpfStmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW),
		bpfStmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW),
	)
	return f
}

// prlimitGuard refuses prlimit64(pid, _, new != NULL, _) for a protected
// pid: no sandbox process may change init's limits (RLIMIT_NOFILE 3 would
// kill it). Reading them, and every other process's limits, stays allowed.
// With the accumulator holding the syscall number on entry and on the
// fall-through path.
func prlimitGuard(protected []uint32) []unix.SockFilter {
	ld := uint16(unix.BPF_LD | unix.BPF_W | unix.BPF_ABS)
	jeq := uint16(unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K)
	allow := bpfStmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW)
	n := len(protected)
	block := []unix.SockFilter{bpfStmt(ld, offArg0)}
	for k, pid := range protected {
		block = append(block, bpfJump(jeq, pid, uint8(n-k), 0))
	}
	block = append(block,
		allow,
		bpfStmt(ld, offArg2),
		bpfJump(jeq, 0, 0, 2),
		bpfStmt(ld, offArg2+4),
		bpfJump(jeq, 0, 1, 0),
		retErrno(unix.EPERM),
		allow,
	)
	return append([]unix.SockFilter{bpfJump(jeq, unix.SYS_PRLIMIT64, 0, uint8(len(block)))}, block...)
}

// installSeccomp installs the filter on the calling thread, and with
// everywhere on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC,
// which also carries NO_NEW_PRIVS to them); execve carries it into the
// next image. Needs NO_NEW_PRIVS (or CAP_SYS_ADMIN). protected are the
// pids whose limits no sandbox process may set.
//
// Preconditions: on the locked thread of stage 1.
func installSeccomp(protected []uint32, everywhere bool) error {
	f := seccompFilter(protected)
	prog := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
	defer runtime.KeepAlive(f)
	if !everywhere {
		return unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0)
	}
	tid, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	switch {
	case errno != 0:
		return errno
	case tid != 0:
		return fmt.Errorf("thread %d cannot take the filter", tid)
	}
	return nil
}
