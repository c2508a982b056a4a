// Package e2e holds helpers for end-to-end tests that start the real
// sbx-mcp binary and drive it over stdio, with the official Go MCP SDK
// client (github.com/modelcontextprotocol/go-sdk/mcp) or with raw JSON-RPC
// lines.
//
// Typical use from any package's _test.go file:
//
//	cs := e2e.Connect(t)                       // builds ./cmd/sbx-mcp once, starts it
//	res := e2e.Call(t, cs, "exec", map[string]any{"command": "echo hi"})
//	var out struct{ Stdout string `json:"stdout"` }
//	e2e.Structured(t, res, &out)
//
// Connect adds --workdir=<t.TempDir()> unless the flags name a workdir, so
// tests never touch /workspace. The server's stderr is captured and printed
// when the test fails. Close is registered with t.Cleanup and a server that
// does not exit 0 on stdin EOF fails the test.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// CallTimeout bounds every Call (a "does not hang" limit, not a speed check).
var CallTimeout = 2 * time.Minute

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Root returns the module's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Build compiles ./cmd/sbx-mcp (CGO_ENABLED=0) once per test binary and
// returns the path of the executable. SBX_MCP_BINARY, when set, is used
// instead (no build).
func Build(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SBX_MCP_BINARY"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sbx-mcp-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "sbx-mcp")
		// go test puts its own GOROOT/bin first on the PATH of the tests.
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = "go"
		}
		// -buildvcs=false: in a checkout owned by another user git's
		// safe.directory check refuses, and VCS stamping would fail the build.
		cmd := exec.Command(goBin, "build", "-buildvcs=false", "-o", buildPath, "./cmd/sbx-mcp")
		cmd.Dir = Root()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/sbx-mcp: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Main runs the tests of a package and removes the built binary afterwards.
// Optional: call it from TestMain as os.Exit(e2e.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if buildPath != "" {
		os.RemoveAll(filepath.Dir(buildPath))
	}
	return code
}

// withWorkdir adds --workdir=<temp dir> unless flags already set one.
func withWorkdir(t testing.TB, flags []string) []string {
	for _, f := range flags {
		if f == "--workdir" || f == "-workdir" || strings.HasPrefix(f, "--workdir=") || strings.HasPrefix(f, "-workdir=") {
			return flags
		}
	}
	return append([]string{"--workdir=" + t.TempDir()}, flags...)
}

// syncBuffer is a goroutine-safe bytes.Buffer for a child's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 4<<20 { // keep memory bounded; the head is what matters
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Connect starts the binary with flags and returns an initialized client
// session (official Go SDK client over stdio).
func Connect(t testing.TB, flags ...string) *mcp.ClientSession {
	t.Helper()
	return ConnectWith(t, nil, flags...)
}

// Protocol is the protocol version the SDK client asks for: its default
// (2026-07-28, the stateless era, probed with server/discover) unless
// SBX_E2E_PROTOCOL names another, e.g. 2025-11-25 to run the whole suite
// through the legacy initialize handshake.
func Protocol() string {
	if v := os.Getenv("SBX_E2E_PROTOCOL"); v != "" {
		return v
	}
	return "2026-07-28"
}

// ConnectWith is Connect with client options, e.g. a
// ProgressNotificationHandler or LoggingMessageHandler.
func ConnectWith(t testing.TB, opts *mcp.ClientOptions, flags ...string) *mcp.ClientSession {
	t.Helper()
	return ConnectVersion(t, Protocol(), opts, flags...)
}

// ConnectVersion is ConnectWith at a given protocol version.
func ConnectVersion(t testing.TB, version string, opts *mcp.ClientOptions, flags ...string) *mcp.ClientSession {
	t.Helper()
	return connectCmd(t, version, opts, exec.Command(Build(t), withWorkdir(t, flags)...))
}

// ConnectNobody is Connect with the server run as nobody (uid and gid
// 65534, no groups, through setpriv), which reaches level userns on a
// host that allows unprivileged user namespaces: the unprivileged twin of
// a test run as root. The workdir is a directory nobody owns. The test
// must run as root (CI does); otherwise it fails.
func ConnectNobody(t testing.TB, flags ...string) *mcp.ClientSession {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("ConnectNobody needs root (to switch to nobody)")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("setpriv: %v", err)
	}
	// The build directory is root's: copy the binary where nobody can run
	// it, next to a workdir and a HOME nobody owns.
	dir, err := os.MkdirTemp("", "sbx-nobody-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data, err := os.ReadFile(Build(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sbx-mcp")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(work, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin, "--workdir=" + work}, flags...)
	cmd := exec.Command(setpriv, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "TMPDIR=" + work}
	return connectCmd(t, Protocol(), nil, cmd)
}

// connectCmd starts cmd (the server) and returns an initialized client session.
func connectCmd(t testing.TB, version string, opts *mcp.ClientOptions, cmd *exec.Cmd) *mcp.ClientSession {
	t.Helper()
	bin := cmd.Path
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "sbx-mcp-e2e", Version: "0"}, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect to %s: %v\nserver stderr:\n%s", bin, err, stderr.String())
	}
	t.Cleanup(func() {
		if err := cs.Close(); err != nil {
			t.Errorf("close session (server should exit 0 on stdin EOF): %v", err)
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	})
	return cs
}

// Call calls a tool and fails the test on a protocol error (a tool error is
// returned as a result with IsError set).
func Call(t testing.TB, cs *mcp.ClientSession, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	if args == nil {
		args = map[string]any{}
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", tool, err)
	}
	return res
}

// CallOK is Call that also fails the test when the result is an error.
func CallOK(t testing.TB, cs *mcp.ClientSession, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res := Call(t, cs, tool, args)
	if res.IsError {
		t.Fatalf("call %s(%v): isError: %s", tool, args, Text(res))
	}
	return res
}

// Text joins the text blocks of a result.
func Text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// Structured decodes res.StructuredContent into v (a pointer to a struct
// or a map).
func Structured(t testing.TB, res *mcp.CallToolResult, v any) {
	t.Helper()
	if res.StructuredContent == nil {
		t.Fatalf("result has no structuredContent (isError=%v): %s", res.IsError, Text(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode structuredContent %s: %v", b, err)
	}
}

// Map returns res.StructuredContent as a map.
func Map(t testing.TB, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	var m map[string]any
	Structured(t, res, &m)
	return m
}

// Raw is a server driven with raw JSON-RPC lines, for protocol-level tests.
type Raw struct {
	Cmd    *exec.Cmd
	Stdin  io.WriteCloser
	Stderr *syncBuffer
	lines  chan []byte // closed when stdout ends
}

// StartRaw starts the binary with flags without any handshake.
func StartRaw(t testing.TB, flags ...string) *Raw {
	t.Helper()
	bin := Build(t)
	cmd := exec.Command(bin, withWorkdir(t, flags)...)
	r := &Raw{Cmd: cmd, Stderr: &syncBuffer{}, lines: make(chan []byte, 1024)}
	cmd.Stderr = r.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Stdin = in
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { // owner of r.lines: closes it at EOF
		defer close(r.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			r.lines <- append([]byte(nil), sc.Bytes()...)
		}
	}()
	t.Cleanup(func() {
		r.Stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", r.Stderr.String())
		}
	})
	return r
}

// Send writes one line (a newline is added).
func (r *Raw) Send(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(r.Stdin, line+"\n"); err != nil {
		t.Fatalf("write to server: %v", err)
	}
}

// Recv returns the next stdout line, failing the test after timeout.
func (r *Raw) Recv(t testing.TB, timeout time.Duration) []byte {
	t.Helper()
	select {
	case l, ok := <-r.lines:
		if !ok {
			t.Fatalf("server closed stdout\nstderr:\n%s", r.Stderr.String())
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("no line from server within %v", timeout)
	}
	return nil
}

// Rest returns every line until the server closes stdout, failing the test
// after timeout.
func (r *Raw) Rest(t testing.TB, timeout time.Duration) [][]byte {
	t.Helper()
	var out [][]byte
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				return out
			}
			out = append(out, l)
		case <-deadline:
			t.Fatalf("server did not close stdout within %v; lines so far: %q", timeout, out)
		}
	}
}

// Initialize performs the handshake with protocol version v.
func (r *Raw) Initialize(t testing.TB, v string) []byte {
	t.Helper()
	r.Send(t, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"`+v+`","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`)
	resp := r.Recv(t, 30*time.Second)
	r.Send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return resp
}
