package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fakeClock is a settable clock for task TTLs.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// wire is a raw JSON-RPC client of an in-process server.
type wire struct {
	t     *testing.T
	in    io.WriteCloser
	lines chan map[string]any
}

func (w *wire) send(line string) {
	w.t.Helper()
	if _, err := io.WriteString(w.in, line+"\n"); err != nil {
		w.t.Fatal(err)
	}
}

// next returns the next message the server wrote.
func (w *wire) next() map[string]any {
	w.t.Helper()
	select {
	case m, ok := <-w.lines:
		if !ok {
			w.t.Fatal("server closed its output")
		}
		return m
	case <-time.After(20 * time.Second):
		w.t.Fatal("no message from the server")
	}
	return nil
}

func startWire(t *testing.T, opts Options) *wire {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	opts.Log = zerolog.Nop()
	srv := New(opts)
	done := make(chan struct{})
	go func() { srv.Serve(context.Background(), inR, outW); outW.Close(); close(done) }()
	w := &wire{t: t, in: inW, lines: make(chan map[string]any, 100)}
	go func() {
		defer close(w.lines)
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("bad line %s: %v", sc.Bytes(), err)
				continue
			}
			w.lines <- m
		}
	}()
	t.Cleanup(func() {
		inW.Close()
		<-done
		io.Copy(io.Discard, outR)
	})
	return w
}

const tasksMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}`

// gateTool writes "line 1\n" as output, then waits for a value on release
// (or its context); cancelled receives one value per cancelled call.
func gateTool(release <-chan string, cancelled chan<- struct{}) Tool {
	return NewTool("gate", "Wait for the test.", Annotations{},
		func(ctx context.Context, call *Call, a empty) (echoResult, error) {
			call.Output([]byte("line 1\n"))
			select {
			case s := <-release:
				if s == "started?" { // the output is in
					s = <-release
				}
				return echoResult{Text: s}, nil
			case <-ctx.Done():
				cancelled <- struct{}{}
				return echoResult{}, ctx.Err()
			}
		}).WithTasks()
}

func result(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	r, ok := m["result"].(map[string]any)
	if !ok {
		t.Fatalf("not a result: %v", m)
	}
	return r
}

// A call still running after After becomes a task: working (with the
// output's tail), then completed with the full result, announced to a
// subscription; its result expires after the TTL.
func TestTaskLifecycle(t *testing.T) {
	release, cancelled := make(chan string), make(chan struct{}, 1)
	clock := &fakeClock{now: time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC)}
	w := startWire(t, Options{Tools: []Tool{gateTool(release, cancelled)},
		Tasks: TaskOptions{After: time.Millisecond, TTL: time.Minute, Now: clock.Now}})

	w.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"gate",` + tasksMeta + `}}`)
	created := result(t, w.next())
	id, _ := created["taskId"].(string)
	release <- "started?"
	if created["resultType"] != "task" || created["status"] != "working" || len(id) < 32 || created["pollIntervalMs"] == nil || created["ttlMs"] == nil {
		t.Fatalf("CreateTaskResult: %v", created)
	}
	w.send(`{"jsonrpc":"2.0","id":2,"method":"tasks/get","params":{"taskId":"` + id + `",` + tasksMeta + `}}`)
	got := result(t, w.next())
	if got["resultType"] != "complete" || got["status"] != "working" || !strings.Contains(got["statusMessage"].(string), "line 1") {
		t.Fatalf("working task: %v", got)
	}
	w.send(`{"jsonrpc":"2.0","id":"s","method":"subscriptions/listen","params":{"notifications":{"taskIds":["` + id + `","nope"]},` + tasksMeta + `}}`)
	ack := w.next()
	if ack["method"] != "notifications/subscriptions/acknowledged" || !strings.Contains(mustJSON(ack), `"taskIds":["`+id+`"]`) {
		t.Fatalf("ack: %v", ack)
	}
	release <- "done"
	note := w.next()
	if note["method"] != "notifications/tasks" || !strings.Contains(mustJSON(note), `"status":"completed"`) || !strings.Contains(mustJSON(note), `"io.modelcontextprotocol/subscriptionId":"s"`) {
		t.Fatalf("notification: %v", note)
	}
	w.send(`{"jsonrpc":"2.0","id":3,"method":"tasks/get","params":{"taskId":"` + id + `",` + tasksMeta + `}}`)
	got = result(t, w.next())
	res, _ := got["result"].(map[string]any)
	if got["status"] != "completed" || res == nil || res["resultType"] != "complete" || !strings.Contains(mustJSON(res["structuredContent"]), `"text":"done"`) {
		t.Fatalf("completed task: %v", got)
	}
	clock.Add(time.Minute + time.Second)
	w.send(`{"jsonrpc":"2.0","id":4,"method":"tasks/get","params":{"taskId":"` + id + `",` + tasksMeta + `}}`)
	if e, _ := w.next()["error"].(map[string]any); e == nil || e["code"] != float64(CodeInvalidParams) {
		t.Fatalf("expired task: %v", e)
	}
}

// tasks/cancel cancels the call's context; the task ends cancelled.
func TestTaskCancel(t *testing.T) {
	release, cancelled := make(chan string), make(chan struct{}, 1)
	w := startWire(t, Options{Tools: []Tool{gateTool(release, cancelled)}, Tasks: TaskOptions{After: time.Millisecond}})
	w.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"gate",` + tasksMeta + `}}`)
	id := result(t, w.next())["taskId"].(string)
	w.send(`{"jsonrpc":"2.0","id":2,"method":"tasks/cancel","params":{"taskId":"` + id + `",` + tasksMeta + `}}`)
	if r := result(t, w.next()); r["resultType"] != "complete" {
		t.Fatalf("cancel ack: %v", r)
	}
	<-cancelled
	for i := 3; ; i++ { // the status turns cancelled once the handler returned
		w.send(`{"jsonrpc":"2.0","id":` + string(rune('0'+i%10)) + `,"method":"tasks/get","params":{"taskId":"` + id + `",` + tasksMeta + `}}`)
		st := result(t, w.next())["status"]
		if st == "cancelled" {
			break
		}
		if st != "working" {
			t.Fatalf("status %v after tasks/cancel", st)
		}
	}
}

// Without the extension in the request the call blocks as before, and the
// Tasks methods are refused with -32021.
func TestTaskNeedsExtension(t *testing.T) {
	release, cancelled := make(chan string), make(chan struct{}, 1)
	w := startWire(t, Options{Tools: []Tool{gateTool(release, cancelled)}, Tasks: TaskOptions{After: time.Millisecond}})
	modern := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	w.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"gate",` + modern + `}}`)
	w.send(`{"jsonrpc":"2.0","id":2,"method":"tasks/get","params":{"taskId":"x",` + modern + `}}`)
	if e, _ := w.next()["error"].(map[string]any); e == nil || e["code"] != float64(CodeMissingCapability) {
		t.Fatalf("tasks/get without the extension: %v", e)
	}
	release <- "blocking"
	r := result(t, w.next())
	if r["resultType"] != "complete" || !strings.Contains(mustJSON(r), "blocking") {
		t.Fatalf("blocking result: %v", r)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
