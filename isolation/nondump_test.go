package isolation

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSealedCopy: the copy has the file's bytes, mode 0111, cannot be
// written or resized, sits above the descriptors a child receives and
// does not survive an exec.
func TestSealedCopy(t *testing.T) {
	want, err := os.ReadFile(ShellPath)
	if err != nil {
		t.Skipf("no %s: %v", ShellPath, err)
	}
	fd, err := sealedCopy(ShellPath)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if fd < minSealedFd {
		t.Errorf("fd %d below %d", fd, minSealedFd)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&0o7777 != 0o111 || st.Size != int64(len(want)) {
		t.Fatalf("stat: %v mode %o size %d", err, st.Mode&0o7777, st.Size)
	}
	got := make([]byte, len(want))
	if n, err := unix.Pread(fd, got, 0); err != nil || n != len(want) || !bytes.Equal(got, want) {
		t.Fatalf("content differs (%d bytes, %v)", n, err)
	}
	if _, err := unix.Pwrite(fd, []byte{0}, 0); err == nil {
		t.Error("sealed copy is writable")
	}
	if err := unix.Ftruncate(fd, 1); err == nil {
		t.Error("sealed copy can shrink")
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Errorf("not close-on-exec: %v", err)
	}
	if _, err := os.Stat("/proc/self/fd/" + strconv.Itoa(fd)); err != nil {
		t.Error(err)
	}
}

// BenchmarkSealedCopy: what init pays at start for the shell's copy.
func BenchmarkSealedCopy(b *testing.B) {
	for b.Loop() {
		fd, err := sealedCopy(ShellPath)
		if err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
}
