package main

import (
	"bytes"
	"encoding/json"
	"strings"
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
