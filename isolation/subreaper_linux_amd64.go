package isolation

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// subreaperSupported: this architecture can make a held child a child
// subreaper (subreaper_linux.go).
const subreaperSupported = true

// subreaperEnter is called at the held child's first syscall-entry stop:
// it turns that syscall into prctl(PR_SET_CHILD_SUBREAPER, 1) and returns
// the registers to restore at the exit stop. ok is false when the child
// runs a 32-bit program (another syscall table): it is left alone.
//
// Preconditions: on the tracer thread; pid is in a syscall-entry stop.
func subreaperEnter(pid int) (saved syscall.PtraceRegs, ok bool, err error) {
	if err := syscall.PtraceGetRegs(pid, &saved); err != nil {
		return saved, false, fmt.Errorf("read registers of %d: %w", pid, err)
	}
	if saved.Cs == 0x23 { // compat mode (int 0x80 / sysenter)
		return saved, false, nil
	}
	r := saved
	r.Orig_rax = unix.SYS_PRCTL
	r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8 = unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0
	if err := syscall.PtraceSetRegs(pid, &r); err != nil {
		return saved, false, fmt.Errorf("write registers of %d: %w", pid, err)
	}
	return saved, true, nil
}

// subreaperExit is called at the exit stop of the prctl that
// subreaperEnter substituted: it checks the result and rewinds the child
// to the syscall instruction (2 bytes: 0f 05) with its own registers, so
// the syscall it meant to make runs as if nothing had happened.
//
// Preconditions: on the tracer thread; pid is in that syscall-exit stop.
func subreaperExit(pid int, saved syscall.PtraceRegs) error {
	var r syscall.PtraceRegs
	if err := syscall.PtraceGetRegs(pid, &r); err != nil {
		return fmt.Errorf("read registers of %d: %w", pid, err)
	}
	res := int64(r.Rax)
	saved.Rip -= 2
	saved.Rax = saved.Orig_rax
	if err := syscall.PtraceSetRegs(pid, &saved); err != nil {
		return fmt.Errorf("write registers of %d: %w", pid, err)
	}
	if res != 0 {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER) in %d: %w", pid, syscall.Errno(-res))
	}
	return nil
}
