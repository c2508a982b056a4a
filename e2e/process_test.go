package e2e

// End-to-end tests of the background-process tools through the real binary
// and the official Go SDK client.

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// procInfo is the record get_process and kill_process return.
type procInfo struct {
	ID          string `json:"id"`
	Pid         int    `json:"pid"`
	Status      string `json:"status"`
	ExitCode    *int   `json:"exit_code"`
	Signal      string `json:"signal"`
	StartedAt   string `json:"started_at"`
	EndedAt     string `json:"ended_at"`
	Session     string `json:"session"`
	StdoutBytes int64  `json:"stdout_bytes"`
}

type procLogs struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	Stdout          string `json:"stdout"`
	StdoutEncoding  string `json:"stdout_encoding"`
	StdoutOffset    int64  `json:"stdout_offset"`
	StdoutStart     int64  `json:"stdout_start"`
	StdoutSkipped   int64  `json:"stdout_skipped"`
	StdoutBytes     int64  `json:"stdout_bytes"`
	StdoutTruncated bool   `json:"stdout_truncated"`
	Stderr          string `json:"stderr"`
	StderrEncoding  string `json:"stderr_encoding"`
	StderrOffset    int64  `json:"stderr_offset"`
}

func startProc(t *testing.T, cs *mcp.ClientSession, args map[string]any) procInfo {
	t.Helper()
	var p procInfo
	Structured(t, CallOK(t, cs, "start_process", args), &p)
	// A fast command may be over by the time the result is built: completed
	// and failed are as legitimate as running there.
	if p.ID == "" || p.Pid <= 0 || p.StartedAt == "" ||
		(p.Status != "running" && p.Status != "completed" && p.Status != "failed") {
		t.Fatalf("start_process(%v) = %+v", args, p)
	}
	return p
}

func waitExit(t *testing.T, cs *mcp.ClientSession, id string) procInfo {
	t.Helper()
	CallOK(t, cs, "wait_for_process", map[string]any{"id": id, "exit": true, "timeout_ms": 60000})
	var p procInfo
	Structured(t, CallOK(t, cs, "get_process", map[string]any{"id": id}), &p)
	return p
}

func logs(t *testing.T, cs *mcp.ClientSession, args map[string]any) procLogs {
	t.Helper()
	var l procLogs
	Structured(t, CallOK(t, cs, "get_process_logs", args), &l)
	return l
}

// sandboxCount runs a shell pipeline in the sandbox (through exec) that
// prints a number.
func sandboxCount(t *testing.T, cs *mcp.ClientSession, script string) int {
	t.Helper()
	var r struct {
		Stdout   string `json:"stdout"`
		ExitCode int    `json:"exit_code"`
	}
	Structured(t, CallOK(t, cs, "exec", map[string]any{"command": script}), &r)
	n, err := strconv.Atoi(strings.TrimSpace(r.Stdout))
	if err != nil {
		t.Fatalf("%s: output %q", script, r.Stdout)
	}
	return n
}

// countCmdline counts sandbox processes whose command line matches a grep
// regexp (the arguments are joined by spaces, with one after the last; write
// it so that it does not match itself, e.g. '^sleep 30[01] $').
func countCmdline(t *testing.T, cs *mcp.ClientSession, re string) int {
	t.Helper()
	return sandboxCount(t, cs, `for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f" 2>/dev/null; echo; done | grep -c -- '`+re+`' || true`)
}

func TestProcessOutputAfterExit(t *testing.T) {
	cs := Connect(t)
	p := startProc(t, cs, map[string]any{"command": "echo hello; echo oops >&2; exit 3"})
	// Read only after it is long gone: nothing may be lost.
	got := waitExit(t, cs, p.ID)
	if got.Status != "failed" || got.ExitCode == nil || *got.ExitCode != 3 || got.EndedAt == "" {
		t.Fatalf("get_process = %+v, want failed with exit 3", got)
	}
	l := logs(t, cs, map[string]any{"id": p.ID})
	if l.Stdout != "hello\n" || l.Stderr != "oops\n" || l.StdoutOffset != 6 || l.StderrOffset != 5 {
		t.Fatalf("logs = %+v", l)
	}
	// One stream: the other is not read and its offset stays where it was.
	l = logs(t, cs, map[string]any{"id": p.ID, "stream": "stderr", "offset": 2})
	if l.Stderr != "ps\n" || l.StderrOffset != 5 || l.Stdout != "" || l.StdoutOffset != 2 {
		t.Fatalf("logs(stderr, offset 2) = %+v", l)
	}

	// A process that writes a lot and exits at once keeps every byte.
	p = startProc(t, cs, map[string]any{"command": "head -c 300000 /dev/zero | tr '\\0' x"})
	if got := waitExit(t, cs, p.ID); got.Status != "completed" || got.StdoutBytes != 300000 {
		t.Fatalf("get_process = %+v; stderr %q", got, logs(t, cs, map[string]any{"id": p.ID}).Stderr)
	}
	l = logs(t, cs, map[string]any{"id": p.ID, "stream": "stdout", "max_bytes": 1 << 20})
	if l.Stdout != strings.Repeat("x", 300000) {
		t.Fatalf("stdout: %d bytes, want 300000", len(l.Stdout))
	}

	// Bytes that are not UTF-8 come back as base64, unmangled.
	p = startProc(t, cs, map[string]any{"command": `printf 'a\377\376b'`})
	waitExit(t, cs, p.ID)
	l = logs(t, cs, map[string]any{"id": p.ID, "stream": "stdout"})
	if raw, _ := base64.StdEncoding.DecodeString(l.Stdout); l.StdoutEncoding != "base64" || string(raw) != "a\xff\xfeb" {
		t.Fatalf("binary stdout = %q (%s)", l.Stdout, l.StdoutEncoding)
	}

	// tail counts lines.
	p = startProc(t, cs, map[string]any{"command": "seq 1 100"})
	waitExit(t, cs, p.ID)
	if l := logs(t, cs, map[string]any{"id": p.ID, "stream": "stdout", "tail": 3}); l.Stdout != "98\n99\n100\n" {
		t.Fatalf("tail 3 = %q", l.Stdout)
	}
}

func TestProcessStartOptions(t *testing.T) {
	cs := Connect(t)
	CallOK(t, cs, "exec", map[string]any{"command": "mkdir -p sub && cd sub && export FROM_SESSION=yes DROPME=1"})
	p := startProc(t, cs, map[string]any{
		"command": `echo "$PWD $FROM_SESSION ${DROPME-unset} $EXTRA"`, "id": "my-proc_1",
		"env": map[string]any{"EXTRA": "x y", "DROPME": nil}, "cwd": "deeper/..",
	})
	if p.ID != "my-proc_1" {
		t.Fatalf("id = %q", p.ID)
	}
	waitExit(t, cs, p.ID)
	l := logs(t, cs, map[string]any{"id": p.ID})
	if !strings.HasSuffix(l.Stdout, "/sub yes unset x y\n") {
		t.Fatalf("stdout = %q", l.Stdout)
	}

	for _, tt := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"start_process", map[string]any{"command": "true", "id": "my-proc_1"}, "already in use"},
		{"start_process", map[string]any{"command": "true", "id": "bad id!"}, "invalid process id"},
		{"start_process", map[string]any{"command": "true", "session": "nope"}, "create_session"},
		{"get_process", map[string]any{"id": "ghost"}, "list_processes"},
		{"kill_process", map[string]any{"id": "ghost"}, `"ghost"`},
		{"get_process_logs", map[string]any{"id": "ghost"}, "list_processes"},
		{"get_process_logs", map[string]any{"id": p.ID, "stream": "both", "offset": 1, "tail": 1}, "not both"},
		{"wait_for_process", map[string]any{"id": p.ID}, "exactly one"},
		{"wait_for_process", map[string]any{"id": p.ID, "exit": true, "pattern": "x"}, "exactly one"},
		{"wait_for_process", map[string]any{"id": p.ID, "pattern": "("}, "regular expression"},
		{"kill_process", map[string]any{"id": p.ID, "signal": "SIGNOPE"}, "unknown signal"},
		{"write_process_stdin", map[string]any{"id": p.ID, "data": "x"}, "exited"},
	} {
		res := Call(t, cs, tt.tool, tt.args)
		if !res.IsError || !strings.Contains(Text(res), tt.want) {
			t.Errorf("%s(%v) = isError %v %q, want an error containing %q", tt.tool, tt.args, res.IsError, Text(res), tt.want)
		}
	}

	var list struct {
		Processes []procInfo `json:"processes"`
	}
	Structured(t, CallOK(t, cs, "list_processes", map[string]any{"status": "completed"}), &list)
	if len(list.Processes) != 1 || list.Processes[0].ID != "my-proc_1" {
		t.Fatalf("list_processes(completed) = %+v", list.Processes)
	}
}

func TestProcessKillTree(t *testing.T) {
	cs := Connect(t)
	p := startProc(t, cs, map[string]any{"command": "sleep 300 & sleep 301 & echo ready; wait"})
	CallOK(t, cs, "wait_for_process", map[string]any{"id": p.ID, "pattern": "^ready$"})
	if n := countCmdline(t, cs, "^sleep 30[01] $"); n != 2 {
		t.Fatalf("%d sleeps running before the kill, want 2", n)
	}
	var got procInfo
	Structured(t, CallOK(t, cs, "kill_process", map[string]any{"id": p.ID}), &got)
	if got.Status != "killed" || got.EndedAt == "" {
		t.Fatalf("kill_process = %+v", got)
	}
	if n := countCmdline(t, cs, "^sleep 30[01] $"); n != 0 {
		t.Fatalf("%d sleeps survive kill_process", n)
	}
}

func TestProcessKillAfterGrace(t *testing.T) {
	cs := Connect(t)
	p := startProc(t, cs, map[string]any{"command": "trap 'echo got TERM' TERM; echo ready; while :; do sleep 0.1; done"})
	CallOK(t, cs, "wait_for_process", map[string]any{"id": p.ID, "pattern": "ready"})
	var got procInfo
	Structured(t, CallOK(t, cs, "kill_process", map[string]any{"id": p.ID, "signal": "TERM", "grace_ms": 500}), &got)
	if got.Status != "killed" || got.Signal != "SIGKILL" {
		t.Fatalf("kill_process = %+v, want killed by SIGKILL", got)
	}
	if l := logs(t, cs, map[string]any{"id": p.ID}); !strings.Contains(l.Stdout, "got TERM") {
		t.Fatalf("the trap did not see SIGTERM first: %q", l.Stdout)
	}
	// Killing it again is harmless.
	CallOK(t, cs, "kill_process", map[string]any{"id": p.ID})
}

// fileSize returns the size of a file in the workdir via exec.
func fileSize(t *testing.T, cs *mcp.ClientSession, name string) int {
	t.Helper()
	return sandboxCount(t, cs, "stat -c %s "+name+" 2>/dev/null || echo 0")
}

func TestProcessSetsidDaemonStops(t *testing.T) {
	for _, how := range []string{"delete_session", "kill_all_processes", "kill_process"} {
		t.Run(how, func(t *testing.T) {
			cs := Connect(t)
			CallOK(t, cs, "create_session", map[string]any{"id": "bg"})
			// setsid forks (the root is a session leader) and the root exits
			// at once; the loop lives on in a session of its own.
			p := startProc(t, cs, map[string]any{"session": "bg", "command": "setsid sh -c 'while :; do date >> f; sleep .2; done'"})
			waitExit(t, cs, p.ID)
			for i := 0; fileSize(t, cs, "f") == 0; i++ {
				if i > 100 {
					t.Fatal("the daemon never wrote f")
				}
				time.Sleep(50 * time.Millisecond)
			}
			switch how {
			case "delete_session":
				CallOK(t, cs, "delete_session", map[string]any{"id": "bg"})
			case "kill_all_processes":
				CallOK(t, cs, "kill_all_processes", map[string]any{"session": "bg"})
			case "kill_process":
				CallOK(t, cs, "kill_process", map[string]any{"id": p.ID})
			}
			a := fileSize(t, cs, "f")
			time.Sleep(time.Second) // five loop turns
			if b := fileSize(t, cs, "f"); b != a {
				t.Fatalf("f still grows after %s: %d -> %d bytes", how, a, b)
			}
		})
	}
}

func TestProcessWait(t *testing.T) {
	cs := Connect(t)

	p := startProc(t, cs, map[string]any{"command": "echo starting; sleep 0.5; echo 'server READY on 8080' >&2; sleep 30"})
	var w struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		Condition   string `json:"condition"`
		MatchedLine string `json:"matched_line"`
		ExitCode    *int   `json:"exit_code"`
		ElapsedMs   int64  `json:"elapsed_ms"`
	}
	Structured(t, CallOK(t, cs, "wait_for_process", map[string]any{"id": p.ID, "pattern": `READY on \d+`}), &w)
	if w.Condition != "pattern" || w.MatchedLine != "server READY on 8080" || w.Status != "running" {
		t.Fatalf("wait pattern = %+v", w)
	}
	// Already-buffered output matches too.
	Structured(t, CallOK(t, cs, "wait_for_process", map[string]any{"id": p.ID, "pattern": "^starting$"}), &w)
	if w.MatchedLine != "starting" {
		t.Fatalf("wait on buffered output = %+v", w)
	}
	// Timeout says what was awaited.
	res := Call(t, cs, "wait_for_process", map[string]any{"id": p.ID, "pattern": "never printed", "timeout_ms": 300})
	if !res.IsError || !strings.Contains(Text(res), "timed out") || !strings.Contains(Text(res), "never printed") {
		t.Fatalf("wait timeout = %v %q", res.IsError, Text(res))
	}
	CallOK(t, cs, "kill_process", map[string]any{"id": p.ID, "grace_ms": 0})

	// Exiting first is an error with the code and the last lines.
	p = startProc(t, cs, map[string]any{"command": "echo last words; exit 7"})
	res = Call(t, cs, "wait_for_process", map[string]any{"id": p.ID, "pattern": "never"})
	if !res.IsError || !strings.Contains(Text(res), "code 7") || !strings.Contains(Text(res), "last words") {
		t.Fatalf("wait on exited = %v %q", res.IsError, Text(res))
	}
	Structured(t, CallOK(t, cs, "wait_for_process", map[string]any{"id": p.ID, "exit": true}), &w)
	if w.Condition != "exit" || w.ExitCode == nil || *w.ExitCode != 7 || w.Status != "failed" {
		t.Fatalf("wait exit = %+v", w)
	}

	// A real server: wait until its port accepts connections in the sandbox.
	port := freePort(t)
	p = startProc(t, cs, map[string]any{"command": fmt.Sprintf("exec /usr/bin/python3 -m http.server %d --bind 127.0.0.1", port)})
	Structured(t, CallOK(t, cs, "wait_for_process", map[string]any{"id": p.ID, "port": port, "timeout_ms": 20000}), &w)
	if w.Condition != "port" || w.Status != "running" {
		t.Fatalf("wait port = %+v", w)
	}
	var r struct {
		Stdout string `json:"stdout"`
	}
	Structured(t, CallOK(t, cs, "exec", map[string]any{"command": fmt.Sprintf(`/usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:%d/').status)"`, port)}), &r)
	if strings.TrimSpace(r.Stdout) != "200" {
		t.Fatalf("GET after port wait: %q", r.Stdout)
	}
	CallOK(t, cs, "kill_process", map[string]any{"id": p.ID})
	// A port nothing listens on, from a process that ends: an error.
	p = startProc(t, cs, map[string]any{"command": "sleep 0.3"})
	if res := Call(t, cs, "wait_for_process", map[string]any{"id": p.ID, "port": port}); !res.IsError || !strings.Contains(Text(res), "ended") {
		t.Fatalf("wait port on exiting process = %v %q", res.IsError, Text(res))
	}
}

// freePort returns a TCP port that is free on the host right now (with
// --network host the sandbox shares it; with a network namespace any port is).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestProcessStdin(t *testing.T) {
	cs := Connect(t)
	p := startProc(t, cs, map[string]any{"command": "cat"})
	var w struct {
		BytesWritten int `json:"bytes_written"`
	}
	Structured(t, CallOK(t, cs, "write_process_stdin", map[string]any{"id": p.ID, "data": "hello stdin\n"}), &w)
	if w.BytesWritten != 12 {
		t.Fatalf("bytes_written = %d", w.BytesWritten)
	}
	CallOK(t, cs, "wait_for_process", map[string]any{"id": p.ID, "pattern": "^hello stdin$"})
	CallOK(t, cs, "write_process_stdin", map[string]any{"id": p.ID, "data": "second\n", "close": true})
	if got := waitExit(t, cs, p.ID); got.Status != "completed" {
		t.Fatalf("cat after EOF: %+v", got)
	}
	if l := logs(t, cs, map[string]any{"id": p.ID}); l.Stdout != "hello stdin\nsecond\n" {
		t.Fatalf("stdout = %q", l.Stdout)
	}
	if res := Call(t, cs, "write_process_stdin", map[string]any{"id": p.ID, "data": "late"}); !res.IsError || !strings.Contains(Text(res), "exited") {
		t.Fatalf("write after exit = %v %q", res.IsError, Text(res))
	}
}

// expectedSeq is the output of `seq 1 n`.
func expectedSeq(n int) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestProcessLogPaging(t *testing.T) {
	cs := Connect(t)
	// page reads stdout from 0 with pages of size bytes, checks every page
	// against want at the offsets it claims, and returns what it read.
	page := func(t *testing.T, id string, want []byte, size int) (got []byte, skipped int64) {
		t.Helper()
		off := int64(0)
		for i := 0; ; i++ {
			if i > 1000 {
				t.Fatal("paging does not end")
			}
			l := logs(t, cs, map[string]any{"id": id, "stream": "stdout", "offset": off, "max_bytes": size})
			if l.StdoutStart != off+l.StdoutSkipped || len(l.Stdout) > size {
				t.Fatalf("page at %d: start %d, skipped %d, %d bytes", off, l.StdoutStart, l.StdoutSkipped, len(l.Stdout))
			}
			if !bytes.Equal([]byte(l.Stdout), want[l.StdoutStart:l.StdoutOffset]) {
				t.Fatalf("page at %d: bytes differ from the output at %d-%d", off, l.StdoutStart, l.StdoutOffset)
			}
			got = append(got, l.Stdout...)
			skipped += l.StdoutSkipped
			off = l.StdoutOffset
			if !l.StdoutTruncated {
				if off != int64(len(want)) || l.StdoutBytes != int64(len(want)) {
					t.Fatalf("paging ended at %d of %d (%d produced)", off, len(want), l.StdoutBytes)
				}
				return got, skipped
			}
		}
	}

	t.Run("all kept", func(t *testing.T) {
		want := expectedSeq(100000) // 589 KB: fits the default 1 MiB per stream
		p := startProc(t, cs, map[string]any{"command": "seq 1 100000"})
		waitExit(t, cs, p.ID)
		got, skipped := page(t, p.ID, want, 64<<10)
		if skipped != 0 || !bytes.Equal(got, want) {
			t.Fatalf("reconstructed %d bytes (skipped %d), want %d exactly", len(got), skipped, len(want))
		}
	})
	t.Run("5 MB: head and tail kept, gap reported", func(t *testing.T) {
		want := expectedSeq(800000) // 5.4 MB
		p := startProc(t, cs, map[string]any{"command": "seq 1 800000"})
		waitExit(t, cs, p.ID)
		got, skipped := page(t, p.ID, want, 1<<20)
		if int64(len(got))+skipped != int64(len(want)) || skipped == 0 || len(got) > 1<<20 {
			t.Fatalf("got %d bytes + %d skipped, want %d in all with a gap", len(got), skipped, len(want))
		}
		if !bytes.HasSuffix(got, []byte("\n800000\n")) || !bytes.HasPrefix(got, []byte("1\n2\n")) {
			t.Fatal("head or tail missing")
		}
	})
}

func TestProcessStreamLogs(t *testing.T) {
	cs, log := ConnectProgress(t, nil)
	p := startProc(t, cs, map[string]any{"command": "echo early; sleep 0.3; for i in 1 2 3; do echo line$i; sleep 0.1; done"})
	CallOK(t, cs, "wait_for_process", map[string]any{"id": p.ID, "pattern": "early"})
	params := &mcp.CallToolParams{Name: "stream_process_logs", Arguments: map[string]any{"id": p.ID, "timeout_ms": 30000}}
	params.SetProgressToken("tok-1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := cs.CallTool(ctx, params)
	if err != nil || res.IsError {
		t.Fatalf("stream_process_logs: %v %v", err, res)
	}
	var r struct {
		Status   string `json:"status"`
		TimedOut bool   `json:"timed_out"`
	}
	Structured(t, res, &r)
	if r.Status != "completed" || r.TimedOut {
		t.Fatalf("result = %+v", r)
	}
	progress := log.Values()
	if got := strings.Join(log.Messages(), ""); got != "early\nline1\nline2\nline3\n" {
		t.Fatalf("streamed %q", got)
	}
	if !sort.Float64sAreSorted(progress) {
		t.Fatalf("progress not increasing: %v", progress)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] == progress[i-1] {
			t.Fatalf("progress repeats: %v", progress)
		}
	}

	// A timeout ends the stream, not the process.
	p = startProc(t, cs, map[string]any{"command": "sleep 30"})
	Structured(t, CallOK(t, cs, "stream_process_logs", map[string]any{"id": p.ID, "timeout_ms": 200}), &r)
	if r.Status != "running" || !r.TimedOut {
		t.Fatalf("stream timeout = %+v", r)
	}
}

func TestProcessManyNoZombies(t *testing.T) {
	cs := Connect(t)
	const n = 200
	ids := make([]string, n)
	for i := range ids {
		ids[i] = startProc(t, cs, map[string]any{"command": fmt.Sprintf("echo %d", i)}).ID
	}
	for i, id := range ids {
		if got := waitExit(t, cs, id); got.Status != "completed" {
			t.Fatalf("%s: %+v", id, got)
		}
		if l := logs(t, cs, map[string]any{"id": id}); l.Stdout != fmt.Sprintf("%d\n", i) {
			t.Fatalf("%s: stdout %q", id, l.Stdout)
		}
	}
	zombies := sandboxCount(t, cs, `n=0; for f in /proc/[0-9]*/stat; do s=$(cut -d')' -f2 < "$f" 2>/dev/null | cut -d' ' -f2); [ "$s" = Z ] && n=$((n+1)); done; echo $n`)
	if zombies != 0 {
		t.Fatalf("%d zombies in the sandbox", zombies)
	}
	var list struct {
		Processes []procInfo `json:"processes"`
	}
	Structured(t, CallOK(t, cs, "list_processes", map[string]any{"status": "running"}), &list)
	if len(list.Processes) != 0 {
		t.Fatalf("still running: %+v", list.Processes)
	}
}

// startServer starts the binary itself (for benchmarks that need its pid).
func startServer(b *testing.B, flags ...string) (*mcp.ClientSession, int) {
	b.Helper()
	cmd := exec.Command(Build(b), withWorkdir(b, flags)...)
	cmd.Stderr = os.Stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "sbx-mcp-bench", Version: "0"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close() })
	return cs, cmd.Process.Pid
}

// rssKiB reads VmRSS of pid.
func rssKiB(b *testing.B, pid int) int {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkStartProcess measures start_process until its id is returned
// (reports p50 and p99 besides the mean).
func BenchmarkStartProcess(b *testing.B) {
	cs, _ := startServer(b)
	ctx := context.Background()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "start_process", Arguments: map[string]any{"command": benchCommand}})
		lat = append(lat, time.Since(t0))
		if err != nil || res.IsError {
			b.Fatalf("start_process: %v %v", err, res)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkProcessesRSS starts 256 background processes across 64 sessions
// and reports the server's RSS.
func BenchmarkProcessesRSS(b *testing.B) {
	for b.Loop() {
		cs, pid := startServer(b)
		ctx := context.Background()
		call := func(tool string, args map[string]any) {
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
			if err != nil || res.IsError {
				b.Fatalf("%s: %v %v", tool, err, res)
			}
		}
		for s := 0; s < 64; s++ {
			id := fmt.Sprintf("s%d", s)
			call("create_session", map[string]any{"id": id})
			call("exec", map[string]any{"session": id, "command": "true"})
			for p := 0; p < 4; p++ {
				call("start_process", map[string]any{"session": id, "command": "sleep 600"})
			}
		}
		b.ReportMetric(float64(rssKiB(b, pid))/1024, "rss-MiB")
		call("kill_all_processes", map[string]any{"grace_ms": 0})
		cs.Close()
	}
}

// benchCommand is what BenchmarkStartProcess starts (SBX_BENCH_COMMAND overrides).
var benchCommand = func() string {
	if c := os.Getenv("SBX_BENCH_COMMAND"); c != "" {
		return c
	}
	return "true"
}()

// A log with one invalid byte in 2,000 lines stays text (utf-8-lossy, with
// the count); raw: true gives the exact bytes as base64.
func TestProcessLogsMixedEncoding(t *testing.T) {
	cs := Connect(t)
	p := startProc(t, cs, map[string]any{"command": `seq 1 2000; printf 'caf\351\n'`})
	waitExit(t, cs, p.ID)
	var l struct {
		procLogs
		Replaced int `json:"stdout_replaced_bytes"`
	}
	res := CallOK(t, cs, "get_process_logs", map[string]any{"id": p.ID, "stream": "stdout"})
	Structured(t, res, &l)
	if l.StdoutEncoding != "utf-8-lossy" || l.Replaced != 1 || !strings.HasPrefix(l.Stdout, "1\n2\n") ||
		!strings.HasSuffix(l.Stdout, "2000\ncaf\uFFFD\n") || l.StdoutOffset != l.StdoutBytes {
		t.Fatalf("mixed log: encoding %s, replaced %d, offset %d of %d, tail %q", l.StdoutEncoding, l.Replaced, l.StdoutOffset, l.StdoutBytes, l.Stdout[max(0, len(l.Stdout)-20):])
	}
	if text := Text(res); !strings.Contains(text, "1 invalid UTF-8 bytes shown as U+FFFD") {
		t.Errorf("text block: %.300q", text)
	}
	l.Replaced = 0
	Structured(t, CallOK(t, cs, "get_process_logs", map[string]any{"id": p.ID, "stream": "stdout", "raw": true}), &l)
	if got, _ := base64.StdEncoding.DecodeString(l.Stdout); l.StdoutEncoding != "base64" || !strings.HasSuffix(string(got), "2000\ncaf\xe9\n") || l.Replaced != 0 {
		t.Fatalf("raw: encoding %s, replaced %d", l.StdoutEncoding, l.Replaced)
	}
}
