package process

// Terminal processes (start_process {tty: true}).
//
// The sandbox's init allocates the terminal (isolation.Sandbox.OpenPTY) and
// hands both ends over; the child gets the slave as fds 0-2 and controlling
// terminal, the server keeps the master. One reader copies the master into
// the stdout log (raw bytes, stable offsets: stdout and stderr are one
// stream on a terminal) and into a headless VT emulator, so the server
// always holds the rendered screen. The emulator's answers to queries
// (cursor position, device attributes) go back to the master through
// `answers`, written without blocking: a program that asks and never reads
// loses answers, never stalls the reader.
//
//	sandbox process ──slave──▶ master ──reader──▶ emulator, then stdout log
//	                  ◀──────── master ◀── write_process_stdin (data, keys)
//	                  ◀──────── master ◀── answers ◀── emulator queries
//
// When the process has ended and its output is drained, the final screen
// is kept as text and the emulator dropped, so finished records cost no
// more than their logs.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// Terminal limits.
const (
	DefaultCols   = 120
	DefaultRows   = 40
	MaxCols       = 500
	MaxRows       = 200
	scrollbackMax = 1000 // lines kept above the screen
	maxTTYs       = 64   // running tty processes at once
	// TermEnv is the TERM of a tty process.
	TermEnv = "xterm-256color"
)

// ErrTooManyTTYs is returned when maxTTYs terminals are in use.
var ErrTooManyTTYs = errors.New("too many tty processes are running")

// term is the server's side of a process's terminal.
type term struct {
	master *os.File // closed by the waiter
	name   string   // /dev/pts/N inside the sandbox

	mu        sync.Mutex
	emu       *vt.Emulator // nil once the process ended (final holds the screen)
	final     *Screen
	title     string
	appCursor bool // DECCKM: cursor keys send SS3 sequences
	cols      int
	rows      int
}

// Screen is a rendered terminal screen.
type Screen struct {
	Lines         []string `json:"lines" jsonschema_description:"screen rows top to bottom; trailing blanks and trailing empty rows trimmed"`
	CursorRow     int      `json:"cursor_row" jsonschema_description:"0-based"`
	CursorCol     int      `json:"cursor_col" jsonschema_description:"0-based"`
	CursorVisible bool     `json:"cursor_visible"`
	Cols          int      `json:"cols"`
	Rows          int      `json:"rows"`
	Title         string   `json:"title,omitempty"`
	AltScreen     bool     `json:"alt_screen" jsonschema_description:"the program switched to the alternate screen (full-screen programs: vim, less, top)"`
	Scrollback    []string `json:"scrollback,omitempty" jsonschema_description:"lines that scrolled off the top, oldest first"`
}

// Text renders the screen for a text block.
func (s *Screen) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "screen %dx%d, cursor row %d col %d", s.Cols, s.Rows, s.CursorRow, s.CursorCol)
	if s.AltScreen {
		b.WriteString(", alternate screen")
	}
	if s.Title != "" {
		fmt.Fprintf(&b, ", title %q", s.Title)
	}
	b.WriteString(":\n")
	if len(s.Scrollback) > 0 {
		fmt.Fprintf(&b, "--- scrollback (%d lines)\n%s\n--- screen\n", len(s.Scrollback), strings.Join(s.Scrollback, "\n"))
	}
	b.WriteString(strings.Join(s.Lines, "\n"))
	return b.String()
}

func checkSize(cols, rows int) error {
	if cols < 2 || cols > MaxCols || rows < 2 || rows > MaxRows {
		return fmt.Errorf("terminal size %dx%d: use cols 2-%d and rows 2-%d", cols, rows, MaxCols, MaxRows)
	}
	return nil
}

func (m *Manager) runningTTYs() int {
	n := 0
	for _, p := range m.running("") {
		if p.term != nil {
			n++
		}
	}
	return n
}

// spawnTTY starts p on a new terminal of the sandbox.
func (m *Manager) spawnTTY(p *proc, env []string, cwd string, cols, rows int) (err error) {
	if m.runningTTYs() >= maxTTYs {
		return fmt.Errorf("%w (%d); kill_process some of them first", ErrTooManyTTYs, maxTTYs)
	}
	ctx := context.Background()
	master, slave, name, err := m.sandbox().OpenPTY(ctx, cols, rows)
	if err != nil {
		return err
	}
	defer slave.Close()
	if master, err = pollable(master); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			master.Close()
		}
	}()
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "TERM=") })
	env = append(env, "TERM="+TermEnv)
	args, script, err := commandArgs(p.command)
	if err != nil {
		return err
	}
	files := []*os.File{slave, slave, slave}
	if script != nil {
		defer script.Close()
		files = append(files, script)
	}
	t := &term{master: master, name: name, cols: cols, rows: rows}
	t.emu = t.newEmulator(cols, rows)
	p.term = t
	p.started = time.Now().UTC()
	sp, err := m.sandbox().Spawn(ctx, isolation.Spec{
		Path:  "/bin/bash",
		Args:  args,
		Env:   env,
		Dir:   cwd,
		Files: files,
		Tag:   p.tag,
		// Without job cgroups, what the command double-forks stays
		// below its root while the root lives (kill.go).
		Subreaper: true,
		TTY:       true,
	})
	if err != nil {
		return err
	}
	p.sp, p.pid, p.stdin = sp, sp.Pid, master
	var readers sync.WaitGroup
	readers.Add(1)
	go m.readTTY(p, &readers)
	go m.answer(t, t.emu)
	go m.wait(p, []*os.File{master}, &readers)
	return nil
}

// pollable moves a received fd into Go's poller (non-blocking), so reads
// and writes take deadlines.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("terminal master: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("terminal master: %w", err)
	}
	return os.NewFile(uintptr(fd), "ptmx"), nil
}

func (t *term) newEmulator(cols, rows int) *vt.Emulator {
	e := vt.NewEmulator(cols, rows)
	e.SetScrollbackSize(scrollbackMax)
	// Callbacks run inside e.Write, under t.mu.
	e.SetCallbacks(vt.Callbacks{
		Title:       func(s string) { t.title = truncate(s, 256) },
		EnableMode:  func(md ansi.Mode) { t.setMode(md, true) },
		DisableMode: func(md ansi.Mode) { t.setMode(md, false) },
	})
	return e
}

func (t *term) setMode(md ansi.Mode, on bool) {
	if md == ansi.ModeCursorKeys {
		t.appCursor = on
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// readTTY copies the master into the emulator and the stdout log until EIO
// (every slave closed) or the drain deadline set by the waiter.
func (m *Manager) readTTY(p *proc, readers *sync.WaitGroup) {
	defer m.wg.Done()
	defer readers.Done()
	t := p.term
	buf := make([]byte, readChunk)
	for {
		n, err := t.master.Read(buf)
		if n > 0 {
			// Screen first: whoever the log wakes sees a screen at least as new.
			t.mu.Lock()
			t.emu.Write(buf[:n])
			t.mu.Unlock()
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.changed()
			p.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// answer writes the emulator's replies to the master until the waiter
// closes the pipe. A write the terminal cannot take at once is dropped.
//
// The emulator is never Closed (Close races with Read); finish closes its
// pipe instead, which io.Pipe allows from any goroutine.
func (m *Manager) answer(t *term, e *vt.Emulator) {
	defer m.wg.Done()
	buf := make([]byte, 1024)
	for {
		n, err := e.Read(buf)
		if n > 0 {
			if rc, cerr := t.master.SyscallConn(); cerr == nil {
				rc.Write(func(fd uintptr) bool { unix.Write(int(fd), buf[:n]); return true })
			}
		}
		if err != nil {
			return
		}
	}
}

// finish keeps the final screen and drops the emulator; the waiter calls
// it once the reader is done.
func (t *term) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.emu == nil {
		return
	}
	s := t.snapshotLocked(scrollbackMax)
	t.final = &s
	t.emu.InputPipe().(*io.PipeWriter).CloseWithError(io.EOF)
	t.emu = nil
}

// snapshotLocked renders the screen and the last n scrollback lines.
func (t *term) snapshotLocked(n int) Screen {
	if t.emu == nil {
		s := *t.final
		if k := len(s.Scrollback); n < k {
			s.Scrollback = s.Scrollback[k-n:]
		}
		if n == 0 {
			s.Scrollback = nil
		}
		return s
	}
	e := t.emu
	w, h := e.Width(), e.Height()
	s := Screen{Cols: w, Rows: h, Title: t.title, AltScreen: e.IsAltScreen(), CursorVisible: !e.CursorHidden()}
	pos := e.CursorPosition()
	s.CursorCol, s.CursorRow = pos.X, pos.Y
	s.Lines = make([]string, 0, h)
	var b strings.Builder
	last := 0
	for y := range h {
		b.Reset()
		for x := 0; x < w; x++ {
			c := e.CellAt(x, y)
			switch {
			case c == nil:
				b.WriteByte(' ')
			case c.IsZero(): // the second column of a wide character
			case c.Content == "":
				b.WriteByte(' ')
			default:
				b.WriteString(c.Content)
			}
		}
		line := strings.TrimRight(b.String(), " ")
		if line != "" {
			last = y + 1
		}
		s.Lines = append(s.Lines, line)
	}
	s.Lines = s.Lines[:last]
	if sb := e.Scrollback(); sb != nil && n > 0 {
		k := sb.Len()
		for i := max(0, k-n); i < k; i++ {
			s.Scrollback = append(s.Scrollback, strings.TrimRight(sb.Line(i).String(), " "))
		}
	}
	return s
}

func (m *Manager) getTTY(id string) (*proc, error) {
	p, err := m.get(id)
	if err != nil {
		return nil, err
	}
	if p.term == nil {
		return nil, fmt.Errorf("process %q was not started with tty: true; it has no screen (get_process_logs shows its output)", id)
	}
	return p, nil
}

// Screen returns the rendered screen of a tty process with the last
// scrollback lines of its scrollback (0: none).
func (m *Manager) Screen(id string, scrollback int) (Screen, error) {
	p, err := m.getTTY(id)
	if err != nil {
		return Screen{}, err
	}
	if scrollback < 0 || scrollback > scrollbackMax {
		return Screen{}, fmt.Errorf("scrollback %d: use 0-%d lines", scrollback, scrollbackMax)
	}
	p.term.mu.Lock()
	defer p.term.mu.Unlock()
	return p.term.snapshotLocked(scrollback), nil
}

// Resize sets a tty process's window size; the kernel sends SIGWINCH to
// its foreground process group.
func (m *Manager) Resize(id string, cols, rows int) (Screen, error) {
	p, err := m.getTTY(id)
	if err != nil {
		return Screen{}, err
	}
	if err := checkSize(cols, rows); err != nil {
		return Screen{}, err
	}
	t := p.term
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.emu == nil {
		return Screen{}, fmt.Errorf("process %q has exited (%s); its terminal is gone: %w", id, p.info().Status, ErrExited)
	}
	rc, err := t.master.SyscallConn()
	if err != nil {
		return Screen{}, fmt.Errorf("resize: %w", err)
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)})
	}); err != nil {
		return Screen{}, fmt.Errorf("resize: %w", err)
	}
	if ierr != nil {
		return Screen{}, fmt.Errorf("resize: %w", ierr)
	}
	t.emu.Resize(cols, rows)
	t.cols, t.rows = cols, rows
	return t.snapshotLocked(0), nil
}
