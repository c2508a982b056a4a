package main

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// growPipe enlarges stdout's pipe buffer (best effort, up to
// fs.pipe-max-size) so the server can encode the next progress
// notification while the client still decodes the previous one, instead of
// the two taking turns at the default 64 KiB.
func growPipe(w io.Writer) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return
	}
	unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, 1<<20)
}
