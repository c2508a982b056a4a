package main

import (
	"math"

	"golang.org/x/sys/unix"
)

// keepInheritedFds marks every descriptor this process inherited beyond
// stdio close-on-exec. They belong to whoever started the server (an agent
// host may leak a few), and the sandbox's init, which runs in place of the
// server's image without a second execve, must not start holding them.
func keepInheritedFds() {
	_ = unix.CloseRange(3, math.MaxUint, unix.CLOSE_RANGE_CLOEXEC)
}
