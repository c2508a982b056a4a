package server

import (
	"encoding/json"

	"github.com/sbx-mcp/sbx-mcp/jsonwire"
)

// The call scheduler. A tool may name, per call, the line its call waits
// in (Tool.Key: a session, a code context); calls with the same key run
// one at a time in arrival order, calls without a key or with different
// keys run side by side, at most MaxCalls at a time:
//
//	arrival ──► key busy? ──yes──► lines[key] (FIFO, behind the running call)
//	               │ no                      │ that call ends
//	               ▼                         ▼
//	          slot free? ──no──► ready (FIFO, one call per key at most)
//	               │ yes                     │ a slot frees
//	               ▼                         ▼
//	              run ◄──────────────────────┘
//
// A call waiting behind its key holds no slot and no goroutine, so 2,000
// calls for one session never keep another session's calls from running.
// Everything waiting (in lines and in ready) counts against MaxQueued calls
// and MaxQueuedBytes of params; past them a call is answered "server busy".
// All of it changes under Server.mu only, so a call never waits while a
// slot is free and its key is idle.

// queued is one accepted tools/call until it runs.
type queued struct {
	key   string // Tool.Key's value; "" runs unordered
	bytes int    // params bytes it holds
	job   func() // runs it (it holds a slot then)
	drop  func() // gives it up unanswered (cancelled or shutdown)

	list       *callList // the list it waits in; nil once it runs
	prev, next *queued
}

// callList is a FIFO of queued calls that can also remove from the middle
// (a cancelled call leaves at once).
type callList struct {
	head, tail *queued
}

func (l *callList) push(q *queued) {
	q.list, q.prev, q.next = l, l.tail, nil
	if l.tail != nil {
		l.tail.next = q
	} else {
		l.head = q
	}
	l.tail = q
}

func (l *callList) remove(q *queued) {
	if q.prev != nil {
		q.prev.next = q.next
	} else {
		l.head = q.next
	}
	if q.next != nil {
		q.next.prev = q.prev
	} else {
		l.tail = q.prev
	}
	q.list, q.prev, q.next = nil, nil, nil
}

// pop removes and returns the first call (nil: empty).
func (l *callList) pop() *queued {
	q := l.head
	if q != nil {
		l.remove(q)
	}
	return q
}

// sched is the scheduler's state, guarded by Server.mu.
type sched struct {
	used   int                  // slots held by running calls
	lines  map[string]*callList // a key with a call running or ready; its later calls wait here
	ready  callList             // calls whose key is idle, waiting for a slot
	n      int                  // calls in lines and ready
	nbytes int                  // their params bytes
}

// admitLocked takes q in: run is true when it holds a slot now and must be
// started; ok is false when the queue is full. Call with s.mu held.
func (s *Server) admitLocked(q *queued) (run, ok bool) {
	sc := &s.sched
	if q.key != "" {
		if l := sc.lines[q.key]; l != nil {
			if !s.roomLocked(q) {
				return false, false
			}
			s.enqueueLocked(l, q)
			return false, true
		}
	}
	if sc.used < s.opts.MaxCalls {
		sc.used++
		if q.key != "" {
			sc.lines[q.key] = &callList{}
		}
		return true, true
	}
	if !s.roomLocked(q) {
		return false, false
	}
	if q.key != "" {
		sc.lines[q.key] = &callList{}
	}
	s.enqueueLocked(&sc.ready, q)
	return false, true
}

// roomLocked reports whether q fits in the queue's bounds.
func (s *Server) roomLocked(q *queued) bool {
	return s.sched.n < s.opts.MaxQueued && s.sched.nbytes+q.bytes <= s.opts.MaxQueuedBytes
}

func (s *Server) enqueueLocked(l *callList, q *queued) {
	l.push(q)
	s.sched.n++
	s.sched.nbytes += q.bytes
}

func (s *Server) dequeueLocked(q *queued) {
	q.list.remove(q)
	s.sched.n--
	s.sched.nbytes -= q.bytes
}

// keyIdleLocked is called when the call of key that was running or ready
// is gone: the next call of the key, if any, becomes ready.
func (s *Server) keyIdleLocked(key string) {
	if key == "" {
		return
	}
	l := s.sched.lines[key]
	if l == nil { // shutdown dropped the queue
		return
	}
	next := l.head
	if next == nil {
		delete(s.sched.lines, key)
		return
	}
	l.remove(next)
	s.sched.ready.push(next) // still counted as queued
}

// finish ends a running call q: its key's next call becomes ready, and the
// slot passes to the first ready call or is given back.
func (s *Server) finish(q *queued) {
	s.mu.Lock()
	s.keyIdleLocked(q.key)
	next := s.sched.ready.head
	if next == nil || s.closing { // shutdown drops the queue
		s.sched.used--
		s.mu.Unlock()
		return
	}
	s.dequeueLocked(next)
	s.mu.Unlock()
	s.run(next.job) // the slot passes to it
}

// unqueue removes q if it still waits (a cancelled call) and reports
// whether it did; the caller then drops it.
func (s *Server) unqueueLocked(q *queued) bool {
	if q == nil || q.list == nil {
		return false
	}
	wasReady := q.list == &s.sched.ready
	s.dequeueLocked(q)
	if wasReady {
		s.keyIdleLocked(q.key)
	}
	return true
}

// dropQueued gives up every queued call (shutdown): none starts any more.
func (s *Server) dropQueued() {
	s.mu.Lock()
	var all []*queued
	for q := s.sched.ready.pop(); q != nil; q = s.sched.ready.pop() {
		all = append(all, q)
	}
	for _, l := range s.sched.lines {
		for q := l.pop(); q != nil; q = l.pop() {
			all = append(all, q)
		}
	}
	s.sched.lines = map[string]*callList{}
	s.sched.n, s.sched.nbytes = 0, 0
	s.mu.Unlock()
	for _, q := range all {
		q.drop()
		s.running.Done()
	}
}

// StringArg returns the string member name of a tools/call arguments
// object (ok false when it is absent, null, not a string or args is not
// an object): what a Tool.Key function reads. With duplicate members the
// last one counts, as in decoding.
func StringArg(args json.RawMessage, name string) (val string, ok bool) {
	var raw []byte
	jsonwire.Members(args, func(key string, v []byte) error {
		if key == name {
			raw = v
		}
		return nil
	})
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	if jsonwire.Unmarshal(raw, &val) != nil {
		return "", false
	}
	return val, true
}
