package process

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// maxArgCommand is the longest command passed to bash as its -c argument
// (the kernel refuses a single argument over MAX_ARG_STRLEN, 128 KiB).
const maxArgCommand = 64 << 10

// commandArgs returns bash's argv for command and, for a command too long
// to be an argument, the file bash reads it from (its fd 3, closed for the
// command itself; the caller closes its copy after the spawn). A short
// command keeps `bash -c COMMAND`, so bash still execs a lone last command
// in place; a long one is evaluated by a bash that stays its parent.
func commandArgs(command string) ([]string, *os.File, error) {
	if len(command) <= maxArgCommand {
		return []string{"bash", "-c", command}, nil, nil
	}
	f, err := sealedFile("sbx-command", command)
	if err != nil {
		return nil, nil, fmt.Errorf("command of %d bytes: %w", len(command), err)
	}
	return []string{"bash", "-c", `builtin eval -- "$(</dev/fd/3)" 3<&-`}, f, nil
}

// sealedFile returns a read-only memfd holding data, sealed against any
// change (the sandbox can read it through /dev/fd, not alter it).
func sealedFile(name, data string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal memfd: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
