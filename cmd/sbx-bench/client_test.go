package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

func newTestClient() (*client, *bytes.Buffer) {
	var out bytes.Buffer
	return &client{
		stdin:    nopCloser{&out},
		stderr:   &tailBuffer{},
		pending:  map[int64]chan response{},
		progress: map[string]func(progress){},
		done:     make(chan struct{}),
	}, &out
}

func TestDispatch(t *testing.T) {
	c, out := newTestClient()
	var got []progress
	c.progress["p7"] = func(p progress) { got = append(got, p) }
	ch := make(chan response, 1)
	c.pending[7] = ch
	at := time.Unix(100, 0)

	lines := []string{
		`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p7","progress":5,"message":"hello","_meta":{"stream":"stdout"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"other","progress":1,"message":"x"}}`,
		`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":{"message":42}}}`,
		`not json`,
		`{"jsonrpc":"2.0","id":"s1","method":"ping"}`,
		`{"jsonrpc":"2.0","id":7,"result":{"ok":true}}`,
	}
	for _, l := range lines {
		c.dispatch([]byte(l), at)
	}
	if len(got) != 1 || got[0].Message != "hello" || got[0].Progress != 5 || got[0].Meta.Stream != "stdout" || !got[0].At.Equal(at) {
		t.Errorf("progress = %+v", got)
	}
	select {
	case r := <-ch:
		if string(r.Result) != `{"ok":true}` || !r.At.Equal(at) {
			t.Errorf("response = %s at %v", r.Result, r.At)
		}
	default:
		t.Error("response not delivered")
	}
	var pong map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &pong); err != nil || pong["id"] != "s1" || pong["result"] == nil {
		t.Errorf("ping answer %q (%v)", out.String(), err)
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i))
	}
	if got := pct(s, 0.5); got != 50 {
		t.Errorf("p50 = %d", got)
	}
	if got := pct(s, 0.99); got != 99 {
		t.Errorf("p99 = %d", got)
	}
	if got := pct(s[:1], 0.99); got != 1 {
		t.Errorf("p99 of one = %d", got)
	}
}

// BenchmarkDispatchProgress is the client's decoding speed for 64 KiB
// progress chunks: it must stay far above the exec_stream budget so the
// table measures the server, not sbx-bench.
func BenchmarkDispatchProgress(b *testing.B) {
	c, _ := newTestClient()
	n := 0
	c.progress["p1"] = func(p progress) { n += len(p.Message) }
	chunk := strings.Repeat("sbx-bench 0123456789 abcdefghijklmnopqrstuvwxyz\n", 64<<10/48)
	line, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "notifications/progress",
		"params": map[string]any{"progressToken": "p1", "progress": 1, "message": chunk, "_meta": map[string]any{"stream": "stdout"}}})
	b.SetBytes(int64(len(line)))
	now := time.Now()
	for b.Loop() {
		c.dispatch(line, now)
	}
	if n == 0 {
		b.Fatal("handler not called")
	}
}

// lineWriter is a client's stdin that hands each written line to the test
// and checks, at the moment of each write, that the client has not sent
// more than window requests beyond the answers it was given.
type lineWriter struct {
	window   int
	answered atomic.Int64
	sent     int // under the client's wmu
	lines    chan []byte
	err      chan error
}

func (w *lineWriter) Write(p []byte) (int, error) {
	for _, l := range bytes.SplitAfter(p, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		w.sent++
		if limit := int64(w.window) + w.answered.Load(); int64(w.sent) > limit {
			w.err <- fmt.Errorf("request %d written after %d answers, window %d", w.sent, w.answered.Load(), w.window)
		}
		w.lines <- bytes.Clone(l)
	}
	return len(p), nil
}

func (w *lineWriter) Close() error { return nil }

// TestPipelineWindow: with a window, a request goes out only when an answer
// has made room, every request goes out exactly once, and every answer
// comes back.
func TestPipelineWindow(t *testing.T) {
	const n, window = 25, 4
	c, _ := newTestClient()
	w := &lineWriter{window: window, lines: make(chan []byte, n), err: make(chan error, n)}
	c.stdin = w
	params := make([]map[string]any, n)
	for i := range params {
		params[i] = map[string]any{"i": i}
	}
	type result struct {
		rs  []response
		err error
	}
	done := make(chan result, 1)
	go func() {
		rs, err := c.pipeline(context.Background(), "m", params, window)
		done <- result{rs, err}
	}()
	seen := map[int64]bool{}
	var outstanding []int64
	for len(seen) < n || len(outstanding) > 0 {
		// answer the oldest once the window is full or nothing else comes
		if len(outstanding) == window || (len(seen) == n && len(outstanding) > 0) {
			id := outstanding[0]
			outstanding = outstanding[1:]
			w.answered.Add(1)
			c.dispatch([]byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{}}`, id)), time.Now())
			continue
		}
		select {
		case err := <-w.err:
			t.Fatal(err)
		case l := <-w.lines:
			var req struct {
				ID int64 `json:"id"`
			}
			if err := json.Unmarshal(l, &req); err != nil || seen[req.ID] {
				t.Fatalf("request %q (%v, seen before: %v)", l, err, seen[req.ID])
			}
			seen[req.ID] = true
			outstanding = append(outstanding, req.ID)
		case res := <-done:
			t.Fatalf("pipeline returned early: %d responses, %v", len(res.rs), res.err)
		}
	}
	res := <-done
	if res.err != nil || len(res.rs) != n {
		t.Fatalf("pipeline: %d responses, %v", len(res.rs), res.err)
	}
	select {
	case err := <-w.err:
		t.Fatal(err)
	default:
	}
}
