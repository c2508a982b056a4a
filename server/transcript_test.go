package server

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Test tools for transcripts.

type echoArgs struct {
	Text   string             `json:"text" jsonschema_description:"Text to echo back."`
	Times  int                `json:"times,omitempty" jsonschema_description:"Repeat count (default 1)."`
	Env    map[string]*string `json:"env,omitempty"`
	Nested *struct {
		Flag bool `json:"flag"`
	} `json:"nested,omitempty"`
}

type echoResult struct {
	Text  string   `json:"text"`
	Words []string `json:"words"`
}

type progressArgs struct {
	Steps int `json:"steps"`
}

type doneResult struct {
	Done int `json:"done"`
}

func (r doneResult) Text() string { return fmt.Sprintf("done after %d steps", r.Done) }

type imageResult struct {
	Name string `json:"name"`
}

func (imageResult) Images() []Content {
	return []Content{{Type: "image", Data: "iVBORw0KGgo=", MimeType: "image/png"}}
}

type empty struct{}

// testTools returns the tools used by transcripts; cancelled receives one
// value each time a "block" call observes its context ending.
func testTools(cancelled chan<- struct{}) []Tool {
	return []Tool{
		NewTool("echo", "Echo text back.", Annotations{Title: "Echo", ReadOnlyHint: true},
			func(ctx context.Context, call *Call, a echoArgs) (echoResult, error) {
				n := max(a.Times, 1)
				return echoResult{Text: strings.Repeat(a.Text, n), Words: strings.Fields(a.Text)}, nil
			}),
		NewTool("block", "Block until cancelled.", Annotations{},
			func(ctx context.Context, call *Call, a empty) (doneResult, error) {
				<-ctx.Done()
				cancelled <- struct{}{}
				return doneResult{Done: -1}, nil // must never be sent
			}),
		NewTool("progress", "Report progress steps.", Annotations{},
			func(ctx context.Context, call *Call, a progressArgs) (doneResult, error) {
				for i := 1; i <= a.Steps; i++ {
					call.Progress(float64(i), "step "+strconv.Itoa(i), nil)
				}
				call.Progress(1, "not increasing: bumped", map[string]any{"stream": "stdout"})
				return doneResult{Done: a.Steps}, nil
			}),
		NewTool("fail", "Always fails.", Annotations{},
			func(ctx context.Context, call *Call, a empty) (doneResult, error) {
				return doneResult{}, errors.New("the thing failed: pass a better value")
			}),
		NewTool("panic", "Panics.", Annotations{},
			func(ctx context.Context, call *Call, a empty) (doneResult, error) {
				panic("kaboom")
			}),
		NewTool("image", "Returns an image.", Annotations{},
			func(ctx context.Context, call *Call, a empty) (imageResult, error) {
				return imageResult{Name: "dot"}, nil
			}),
		NewTool("log", "Logs at every level.", Annotations{},
			func(ctx context.Context, call *Call, a empty) (doneResult, error) {
				for _, l := range logLevels {
					call.Log(l, "message at "+l)
				}
				return doneResult{Done: len(logLevels)}, nil
			}),
	}
}

// outBuf collects output lines and lets the driver wait for a count.
type outBuf struct {
	mu    sync.Mutex
	cond  *sync.Cond
	buf   bytes.Buffer
	lines []string
}

func newOutBuf() *outBuf {
	o := &outBuf{}
	o.cond = sync.NewCond(&o.mu)
	return o
}

func (o *outBuf) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	for {
		i := bytes.IndexByte(o.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		o.lines = append(o.lines, string(o.buf.Next(i + 1)[:i]))
	}
	o.cond.Broadcast()
	return len(p), nil
}

// waitLines waits until n lines arrived (a generous "does not hang" limit).
func (o *outBuf) waitLines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	wake := time.AfterFunc(20*time.Second, o.cond.Broadcast)
	defer wake.Stop()
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(o.lines) < n {
		if time.Now().After(deadline) {
			t.Fatalf("waited for %d output lines, have %d:\n%s", n, len(o.lines), strings.Join(o.lines, "\n"))
		}
		o.cond.Wait()
	}
}

// session is one running server in a transcript.
type session struct {
	srv    *Server
	in     *io.PipeWriter
	done   chan struct{}
	cancel context.CancelFunc
}

func startSession(t *testing.T, out io.Writer, cancelled chan struct{}, cleanups *[]string) *session {
	inR, inW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	srv := New(Options{
		Name:         "sbx-mcp",
		Version:      "test",
		Instructions: "Test instructions.",
		Tools:        testTools(cancelled),
		Log:          zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		MaxCalls:     3,
		MaxQueued:    1,
		MaxLine:      4096,
		Cleanups:     []func(){func() { *cleanups = append(*cleanups, "cleanup ran") }},
	})
	s := &session{srv: srv, in: inW, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.done)
		if err := srv.Serve(ctx, inR, out); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	return s
}

func (s *session) stop(t *testing.T) {
	t.Helper()
	s.in.Close()
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop after stdin EOF")
	}
	s.cancel()
}

// TestTranscripts replays testdata/*.txt against an in-process server and
// compares the output lines with testdata/*.golden (go test -update
// rewrites them). In a .txt file every line is sent as is (blank lines
// too), except directives starting with "!":
//
//	!wait N        wait until N output lines have arrived in this session
//	!cancelled N   wait until N "block" calls saw their context end
//	!idle          wait until no call holds a slot
//	!send "q"      send the Go-quoted bytes exactly (no newline added)
//	!big N         send a line of N bytes that starts with {"jsonrpc":"2.0","id":"big",
//	!restart       end the session (stdin EOF) and start a fresh server
//	!signal        end the session with a shutdown signal (context cancel)
//	#...           a comment
func TestTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts in testdata")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := runTranscript(t, string(src))
			golden := strings.TrimSuffix(file, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./server -run TestTranscripts -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (go test ./server -run TestTranscripts -update rewrites it after review)\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

func runTranscript(t *testing.T, src string) string {
	var all strings.Builder
	cancelled := make(chan struct{}, 100)
	ncancelled := 0
	var cleanups []string
	out := newOutBuf()
	s := startSession(t, out, cancelled, &cleanups)
	flush := func(how string) {
		out.mu.Lock()
		for _, l := range out.lines {
			all.WriteString(l + "\n")
		}
		out.mu.Unlock()
		all.WriteString("# " + how + "; " + strings.Join(cleanups, ", ") + "\n")
		cleanups = nil
	}
	send := func(b string) {
		if _, err := io.WriteString(s.in, b); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(src, "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "!") {
			send(line + "\n")
			continue
		}
		cmd, arg, _ := strings.Cut(line[1:], " ")
		switch cmd {
		case "wait":
			n, _ := strconv.Atoi(arg)
			out.waitLines(t, n)
		case "cancelled":
			n, _ := strconv.Atoi(arg)
			for ncancelled < n {
				select {
				case <-cancelled:
					ncancelled++
				case <-time.After(20 * time.Second):
					t.Fatalf("only %d block calls were cancelled, want %d", ncancelled, n)
				}
			}
		case "idle":
			deadline := time.Now().Add(20 * time.Second)
			for s.srv.slotsUsed() > 0 {
				if time.Now().After(deadline) {
					t.Fatal("calls still running")
				}
				time.Sleep(time.Millisecond)
			}
		case "send":
			b, err := strconv.Unquote(arg)
			if err != nil {
				t.Fatalf("bad !send %s: %v", arg, err)
			}
			send(b)
		case "big":
			n, _ := strconv.Atoi(arg)
			head := `{"jsonrpc":"2.0","id":"big","method":"ping","params":{"pad":"`
			send(head + strings.Repeat("x", n-len(head)-3) + `"}}` + "\n")
		case "restart", "signal":
			if cmd == "signal" {
				s.cancel()
				<-s.done
			}
			s.stop(t)
			flush(map[string]string{"restart": "stdin closed", "signal": "signalled"}[cmd])
			out = newOutBuf()
			ncancelled = 0
			s = startSession(t, out, cancelled, &cleanups)
		default:
			t.Fatalf("unknown directive %q", line)
		}
	}
	s.stop(t)
	flush("stdin closed")
	return all.String()
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\nwant: %s\ngot:  %s", i+1, wl, gl)
		}
	}
	return ""
}
