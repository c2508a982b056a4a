package e2e

// End-to-end tests of terminal processes (start_process tty: true,
// write_process_stdin keys/until, get_process_screen, resize_process)
// through the real binary and the official Go SDK client. Every wait is an
// until or a quiet period of the server, never a sleep here.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type ttyScreen struct {
	Lines      []string `json:"lines"`
	CursorRow  int      `json:"cursor_row"`
	CursorCol  int      `json:"cursor_col"`
	Cols       int      `json:"cols"`
	Rows       int      `json:"rows"`
	Title      string   `json:"title"`
	AltScreen  bool     `json:"alt_screen"`
	Scrollback []string `json:"scrollback"`
}

func (s ttyScreen) text() string { return strings.Join(s.Lines, "\n") }

type ttyWrite struct {
	Output      string     `json:"output"`
	Matched     *bool      `json:"matched"`
	MatchedText string     `json:"matched_text"`
	Status      string     `json:"status"`
	Exited      bool       `json:"exited"`
	Screen      *ttyScreen `json:"screen"`
}

func startTTY(t *testing.T, cs *mcp.ClientSession, command string, extra map[string]any) string {
	t.Helper()
	args := map[string]any{"command": command, "tty": true}
	for k, v := range extra {
		args[k] = v
	}
	var r struct {
		ID     string `json:"id"`
		TTY    string `json:"tty"`
		Status string `json:"status"`
		Note   string `json:"note"`
	}
	Structured(t, CallOK(t, cs, "start_process", args), &r)
	if !strings.HasPrefix(r.TTY, "/dev/pts/") || r.Status != "running" || !strings.Contains(r.Note, "one stream") {
		t.Fatalf("start_process tty = %+v", r)
	}
	return r.ID
}

// send writes data and keys and waits for until (which must match).
func send(t *testing.T, cs *mcp.ClientSession, id, data string, keys []string, until string) ttyWrite {
	t.Helper()
	args := map[string]any{"id": id}
	if data != "" {
		args["data"] = data
	}
	if len(keys) > 0 {
		args["keys"] = keys
	}
	if until != "" {
		args["until"] = until
		args["wait_ms"] = 20000
	}
	var w ttyWrite
	Structured(t, CallOK(t, cs, "write_process_stdin", args), &w)
	if until != "" && (w.Matched == nil || !*w.Matched) {
		t.Fatalf("write_process_stdin(%q, %v): until %q did not match; output %q; screen:\n%s", data, keys, until, w.Output, screenText(w.Screen))
	}
	return w
}

func screenText(s *ttyScreen) string {
	if s == nil {
		return "(none)"
	}
	return s.text()
}

func getScreen(t *testing.T, cs *mcp.ClientSession, id string, extra map[string]any) ttyScreen {
	t.Helper()
	args := map[string]any{"id": id}
	for k, v := range extra {
		args[k] = v
	}
	var s ttyScreen
	Structured(t, CallOK(t, cs, "get_process_screen", args), &s)
	return s
}

func TestTTYPythonREPL(t *testing.T) {
	cs := Connect(t)
	id := startTTY(t, cs, "exec python3 -q", nil)
	send(t, cs, id, "", nil, `>>> $`)
	w := send(t, cs, id, "1+1", []string{"enter"}, `(?m)^2\n>>> `)
	if !strings.Contains(w.Output, "1+1") { // the echo
		t.Errorf("output %q lacks the echoed input", w.Output)
	}
	send(t, cs, id, "import time; time.sleep(60)", []string{"enter"}, `time\.sleep\(60\)\n`)
	w = send(t, cs, id, "", []string{"ctrl-c"}, `KeyboardInterrupt\n>>> `)
	if w.Screen == nil || !strings.Contains(w.Screen.text(), "KeyboardInterrupt") {
		t.Errorf("screen after ctrl-c:\n%s", screenText(w.Screen))
	}
	send(t, cs, id, "exit()", []string{"enter"}, "")
	var done struct {
		Status   string `json:"status"`
		ExitCode *int   `json:"exit_code"`
	}
	Structured(t, CallOK(t, cs, "wait_for_process", map[string]any{"id": id, "exit": true, "timeout_ms": 20000}), &done)
	if done.ExitCode == nil || *done.ExitCode != 0 {
		t.Errorf("python after exit(): %+v", done)
	}
}

func TestTTYPrompts(t *testing.T) {
	cs := Connect(t)
	id := startTTY(t, cs, `read -p "name? " n; echo "hi $n"; read -s -p "password? " p; echo; echo "got ${#p} chars"; sleep 600`, nil)
	send(t, cs, id, "", nil, `name\? $`)
	send(t, cs, id, "bob", []string{"enter"}, `hi bob`)
	send(t, cs, id, "", nil, `password\?`)
	w := send(t, cs, id, "s3cret", []string{"enter"}, `got 6 chars`)
	if strings.Contains(w.Output, "s3cret") || strings.Contains(w.Screen.text(), "s3cret") {
		t.Errorf("read -s echoed the password: output %q", w.Output)
	}
	// Keys edit the line: backspace and cursor movement reach the line discipline / readline.
	CallOK(t, cs, "kill_process", map[string]any{"id": id, "signal": "SIGKILL"})
}

func TestTTYLineEditingKeys(t *testing.T) {
	cs := Connect(t)
	// bash with readline: left and backspace edit the line before enter.
	id := startTTY(t, cs, `PS1='$ ' exec bash --norc -i`, nil)
	send(t, cs, id, "", nil, `\$ $`)
	send(t, cs, id, "echo abXc", []string{"left", "backspace", "end", "enter"}, `(?m)^abc$`)
	send(t, cs, id, "", []string{"up", "enter"}, `echo abc\n(?m:^abc$)`)
	send(t, cs, id, "exit", []string{"enter"}, "")
}

func editor(t *testing.T, cs *mcp.ClientSession) string {
	t.Helper()
	for _, e := range []string{"vim", "vi"} {
		var r struct {
			ExitCode int `json:"exit_code"`
		}
		Structured(t, CallOK(t, cs, "exec", map[string]any{"command": "command -v " + e}), &r)
		if r.ExitCode == 0 {
			return e
		}
	}
	t.Fatal("neither vim nor vi in the sandbox (.ci/run installs vim-tiny)")
	return ""
}

func TestTTYVim(t *testing.T) {
	dir := t.TempDir() // the host reads the file: bound in with --rw
	cs := Connect(t, "--rw", dir)
	path := filepath.Join(dir, "note.txt")
	id := startTTY(t, cs, editor(t, cs)+" -u NONE -i NONE -n "+path, map[string]any{"cwd": dir})
	send(t, cs, id, "", nil, `note\.txt`)
	send(t, cs, id, "ihello from the model", nil, `hello from the model`)
	s := getScreen(t, cs, id, nil)
	if !s.AltScreen || len(s.Lines) == 0 || !strings.HasPrefix(s.Lines[0], "hello from the model") {
		t.Fatalf("vim screen: alt=%v\n%s", s.AltScreen, s.text())
	}
	if s.CursorRow != 0 || s.CursorCol != len("hello from the model") {
		t.Errorf("cursor at %d,%d, want 0,%d", s.CursorRow, s.CursorCol, len("hello from the model"))
	}
	send(t, cs, id, "", []string{"esc"}, "")
	send(t, cs, id, ":wq", []string{"enter"}, "")
	CallOK(t, cs, "wait_for_process", map[string]any{"id": id, "exit": true, "timeout_ms": 20000})
	b, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(b)) != "hello from the model" {
		t.Fatalf("file after :wq = %q, %v", b, err)
	}
	if s := getScreen(t, cs, id, nil); s.AltScreen {
		t.Errorf("alternate screen still active after vim exited")
	}
}

func TestTTYTopAndResize(t *testing.T) {
	cs := Connect(t)
	top := startTTY(t, cs, "exec top -d 1", nil)
	w := send(t, cs, top, "", nil, `PID\s+USER`)
	lines := w.Screen.Lines
	if len(lines) < 5 || !strings.HasPrefix(lines[0], "top - ") || !strings.Contains(lines[0], "load average") {
		t.Fatalf("top screen:\n%s", w.Screen.text())
	}
	send(t, cs, top, "q", nil, "")
	CallOK(t, cs, "wait_for_process", map[string]any{"id": top, "exit": true, "timeout_ms": 20000})

	id := startTTY(t, cs, `trap 'echo WINCH' WINCH; while :; do read l; echo "size=$(tput cols)x$(tput lines)"; done`, nil)
	send(t, cs, id, "", []string{"enter"}, `size=120x40`)
	var r ttyScreen
	Structured(t, CallOK(t, cs, "resize_process", map[string]any{"id": id, "cols": 80, "rows": 24}), &r)
	if r.Cols != 80 || r.Rows != 24 {
		t.Errorf("resize_process screen size %dx%d", r.Cols, r.Rows)
	}
	// The kernel sent SIGWINCH during the ioctl; bash runs the trap once read returns.
	send(t, cs, id, "", []string{"enter"}, `WINCH\n(.|\n)*size=80x24`)
	if s := getScreen(t, cs, id, nil); s.Cols != 80 || s.Rows != 24 {
		t.Errorf("screen after resize: %dx%d", s.Cols, s.Rows)
	}
	for _, bad := range []map[string]any{{"id": id, "cols": 1, "rows": 24}, {"id": id, "cols": 80, "rows": 100000}} {
		if res := Call(t, cs, "resize_process", bad); !res.IsError {
			t.Errorf("resize_process(%v) accepted", bad)
		}
	}
}

func TestTTYScreenAndScrollback(t *testing.T) {
	cs := Connect(t)
	// 60 numbered lines on a 40-row screen, a title, a wide character, then wait.
	id := startTTY(t, cs, `printf '\033]0;my title\007'; for i in $(seq 1 60); do echo "line $i"; done; echo "wide 漢字 end"; exec sleep 600`, map[string]any{"cols": 50, "rows": 10})
	send(t, cs, id, "", nil, `wide 漢字 end`)
	s := getScreen(t, cs, id, map[string]any{"scrollback": 5})
	if s.Title != "my title" || s.Cols != 50 || s.Rows != 10 {
		t.Errorf("title %q size %dx%d", s.Title, s.Cols, s.Rows)
	}
	if len(s.Lines) != 9 || s.Lines[8] != "wide 漢字 end" || s.Lines[0] != "line 53" {
		t.Errorf("screen lines %q", s.Lines)
	}
	if len(s.Scrollback) != 5 || s.Scrollback[4] != "line 52" {
		t.Errorf("scrollback %q", s.Scrollback)
	}
	if s.CursorRow != 9 || s.CursorCol != 0 {
		t.Errorf("cursor %d,%d", s.CursorRow, s.CursorCol)
	}
	// The raw log keeps the escape sequences.
	var logs procLogs
	Structured(t, CallOK(t, cs, "get_process_logs", map[string]any{"id": id}), &logs)
	if !strings.Contains(logs.Stdout, "\x1b]0;my title\x07") || !strings.Contains(logs.Stdout, "line 1\r\n") {
		t.Errorf("raw log lacks the title sequence or CRLF: %q", logs.Stdout[:min(80, len(logs.Stdout))])
	}
	if res := Call(t, cs, "get_process_screen", map[string]any{"id": id, "scrollback": 5000}); !res.IsError {
		t.Errorf("scrollback 5000 accepted")
	}
	CallOK(t, cs, "kill_process", map[string]any{"id": id})
	// After exit the last screen stays readable.
	if s := getScreen(t, cs, id, nil); len(s.Lines) == 0 || s.Lines[len(s.Lines)-1] != "wide 漢字 end" {
		t.Errorf("screen after exit: %q", s.Lines)
	}
	// A process without a terminal has no screen.
	p := startProc(t, cs, map[string]any{"command": "sleep 600"})
	if res := Call(t, cs, "get_process_screen", map[string]any{"id": p.ID}); !res.IsError || !strings.Contains(Text(res), "tty: true") {
		t.Errorf("get_process_screen on a pipe process: %s", Text(res))
	}
	if res := Call(t, cs, "write_process_stdin", map[string]any{"id": p.ID, "keys": []string{"ctrl-q", "hyper-x"}}); !res.IsError || !strings.Contains(Text(res), "unknown key") {
		t.Errorf("unknown key: %s", Text(res))
	}
}

func TestTTYIsolation(t *testing.T) {
	cs := Connect(t)
	var info struct {
		Level string `json:"level"`
		PTY   string `json:"pty"`
	}
	Structured(t, CallOK(t, cs, "sandbox_info", nil), &info)
	want := "sandbox"
	if info.Level == "none" {
		want = "host"
	}
	if info.PTY != want {
		t.Errorf("sandbox_info pty = %q at level %s, want %q", info.PTY, info.Level, want)
	}
	var host syscall.Stat_t
	if err := syscall.Stat("/dev/pts", &host); err != nil {
		t.Fatal(err)
	}
	id := startTTY(t, cs, `tty; stat -c 'dev %d' /dev/pts "$(tty)"; echo "ls: $(ls /dev/pts | tr '\n' ' ')"; python3 -c '
import fcntl, termios
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"x"); print("TIOCSTI allowed")
except OSError as e:
    print("TIOCSTI errno", e.errno)'; echo DONE; exec sleep 600`, nil)
	w := send(t, cs, id, "", nil, `DONE`)
	out := strings.Split(w.Output, "\n")
	if len(out) < 5 {
		t.Fatalf("output %q", w.Output)
	}
	name := out[0]
	if !strings.HasPrefix(name, "/dev/pts/") || out[1] != out[2] {
		t.Errorf("tty %q on dev %q, /dev/pts is %q", name, out[2], out[1])
	}
	if info.Level != "none" && out[1] == "dev "+strconv.FormatUint(host.Dev, 10) {
		t.Errorf("the sandbox's /dev/pts is the host's devpts (%s)", out[1])
	}
	if info.Level != "none" && out[3] != "ls: "+strings.TrimPrefix(name, "/dev/pts/")+" ptmx " {
		t.Errorf("sandbox /dev/pts shows more than its one terminal: %q", out[3])
	}
	if out[4] != "TIOCSTI errno 1" {
		t.Errorf("TIOCSTI: %q", out[4])
	}
	// exec stays non-interactive: no terminal, and a tty read fails fast.
	var r struct {
		Stdout   string `json:"stdout"`
		ExitCode int    `json:"exit_code"`
	}
	Structured(t, CallOK(t, cs, "exec", map[string]any{"command": "tty; read x < /dev/tty; echo rc=$?"}), &r)
	if !strings.Contains(r.Stdout, "not a tty") || !strings.Contains(r.Stdout, "rc=1") {
		t.Errorf("exec: %+v", r)
	}
}

// connectPid is Connect that also returns the server's pid.
func connectPid(t *testing.T) (*mcp.ClientSession, int) {
	t.Helper()
	cmd := exec.Command(Build(t), withWorkdir(t, nil)...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "sbx-mcp-e2e", Version: "0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		if err := cs.Close(); err != nil {
			t.Errorf("close session: %v", err)
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	})
	return cs, cmd.Process.Pid
}

// masterFds counts the server's descriptors of terminal masters (ptmx). It
// needs root: the server is non-dumpable, so /proc/PID/fd is closed to its
// own uid.
func masterFds(t *testing.T, pid int) int {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasSuffix(l, "ptmx") {
			n++
		}
	}
	return n
}

func TestTTYKillAllLeavesNothing(t *testing.T) {
	cs, pid := connectPid(t)
	root := os.Geteuid() == 0
	if !root {
		// Non-dumpable: not even its own uid may look at its descriptors.
		// The server is from its first step; at level userns it is
		// dumpable for the length of init's clone (to write its uid_map),
		// so the check waits for the sandbox (a tools/call does).
		CallOK(t, cs, "sandbox_info", nil)
		if _, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd"); !errors.Is(err, os.ErrPermission) {
			t.Fatalf("the server's /proc/PID/fd is readable by its uid: %v", err)
		}
		t.Log("not root: master descriptors cannot be counted; checking processes only")
	}
	const n = 20
	for i := range n {
		// Each one also starts a child, so a tree is killed.
		startTTY(t, cs, `sleep 600 & exec -a sbxtty`+strconv.Itoa(i)+` sleep 600`, nil)
	}
	// count waits (at most 10 s) inside the sandbox until want processes of
	// the trees exist (the children start after start_process returns, and
	// SIGKILLed ones take a moment to go), then prints how many there are.
	count := func(want int) string {
		var r struct {
			Stdout string `json:"stdout"`
		}
		Structured(t, CallOK(t, cs, "exec", map[string]any{"command": fmt.Sprintf(
			`for i in $(seq 200); do n=$(pgrep -c -f '^(sleep 600|sbxtty)'); [ "$n" = %d ] && break; sleep 0.05; done; echo $n`, want)}), &r)
		return strings.TrimSpace(r.Stdout)
	}
	if got := count(2 * n); got != strconv.Itoa(2*n) {
		t.Fatalf("%s sleep processes running, want %d", got, 2*n)
	}
	if root {
		if got := masterFds(t, pid); got != n {
			t.Fatalf("%d master fds with %d tty processes", got, n)
		}
	}
	CallOK(t, cs, "kill_all_processes", nil)
	var list struct {
		Processes []procInfo `json:"processes"`
	}
	Structured(t, CallOK(t, cs, "list_processes", map[string]any{"status": "running"}), &list)
	if len(list.Processes) != 0 {
		t.Errorf("still running after kill_all_processes: %+v", list.Processes)
	}
	if got := count(0); got != "0" {
		t.Errorf("%s sleep processes left after kill_all_processes", got)
	}
	if root {
		if got := masterFds(t, pid); got != 0 {
			t.Errorf("%d master fds left in the server after kill_all_processes", got)
		}
	}
}

// At level none the terminal comes from the host's /dev/ptmx, and
// sandbox_info says so.
func TestTTYLevelNone(t *testing.T) {
	cs := Connect(t, "--isolation", "off")
	var info struct {
		Level string `json:"level"`
		PTY   string `json:"pty"`
	}
	Structured(t, CallOK(t, cs, "sandbox_info", nil), &info)
	if info.Level != "none" || info.PTY != "host" {
		t.Fatalf("sandbox_info level %q pty %q, want none and host", info.Level, info.PTY)
	}
	id := startTTY(t, cs, `tty; read -p "name? " n; echo "hi $n"`, nil)
	send(t, cs, id, "", nil, `name\? `)
	send(t, cs, id, "bob", []string{"enter"}, `hi bob`)
	if s := getScreen(t, cs, id, nil); len(s.Lines) != 3 || !strings.HasPrefix(s.Lines[0], "/dev/pts/") || s.Lines[2] != "hi bob" {
		t.Errorf("screen at level none: %q", s.Lines)
	}
}
