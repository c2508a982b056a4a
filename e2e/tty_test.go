package e2e

// End-to-end tests of terminal processes (start_process tty: true,
// write_process_stdin keys/until, get_process_screen, resize_process)
// through the real binary and the official Go SDK client. Every wait is an
// until or a quiet period of the server, never a sleep here.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	send(t, cs, id, "", []string{"up", "enter"}, `(?m)^abc\n(.|\n)*^abc$`)
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
