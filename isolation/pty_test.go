package isolation

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runTTY runs bash -c script on a new terminal of the sandbox and returns
// what the terminal showed, the slave's name and the exit status.
func runTTY(t *testing.T, s *Sandbox, script string) (string, string, ExitStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	master, slave, name, err := s.OpenPTY(ctx, 100, 30)
	if err != nil {
		t.Fatalf("OpenPTY: %v", err)
	}
	defer master.Close()
	p, err := s.Spawn(ctx, Spec{Path: "/bin/bash", Args: []string{"bash", "-c", script}, Env: s.BaseEnv(), Files: []*os.File{slave, slave, slave}, TTY: true})
	slave.Close()
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	var out bytes.Buffer
	_, err = io.Copy(&out, master) // EIO once every slave fd is closed
	if err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatalf("read master: %v", err)
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		t.Fatal("tty process did not end")
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n"), name, p.Exit()
}

// Issue 15: the terminal is the sandbox's own (a devpts instance of the
// sandbox, holding only the sandbox's terminals), it is the child's
// controlling terminal, and its size is the one asked for.
func TestSecPTYOwnDevpts(t *testing.T) {
	s := nsSandbox(t, Config{})
	if got := s.Info().PTY; got != PTYSandbox {
		t.Errorf("Info().PTY = %q, want %q (a devpts instance of the sandbox's own)", got, PTYSandbox)
	}
	var host syscall.Stat_t
	if err := syscall.Stat("/dev/pts", &host); err != nil {
		t.Fatal(err)
	}
	out, name, st := runTTY(t, s, `tty; stat -c %d /dev/pts; stat -c %d "$(tty)"; ls /dev/pts | tr '\n' ' '; echo; stty size; ps -o tty= -p $$`)
	lines := strings.Split(out, "\n")
	if st.Code != 0 || len(lines) < 6 {
		t.Fatalf("exit %+v, output %q", st, out)
	}
	if lines[0] != name || !strings.HasPrefix(name, "/dev/pts/") {
		t.Errorf("tty = %q, OpenPTY said %q", lines[0], name)
	}
	if lines[1] != lines[2] {
		t.Errorf("the terminal (dev %s) is not on the sandbox's /dev/pts (dev %s)", lines[2], lines[1])
	}
	if lines[1] == itoa(host.Dev) {
		t.Errorf("the sandbox's /dev/pts is the host's (dev %s)", lines[1])
	}
	if want := strings.TrimPrefix(name, "/dev/pts/") + " ptmx "; lines[3] != want {
		t.Errorf("ls /dev/pts = %q, want only our terminal: %q", lines[3], want)
	}
	if lines[4] != "30 100" {
		t.Errorf("stty size = %q, want 30 100", lines[4])
	}
	if lines[5] != strings.TrimPrefix(name, "/dev/") {
		t.Errorf("controlling terminal = %q, want %s", lines[5], name)
	}
}

// Issue 15: TIOCSTI and TIOCLINUX (keystroke injection) fail with EPERM,
// even on the process's own terminal.
func TestSecTIOCSTIRefused(t *testing.T) {
	s := nsSandbox(t, Config{})
	out, _, _ := runTTY(t, s, `python3 - <<'EOF'
import fcntl, termios
for name, req, arg in (("TIOCSTI", termios.TIOCSTI, b"x"), ("TIOCLINUX", 0x541C, b"\x06")):
    try:
        fcntl.ioctl(0, req, arg)
        print(name, "allowed")
    except OSError as e:
        print(name, "errno", e.errno)
EOF`)
	if !strings.Contains(out, "TIOCSTI errno 1\n") || !strings.Contains(out, "TIOCLINUX errno 1\n") {
		t.Fatalf("want EPERM for both ioctls, got %q", out)
	}
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}
