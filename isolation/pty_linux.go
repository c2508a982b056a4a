package isolation

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Terminals for start_process {tty: true}.
//
// Init opens /dev/ptmx itself, so with a mount namespace the terminal comes
// from the devpts instance mounted in the sandbox's /dev (the kernel resolves
// /dev/ptmx to the "pts" next to it), never from one the server picks. It
// unlocks the pair, sets the window size and hands both ends back by
// SCM_RIGHTS; the server passes the slave to Spawn with Spec.TTY (init then
// makes it the child's controlling terminal) and keeps the master. Every
// open is O_NOCTTY: init is a session leader without a terminal and must stay
// one.

const opOpenPTY = "isolation.openpty"

// PTY sources reported in Info.PTY.
const (
	PTYSandbox     = "sandbox" // a devpts instance of the sandbox's own
	PTYHost        = "host"    // the host's /dev/ptmx: its other terminals are visible
	PTYUnavailable = "unavailable"
)

type openPTYReq struct {
	Cols int `json:"cols"`
	Rows int `json:"rows"`
}

type openPTYResp struct {
	Name string `json:"name"` // /dev/pts/N as seen inside
}

func init() { RegisterOp(opOpenPTY, openPTY) }

func openPTY(_ context.Context, raw json.RawMessage, _ []*os.File) (any, error) {
	var req openPTYReq
	if err := json.Unmarshal(raw, &req); err != nil || req.Cols < 1 || req.Rows < 1 || req.Cols > 0xffff || req.Rows > 0xffff {
		return nil, &OpError{Op: "openpty", Kind: "invalid", Msg: "cols and rows must be 1-65535"}
	}
	fail := func(what string, err error) (any, error) {
		return nil, &OpError{Op: "openpty", Path: "/dev/ptmx", Kind: errnoKind(err), Msg: what + ": " + err.Error()}
	}
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("open", err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(master)
		}
	}()
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fail("unlockpt", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return fail("ptsname", err)
	}
	// TIOCGPTPEER opens the slave through the master, with no path lookup
	// a sandbox process could race.
	slave, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return fail("open slave", errno)
	}
	if err := setTermDefaults(master, req.Cols, req.Rows); err != nil {
		unix.Close(int(slave))
		return fail("termios", err)
	}
	ok = true
	return FileResult{Value: openPTYResp{Name: "/dev/pts/" + strconv.FormatUint(uint64(n), 10)}, Fds: []int{master, int(slave)}}, nil
}

// setTermDefaults sets the window size and IUTF8 (so the line discipline
// erases a whole UTF-8 character on backspace); the rest is the kernel's
// default cooked mode with echo.
func setTermDefaults(fd, cols, rows int) error {
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)}); err != nil {
		return err
	}
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag |= unix.IUTF8
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// OpenPTY allocates a terminal inside the sandbox with the given size and
// returns its master and slave ends (the caller owns both) and the slave's
// name inside the sandbox.
func (s *Sandbox) OpenPTY(ctx context.Context, cols, rows int) (master, slave *os.File, name string, err error) {
	var resp openPTYResp
	files, err := s.DoFiles(ctx, opOpenPTY, openPTYReq{Cols: cols, Rows: rows}, &resp)
	if err != nil {
		return nil, nil, "", fmt.Errorf("open a terminal: %w", err)
	}
	if len(files) != 2 {
		closeAll(files)
		return nil, nil, "", fmt.Errorf("open a terminal: init sent %d fds, want 2", len(files))
	}
	return files[0], files[1], resp.Name, nil
}

// ptsDev is the device number of the devpts instance at /dev/pts (0 when
// there is none): init and the server compare theirs to tell a devpts of
// the sandbox's own from the host's.
func ptsDev() uint64 {
	var st unix.Stat_t
	if unix.Stat("/dev/pts", &st) != nil {
		return 0
	}
	var fs unix.Statfs_t
	if unix.Statfs("/dev/pts", &fs) != nil || fs.Type != unix.DEVPTS_SUPER_MAGIC {
		return 0
	}
	return st.Dev
}

// ptySource says where terminals come from, given init's ptsDev.
func ptySource(inSandbox uint64) string {
	switch {
	case inSandbox == 0:
		return PTYUnavailable
	case inSandbox == ptsDev():
		return PTYHost
	}
	return PTYSandbox
}
