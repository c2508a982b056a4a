package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sbx-mcp/sbx-mcp/e2e"
)

// TestServerConnectListCall: the Go SDK client connects (at 2026-07-28 it
// probes server/discover and stays modern; forced to 2025-11-25 it uses
// initialize), every tool's schemas are client-safe, and sandbox_info
// answers.
func TestServerConnectListCall(t *testing.T) {
	cs := e2e.Connect(t)
	init := cs.InitializeResult()
	if init.ProtocolVersion != e2e.Protocol() {
		t.Errorf("negotiated %q, want %q", init.ProtocolVersion, e2e.Protocol())
	}
	//lint:ignore SA1019 the server still offers logging (deprecated from 2026-07-28, functional for a year)
	if init.Capabilities.Tools == nil || init.Capabilities.Logging == nil {
		t.Errorf("capabilities = %+v", init.Capabilities)
	}
	if n := len(init.Instructions); n == 0 || n >= 2048 {
		t.Errorf("instructions are %d bytes, want 1..2047", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tool := range list.Tools {
		names[tool.Name] = true
		b, _ := json.Marshal(tool.InputSchema)
		var root map[string]any
		json.Unmarshal(b, &root)
		if root["type"] != "object" {
			t.Errorf("%s: inputSchema root type = %v", tool.Name, root["type"])
		}
		if bytes.Contains(b, []byte(`"$ref"`)) || bytes.Contains(b, []byte(`"$defs"`)) {
			t.Errorf("%s: inputSchema has $ref/$defs", tool.Name)
		}
		if tool.Description == "" || tool.Annotations == nil {
			t.Errorf("%s: no description or annotations", tool.Name)
		}
	}
	if !names["sandbox_info"] {
		t.Fatalf("sandbox_info not listed: %v", names)
	}

	res := e2e.CallOK(t, cs, "sandbox_info", nil)
	var info struct {
		Version string          `json:"version"`
		Level   string          `json:"level"`
		Layers  map[string]bool `json:"layers"`
		Reasons []string        `json:"reasons"`
		Workdir string          `json:"workdir"`
		Kernel  string          `json:"kernel"`
		Limits  struct {
			Pids int `json:"pids"`
		} `json:"limits"`
	}
	e2e.Structured(t, res, &info)
	if info.Version == "" || info.Kernel == "" || info.Workdir == "" {
		t.Errorf("sandbox_info = %+v", info)
	}
	switch info.Level {
	case "full", "userns", "none":
	default:
		t.Errorf("level = %q", info.Level)
	}
	if os.Getenv("SBX_REQUIRE_ISOLATION") == "1" && info.Level != "full" {
		t.Errorf("SBX_REQUIRE_ISOLATION=1 but level = %q: %v", info.Level, info.Reasons)
	}
	if !strings.Contains(e2e.Text(res), "isolation level: "+info.Level) {
		t.Errorf("text block = %q", e2e.Text(res))
	}

	// unknown tool: a protocol error (-32602), and the session survives
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "no_such_tool", Arguments: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), "unknown tool") {
		t.Errorf("unknown tool: err = %v", err)
	}
	// bad arguments: an isError result naming the field
	res = e2e.Call(t, cs, "sandbox_info", map[string]any{"bogus": 1})
	if !res.IsError || !strings.Contains(e2e.Text(res), `"bogus"`) {
		t.Errorf("bad argument: isError=%v %q", res.IsError, e2e.Text(res))
	}
	if e2e.Protocol() < "2026-07-28" { // ping is gone from the stateless revision
		if err := cs.Ping(ctx, nil); err != nil {
			t.Errorf("ping: %v", err)
		}
	}
}

// TestServerToolsetsReadOnly: --toolsets and --read-only filter tools/list.
func TestServerToolsetsReadOnly(t *testing.T) {
	list := func(flags ...string) map[string]bool {
		cs := e2e.Connect(t, flags...)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, tool := range res.Tools {
			m[tool.Name] = true
		}
		return m
	}
	all := list()
	ro := list("--read-only")
	if !ro["sandbox_info"] || len(ro) >= len(all) {
		t.Errorf("--read-only lists %v (all: %d tools)", ro, len(all))
	}
	for _, w := range []string{"exec", "write_file", "run_code", "start_process"} {
		if ro[w] {
			t.Errorf("--read-only still lists %s", w)
		}
	}
	core := list("--toolsets", "core")
	if core["sandbox_info"] || len(core) == 0 || len(core) >= len(all) {
		t.Errorf("--toolsets core lists %v", core)
	}
}

// TestServerProgressAndCancel drives exec_stream with a progress token and
// cancels a long exec: no result comes, the session stays usable and the
// command's process is gone.
func TestServerProgressAndCancel(t *testing.T) {
	cs, log := e2e.ConnectProgress(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), e2e.CallTimeout)
	defer cancel()
	p := &mcp.CallToolParams{Name: "exec_stream", Arguments: map[string]any{"command": "for i in 1 2 3 4 5; do echo line$i; sleep 0.05; done"}}
	p.SetProgressToken("tok-7")
	res, err := cs.CallTool(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError {
		t.Fatalf("exec_stream: %s", e2e.Text(res))
	}
	if out := e2e.Map(t, res)["stdout"]; out != "line1\nline2\nline3\nline4\nline5\n" {
		t.Errorf("stdout = %q", out)
	}
	progress := log.Values()
	var token any
	if notes := log.Notes(); len(notes) > 0 {
		token = notes[len(notes)-1].Params.ProgressToken
	}
	if len(progress) == 0 || token != "tok-7" {
		t.Errorf("progress = %v, token = %v", progress, token)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] <= progress[i-1] {
			t.Errorf("progress not increasing: %v", progress)
		}
	}

	cctx, ccancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(cctx, &mcp.CallToolParams{Name: "exec", Arguments: map[string]any{"command": "sleep 300 && echo never"}})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	ccancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled call returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("cancelled call did not return")
	}
	res = e2e.CallOK(t, cs, "exec", map[string]any{"command": "sleep 0.2; pgrep -x sleep -a | grep 300 || echo gone"})
	if out := e2e.Map(t, res)["stdout"]; out != "gone\n" {
		t.Errorf("after cancel: %q", out)
	}
}

// TestServerRawProtocol: malformed input over a real pipe never kills the
// connection, and stdin EOF ends the process with status 0.
func TestServerRawProtocol(t *testing.T) {
	r := e2e.StartRaw(t)
	r.Send(t, `{"jsonrpc":"2.0","id":1,"method":"server/discover"}`)
	expect(t, r, `"supportedVersions":["2026-07-28","2025-11-25"`)
	r.Send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"sandbox_info"}}`)
	expect(t, r, `"id":2,"error":{"code":-32600`)
	r.Send(t, `garbage`)
	expect(t, r, `{"jsonrpc":"2.0","error":{"code":-32700`)
	init := r.Initialize(t, "2024-11-05")
	if !bytes.Contains(init, []byte(`"protocolVersion":"2024-11-05"`)) {
		t.Errorf("initialize: %s", init)
	}
	r.Send(t, `{"jsonrpc":"2.0","id":-3,"method":"tools/call","params":{"name":"sandbox_info"}}`)
	line := expect(t, r, `"id":-3,"result":{"content":[{"type":"text"`)
	if bytes.Contains(line, []byte("structuredContent")) {
		t.Errorf("structuredContent sent under 2024-11-05: %s", line)
	}
	r.Stdin.Close()
	waitExit(t, r.Cmd, 0)
}

func expect(t *testing.T, r *e2e.Raw, want string) []byte {
	t.Helper()
	line := r.Recv(t, 30*time.Second)
	if !bytes.Contains(line, []byte(want)) {
		t.Fatalf("got %s\nwant it to contain %s", line, want)
	}
	return line
}

// waitExit waits ("does not hang" limit) and checks the exit status.
func waitExit(t *testing.T, cmd *exec.Cmd, code int) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		got := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("server killed by %v", ws.Signal())
			}
			got = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if got != code {
			t.Fatalf("exit status %d, want %d", got, code)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("server did not exit")
	}
}

// TestServerSignals: SIGTERM and SIGINT end the server with status 0 and
// run the cleanups (the sandbox is closed: its processes are gone).
func TestServerSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			logFile := filepath.Join(t.TempDir(), "log")
			r := e2e.StartRaw(t, "--log-level", "debug", "--log-file", logFile)
			r.Initialize(t, "2025-11-25")
			r.Send(t, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"exec","arguments":{"command":"sleep 300"}}}`)
			time.Sleep(300 * time.Millisecond)
			r.Cmd.Process.Signal(sig)
			waitExit(t, r.Cmd, 0)
			b, _ := os.ReadFile(logFile)
			if !bytes.Contains(b, []byte("shut down")) {
				t.Errorf("log lacks the shutdown line:\n%s", b)
			}
		})
	}
}

// TestServerClosedStdout: a client that closes its read end of our stdout
// makes writes fail with EPIPE; the server must not die of SIGPIPE but
// shut down cleanly with status 0.
func TestServerClosedStdout(t *testing.T) {
	bin := e2e.Build(t)
	logFile := filepath.Join(t.TempDir(), "log")
	cmd := exec.Command(bin, "--workdir", t.TempDir(), "--log-level", "debug", "--log-file", logFile)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	pr.Close() // nobody reads the server's stdout any more
	defer stdin.Close()
	stdin.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n"))
	waitExit(t, cmd, 0)
	b, _ := os.ReadFile(logFile)
	if !bytes.Contains(b, []byte("write to client failed")) || !bytes.Contains(b, []byte("shut down")) {
		t.Errorf("log:\n%s", b)
	}
}

// TestServerFlags: --help and --version print to stdout and exit 0; a bad
// value is a clear message on stderr with exit status 2.
func TestServerFlags(t *testing.T) {
	bin := e2e.Build(t)
	out, err := exec.Command(bin, "--help").Output()
	if err != nil || !bytes.Contains(out, []byte("--max-output")) || !bytes.Contains(out, []byte("SBX_MEMORY")) {
		t.Errorf("--help: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "--version").Output()
	if err != nil || !bytes.HasPrefix(out, []byte("sbx-mcp ")) {
		t.Errorf("--version: %v %q", err, out)
	}
	cmd := exec.Command(bin, "--memory", "lots")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), `invalid value "lots" for --memory`) {
		t.Errorf("bad flag: %v\n%s", err, stderr.String())
	}
	cmd = exec.Command(bin)
	cmd.Env = append(os.Environ(), "SBX_TOOLSETS=games")
	cmd.Stderr = &stderr
	stderr.Reset()
	if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "SBX_TOOLSETS") {
		t.Errorf("bad env twin: %v\n%s", err, stderr.String())
	}
}

// TestServerPipedScript: a script pipes requests in and closes stdin at
// once (printf '...' | sbx-mcp). The calls still running at EOF finish and
// answer, then the server exits 0.
func TestServerPipedScript(t *testing.T) {
	r := e2e.StartRaw(t)
	r.Send(t, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"script","version":"0"}}}`+"\n"+
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"+
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec","arguments":{"command":"sleep 1; echo slow-done"}}}`+"\n"+
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo fast-done","session":null}}}`)
	r.Stdin.Close()
	lines := r.Rest(t, 60*time.Second)
	got := map[string]string{}
	for _, l := range lines {
		var m struct {
			ID json.RawMessage `json:"id"`
		}
		json.Unmarshal(l, &m)
		got[string(m.ID)] = string(l)
	}
	if !strings.Contains(got["0"], `"protocolVersion":"2025-06-18"`) ||
		!strings.Contains(got["1"], `slow-done`) || !strings.Contains(got["2"], `fast-done`) {
		t.Fatalf("answers after EOF: %q", lines)
	}
	waitExit(t, r.Cmd, 0)
}

// TestServerExitGrace: a call still running when --exit-grace has passed
// after EOF is cancelled (no answer) and the server exits 0.
func TestServerExitGrace(t *testing.T) {
	r := e2e.StartRaw(t, "--exit-grace", "1s")
	r.Initialize(t, "2025-06-18")
	r.Send(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec","arguments":{"command":"sleep 300"}}}`)
	r.Stdin.Close()
	if lines := r.Rest(t, 60*time.Second); len(lines) != 0 {
		t.Fatalf("lines after EOF: %q", lines)
	}
	waitExit(t, r.Cmd, 0)
}

// TestServerPipelinedCalls: a client writes 2,000 exec calls for one
// session without waiting. They queue (more than the 64 that run at once)
// instead of being refused as "server busy", run in the order they were
// sent (each one counts in the shell: call i prints i), and every one is
// answered with its own output.
func TestServerPipelinedCalls(t *testing.T) {
	r := e2e.StartRaw(t)
	r.Initialize(t, "2025-06-18")
	const n = 2000
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"exec","arguments":{"command":"n=$((n+1)); echo $n"}}}`+"\n", i)
	}
	go io.WriteString(r.Stdin, b.String()) // the server answers while we write
	seen := map[int]bool{}
	for len(seen) < n {
		id, stdout, line := execAnswer(t, r)
		if id < 1 || id > n || seen[id] {
			t.Fatalf("unexpected line %s", line)
		}
		if stdout != fmt.Sprintf("%d\n", id) {
			t.Fatalf("call %d ran as the shell's command %q: %s", id, stdout, line)
		}
		seen[id] = true
	}
}

// execAnswer reads the next line, an exec call's successful answer, and
// returns its id and stdout.
func execAnswer(t *testing.T, r *e2e.Raw) (id int, stdout string, line []byte) {
	t.Helper()
	line = r.Recv(t, 60*time.Second)
	var m struct {
		ID     int `json:"id"`
		Result struct {
			IsError    bool `json:"isError"`
			Structured struct {
				Stdout string `json:"stdout"`
			} `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal(line, &m); err != nil || m.Result.IsError {
		t.Fatalf("unexpected line %s (%v)", line, err)
	}
	return m.ID, m.Result.Structured.Stdout, line
}

// TestServerPipelinedOtherSession: 500 calls queued for one session do not
// hold up a call for another session sent after them. The first of the
// 500 blocks on a FIFO until a later call of session b writes to it, so
// session b's first call is answered while session a's queue cannot
// drain (were b's calls queued behind a's, it would never be answered and
// a would wait forever).
func TestServerPipelinedOtherSession(t *testing.T) {
	r := e2e.StartRaw(t)
	r.Initialize(t, "2025-06-18")
	call := func(id int, session, command string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"exec","arguments":{"session":%q,"command":%q}}}`+"\n", id, session, command)
	}
	r.Send(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_session","arguments":{"id":"b"}}}`)
	r.Send(t, strings.TrimSuffix(call(2, "b", "mkfifo /tmp/pipelined-gate && echo ok"), "\n"))
	for range 2 {
		if m := r.Recv(t, 60*time.Second); bytes.Contains(m, []byte(`"isError":true`)) || bytes.Contains(m, []byte(`"error"`)) {
			t.Fatalf("set-up: %s", m)
		}
	}
	const n = 500
	var b strings.Builder
	b.WriteString(call(1000, "default", "read -r x < /tmp/pipelined-gate; n=1; echo $n"))
	for i := 2; i <= n; i++ {
		b.WriteString(call(1000+i-1, "default", "n=$((n+1)); echo $n"))
	}
	b.WriteString(call(3, "b", "echo b")) // sent after every call of session a
	go io.WriteString(r.Stdin, b.String())
	if id, stdout, line := execAnswer(t, r); id != 3 || stdout != "b\n" {
		t.Fatalf("want session b's answer first (session a waits on the FIFO), got %s", line)
	}
	r.Send(t, strings.TrimSuffix(call(4, "b", "echo go > /tmp/pipelined-gate"), "\n"))
	seen := map[int]bool{}
	for len(seen) < n+1 {
		id, stdout, line := execAnswer(t, r)
		switch {
		case id == 4:
		case id >= 1000 && id < 1000+n:
			if stdout != fmt.Sprintf("%d\n", id-999) {
				t.Fatalf("call %d ran as session a's command %q: %s", id, stdout, line)
			}
		default:
			t.Fatalf("unexpected line %s", line)
		}
		if seen[id] {
			t.Fatalf("second answer to %d: %s", id, line)
		}
		seen[id] = true
	}
}

// TestServerStrictRefusalSaysHow: --isolation strict on a host (here: an
// unprivileged user) that cannot reach full isolation exits 1 with a
// message that says what is missing and how to get it.
func TestServerStrictRefusalSaysHow(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the server as nobody")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("no setpriv")
	}
	dir, err := os.MkdirTemp("", "sbx-strict-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	bin := filepath.Join(dir, "sbx-mcp")
	data, err := os.ReadFile(e2e.Build(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "--isolation", "strict", "--workdir", dir)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	for _, want := range []string{"--isolation=strict", "run sbx-mcp as root (or with CAP_SYS_ADMIN)", "uid 65534", "--cap-add SYS_ADMIN", "--isolation auto"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("message lacks %q:\n%s", want, out)
		}
	}
}

// TestServerMaxQueued: --max-queued bounds the calls waiting to run; the
// call past it is answered "server busy" at once, naming the bound.
func TestServerMaxQueued(t *testing.T) {
	r := e2e.StartRaw(t, "--max-queued", "1", "--exit-grace", "0")
	r.Initialize(t, "2025-06-18")
	for i, cmd := range []string{"sleep 30", "true", "true"} {
		r.Send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"exec","arguments":{"command":%q}}}`, i+1, cmd))
	}
	// 1 runs, 2 waits behind it in the default session's line, 3 is past the bound
	line := r.Recv(t, 60*time.Second)
	var m struct {
		ID     int `json:"id"`
		Result struct {
			IsError bool `json:"isError"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal(line, &m); err != nil || m.ID != 3 || !m.Result.IsError || len(m.Result.Content) != 1 ||
		!strings.Contains(m.Result.Content[0].Text, "server busy") || !strings.Contains(m.Result.Content[0].Text, "at most 1 calls") {
		t.Fatalf("want call 3 refused as busy, got %s (%v)", line, err)
	}
}
