package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// slotsUsed is how many calls hold a slot.
func (s *Server) slotsUsed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sched.used
}

// Calls beyond MaxCalls wait in a FIFO queue and start in arrival order as
// slots free up; past MaxQueued a call is refused as busy at once.
func TestCallQueue(t *testing.T) {
	release := make(chan string)
	cancelled := make(chan struct{}, 10)
	w := startWire(t, Options{Tools: []Tool{gateTool(release, cancelled)}, MaxCalls: 1, MaxQueued: 2})
	const meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`
	for i := 1; i <= 4; i++ {
		w.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"gate","arguments":{},%s}}`, i, meta))
	}
	// 1 runs, 2 and 3 wait, 4 is over the bound
	m := w.next()
	if m["id"] != float64(4) || result(t, m)["isError"] != true || !strings.Contains(fmt.Sprint(result(t, m)["content"]), "server busy") {
		t.Fatalf("call 4: %v", m)
	}
	for i := 1; i <= 3; i++ {
		release <- fmt.Sprint("r", i)
		m := w.next()
		if m["id"] != float64(i) || !strings.Contains(fmt.Sprint(result(t, m)), fmt.Sprint("r", i)) {
			t.Fatalf("answer %d: %v", i, m)
		}
	}
}

// keyed is a tool whose calls wait in the line named by their "key"
// argument. Each call reports its tag on started, then returns once the
// test opens its gate (or its context ends: it reports that on ended).
type keyed struct {
	started chan string
	ended   chan string
	mu      sync.Mutex
	gates   map[string]chan struct{}
}

type keyedArgs struct {
	Key string `json:"key,omitempty"`
	Tag string `json:"tag"`
	Pad string `json:"pad,omitempty"`
}

func newKeyed() *keyed {
	return &keyed{started: make(chan string, 1000), ended: make(chan string, 1000), gates: map[string]chan struct{}{}}
}

func (k *keyed) gate(tag string) chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	g := k.gates[tag]
	if g == nil {
		g = make(chan struct{})
		k.gates[tag] = g
	}
	return g
}

// open lets the call tagged tag return.
func (k *keyed) open(tag string) { close(k.gate(tag)) }

func (k *keyed) tool() Tool {
	return NewTool("keyed", "Wait for the test.", Annotations{},
		func(ctx context.Context, call *Call, a keyedArgs) (echoResult, error) {
			k.started <- a.Tag
			select {
			case <-k.gate(a.Tag):
				return echoResult{Text: a.Tag}, nil
			case <-ctx.Done():
				k.ended <- a.Tag
				return echoResult{}, ctx.Err()
			}
		}).WithKey(func(args json.RawMessage) string {
		key, _ := StringArg(args, "key")
		return key
	})
}

// nextStarted returns the tag of the next call to start.
func (k *keyed) nextStarted(t *testing.T) string {
	t.Helper()
	select {
	case tag := <-k.started:
		return tag
	case <-time.After(20 * time.Second):
		t.Fatal("no call started")
	}
	return ""
}

func keyedCall(w *wire, key, tag string) {
	w.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%q,"method":"tools/call","params":{"name":"keyed","arguments":{"key":%q,"tag":%q}}}`, tag, key, tag))
}

func startKeyed(t *testing.T, k *keyed, opts Options) *wire {
	opts.Tools = []Tool{k.tool()}
	w := startWire(t, opts)
	w.send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	w.next()
	w.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return w
}

// answer reads the next message and checks it answers tag successfully.
func answer(t *testing.T, w *wire, tag string) {
	t.Helper()
	m := w.next()
	if m["id"] != tag || result(t, m)["isError"] == true {
		t.Fatalf("want the answer to %s, got %v", tag, m)
	}
}

// Calls with one key run one at a time, in arrival order; a call with
// another key runs beside them at once.
func TestQueueOrderWithinKey(t *testing.T) {
	k := newKeyed()
	w := startKeyed(t, k, Options{MaxCalls: 4})
	for i := 1; i <= 5; i++ {
		keyedCall(w, "a", fmt.Sprint("a", i))
	}
	if got := k.nextStarted(t); got != "a1" {
		t.Fatalf("first started: %s", got)
	}
	// a2..a5 hold none of the 3 free slots: were one started, it would
	// come before b1 here
	keyedCall(w, "b", "b1")
	if got := k.nextStarted(t); got != "b1" {
		t.Fatalf("started %s, want b1 (a1 is still running)", got)
	}
	for i := 1; i <= 5; i++ {
		tag := fmt.Sprint("a", i)
		k.open(tag)
		answer(t, w, tag)
		if i < 5 {
			if got, want := k.nextStarted(t), fmt.Sprint("a", i+1); got != want {
				t.Fatalf("started %s, want %s", got, want)
			}
		}
	}
	k.open("b1")
	answer(t, w, "b1")
}

// A key with many queued calls holds one slot at most: with every other
// slot free, another key's call runs at once, even behind hundreds.
func TestQueueNoHeadOfLineBlocking(t *testing.T) {
	k := newKeyed()
	w := startKeyed(t, k, Options{MaxCalls: 2})
	for i := 1; i <= 500; i++ {
		keyedCall(w, "a", fmt.Sprint("a", i))
	}
	keyedCall(w, "b", "b1")
	keyedCall(w, "", "u1") // no key: waits for a slot only
	if got := k.nextStarted(t); got != "a1" {
		t.Fatalf("first started: %s", got)
	}
	if got := k.nextStarted(t); got != "b1" {
		t.Fatalf("started %s, want b1", got)
	}
	k.open("b1")
	answer(t, w, "b1")
	if got := k.nextStarted(t); got != "u1" {
		t.Fatalf("started %s, want u1 (the slot b1 gave back)", got)
	}
	k.open("u1")
	answer(t, w, "u1")
	for i := 1; i <= 500; i++ {
		tag := fmt.Sprint("a", i)
		if i > 1 {
			if got := k.nextStarted(t); got != tag {
				t.Fatalf("started %s, want %s", got, tag)
			}
		}
		k.open(tag)
		answer(t, w, tag)
	}
}

// The queue is bounded in calls and in bytes of params: past either bound
// a call is answered "server busy" at once, and a call that fits is taken
// again once the queue has room.
func TestQueueBounds(t *testing.T) {
	k := newKeyed()
	w := startKeyed(t, k, Options{MaxCalls: 1, MaxQueued: 3, MaxQueuedBytes: 1000})
	keyedCall(w, "a", "a1")
	if got := k.nextStarted(t); got != "a1" {
		t.Fatalf("first started: %s", got)
	}
	keyedCall(w, "a", "a2") // waits behind a1
	keyedCall(w, "b", "b1") // waits for the slot
	// about 1 KiB of params: over the byte bound though the count fits
	w.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{"name":"keyed","arguments":{"key":"c","tag":"big","pad":%q}}}`, strings.Repeat("x", 900)))
	busy := func(id string) {
		t.Helper()
		m := w.next()
		r := result(t, m)
		if m["id"] != id || r["isError"] != true || !strings.Contains(fmt.Sprint(r["content"]), "server busy") {
			t.Fatalf("want %s refused as busy, got %v", id, m)
		}
	}
	busy("big")
	keyedCall(w, "c", "c1") // the third queued call: fits
	keyedCall(w, "d", "d1") // the fourth: over MaxQueued
	busy("d1")
	k.open("a1")
	answer(t, w, "a1")
	// the slot goes to b1, which was ready before a2 (a2 became ready only
	// when a1 ended)
	for _, tag := range []string{"b1", "c1", "a2"} {
		if got := k.nextStarted(t); got != tag {
			t.Fatalf("started %s, want %s", got, tag)
		}
		k.open(tag)
		answer(t, w, tag)
	}
	keyedCall(w, "d", "d2") // room again
	if got := k.nextStarted(t); got != "d2" {
		t.Fatalf("started %s, want d2", got)
	}
	k.open("d2")
	answer(t, w, "d2")
}

// notifications/cancelled of a queued call takes it out of the queue at
// once: it never starts, gets no answer, and its place is free for the
// next call; cancelling the call first in line for a slot lets its key's
// next call take that place.
func TestQueueCancelQueued(t *testing.T) {
	k := newKeyed()
	w := startKeyed(t, k, Options{MaxCalls: 1, MaxQueued: 3})
	keyedCall(w, "a", "a1")
	if got := k.nextStarted(t); got != "a1" {
		t.Fatalf("first started: %s", got)
	}
	keyedCall(w, "a", "a2") // behind a1
	keyedCall(w, "b", "b1") // ready, first for the slot
	keyedCall(w, "b", "b2") // behind b1
	cancel := func(tag string) {
		w.send(fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%q}}`, tag))
	}
	cancel("a2")
	cancel("b1")
	// the queue is full (3) unless both left it at once
	keyedCall(w, "c", "c1")
	keyedCall(w, "c", "c2")
	k.open("a1")
	answer(t, w, "a1")
	for _, tag := range []string{"b2", "c1", "c2"} {
		if got := k.nextStarted(t); got != tag {
			t.Fatalf("started %s, want %s", got, tag)
		}
		k.open(tag)
		answer(t, w, tag) // a2 and b1 are never answered: their answer would come first
	}
}

// At shutdown the queued calls are dropped: none starts, the running one
// is cancelled, and Serve returns.
func TestQueueShutdown(t *testing.T) {
	k := newKeyed()
	w := startKeyed(t, k, Options{MaxCalls: 1})
	keyedCall(w, "a", "a1")
	if got := k.nextStarted(t); got != "a1" {
		t.Fatalf("first started: %s", got)
	}
	for i := 2; i <= 50; i++ {
		keyedCall(w, "a", fmt.Sprint("a", i))
		keyedCall(w, fmt.Sprint("k", i), fmt.Sprint("k", i))
	}
	keyedCall(w, "", "u1")
	w.send(`{"jsonrpc":"2.0","id":"p","method":"ping"}`) // every call above was read and queued
	if m := w.next(); m["id"] != "p" {
		t.Fatalf("want the ping's answer, got %v", m)
	}
	w.in.Close()
	for m := range w.lines {
		t.Errorf("unexpected message after EOF: %v", m)
	}
	select {
	case tag := <-k.ended:
		if tag != "a1" {
			t.Fatalf("%s was cancelled, want a1", tag)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a1 was not cancelled")
	}
	select {
	case tag := <-k.started:
		t.Fatalf("%s started after shutdown", tag)
	default:
	}
}
