//go:build linux && !amd64

package isolation

import (
	"errors"
	"syscall"
)

const subreaperSupported = false

var errNoSubreaper = errors.New("child subreapers are set up on amd64 only")

func subreaperEnter(int) (syscall.PtraceRegs, bool, error) {
	return syscall.PtraceRegs{}, false, errNoSubreaper
}

func subreaperExit(int, syscall.PtraceRegs) error { return errNoSubreaper }
