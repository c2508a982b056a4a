package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// growPipe enlarges the buffer of a stdio pipe (best effort, up to
// fs.pipe-max-size). On stdout the server can then encode the next progress
// notification while the client still decodes the previous one; on stdin a
// client can write a large request (a 1 MiB write_file) in one go. At the
// default 64 KiB the two sides take turns, with a wake-up per turn.
func growPipe(end any) {
	f, ok := end.(*os.File)
	if !ok {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return
	}
	unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, 1<<20)
}
