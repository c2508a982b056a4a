package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sbx-mcp/sbx-mcp/jsonwire"
)

// callParams are tools/call's params.
type callParams struct {
	Name      *string
	Arguments json.RawMessage // a sub-slice of the frame's params
	Meta      reqMeta
}

// splitCallParams takes tools/call's params apart. The frame was validated
// as a whole, so the arguments (possibly megabytes) are located, not
// decoded or validated again; the small members are decoded.
func splitCallParams(params json.RawMessage) (callParams, *wireError) {
	p := callParams{Meta: reqMeta{logLevel: -1}}
	if params == nil {
		return p, nil
	}
	if params[0] != '{' {
		return p, invalidParams("params must be an object, got %s", withArticle(jsonwire.Kind(params)))
	}
	var meta []byte
	err := jsonwire.Members(params, func(key string, val []byte) error {
		switch key {
		case "name":
			var name string
			if err := jsonwire.Unmarshal(val, &name); err != nil {
				return errors.New(describeDecodeError(err, `"name"`))
			}
			if jsonwire.Kind(val) != "null" {
				p.Name = &name
			}
		case "arguments":
			p.Arguments = json.RawMessage(val)
		case "_meta":
			meta = val
		}
		return nil
	})
	if err != nil {
		return p, invalidParams("%v", err)
	}
	var werr *wireError
	p.Meta, werr = parseMeta(meta)
	return p, werr
}

// wireResult is a tools/call result. ResultType and Meta are set for
// modern requests only.
type wireResult struct {
	ResultType        string         `json:"resultType,omitempty"`
	Content           []Content      `json:"content"`
	StructuredContent any            `json:"structuredContent,omitempty"`
	IsError           bool           `json:"isError"`
	Meta              jsontext.Value `json:"_meta,omitempty"`
}

// callRun is one accepted tools/call.
type callRun struct {
	f       *frame
	key     string // idKey of f.id
	c       *inflight
	t       *Tool
	args    json.RawMessage
	meta    reqMeta
	version string  // the protocol version the call is served at
	q       *queued // its place in the scheduler (queue.go)
}

// startCall validates a tools/call and runs it in a goroutine. The call's
// cancel function is registered before Handle returns, so a
// notifications/cancelled on the very next line finds it.
func (s *Server) startCall(f *frame) {
	handed := false // to the call, which releases the params when it is done
	defer func() {
		if !handed {
			f.release()
		}
	}()
	p, werr := splitCallParams(f.params)
	if werr == nil {
		werr = checkVersion(&p.Meta)
	}
	if werr != nil {
		s.replyError(f, *werr)
		return
	}
	m := &p.Meta
	version := ModernVersion
	if !m.modern() {
		if !s.isInitialized() {
			s.replyError(f, notInitialized())
			return
		}
		version = s.negotiated()
	}
	if p.Name == nil {
		s.replyError(f, *invalidParams(`"name" is required`))
		return
	}
	t, ok := s.tools[*p.Name]
	if !ok {
		s.replyError(f, *invalidParams("unknown tool %q; tools/list shows the available tools", *p.Name))
		return
	}
	args := json.RawMessage(p.Arguments)
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	} else if args[0] != '{' {
		s.replyError(f, *invalidParams(`"arguments" must be an object`))
		return
	}
	m.progress = bytes.Clone(m.progress) // the params buffer is recycled when the call ends
	key, _ := idKey(f.id)
	ctx, cancel := context.WithCancel(s.base)
	c := &inflight{cancel: cancel}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		cancel()
		return // shutting down: nobody reads a response
	}
	if _, dup := s.calls[key]; dup {
		s.mu.Unlock()
		cancel()
		s.replyError(f, wireError{Code: CodeInvalidRequest, Message: "Invalid Request: a call with this id is still running"})
		return
	}
	r := &callRun{f: f, key: key, c: c, t: t, args: args, meta: *m, version: version}
	q := &queued{bytes: len(f.params)}
	if t.Key != nil {
		q.key = t.Key(args)
	}
	r.q = q
	q.job = func() {
		s.runCall(ctx, r)
		f.release()
	}
	q.drop = func() {
		cancel()
		if f.batch != nil {
			f.batch.drop()
		}
		f.release()
	}
	run, ok := s.admitLocked(q)
	if !ok {
		running, n := s.sched.used, s.sched.n
		s.mu.Unlock()
		cancel()
		s.reply(f, m, s.callResult(ErrorResult(fmt.Sprintf("server busy: %d tool calls are running and %d are queued (the queue holds at most %d calls and %d MiB of arguments); wait for answers and retry", running, n, s.opts.MaxQueued, s.opts.MaxQueuedBytes>>20)), version))
		return
	}
	c.q = q
	s.calls[key] = c
	s.running.Add(1) // under s.mu, ordered before shutdown's Wait
	s.mu.Unlock()
	handed = true
	if !run {
		return
	}
	s.run(q.job)
	// The call is now next in line on this processor, but the read loop
	// would go on to a blocking read of stdin, leaving it there until the
	// runtime's monitor takes the processor back or another thread steals
	// it (tens of µs on a small VM). Yielding runs the call at once on this
	// thread; the read loop resumes on another one.
	runtime.Gosched()
}

// workerIdle is how long a call worker waits for another call before it
// exits.
const workerIdle = 30 * time.Second

// run hands job to an idle worker goroutine, or starts one. A worker's
// stack has already grown to what a tool call needs; a fresh goroutine per
// call would grow (copy) it several times, on every call.
func (s *Server) run(job func()) {
	select {
	case s.jobs <- job:
	default:
		go s.worker(job)
	}
}

// worker runs job, then further jobs until it has idled for workerIdle or
// the server shuts down.
func (s *Server) worker(job func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		job()
		idle.Reset(workerIdle)
		select {
		case job = <-s.jobs:
		case <-idle.C:
			return
		case <-s.base.Done():
			return
		}
	}
}

// validToken reports whether a progress token is a string or a number.
func validToken(tok json.RawMessage) bool {
	if tok[0] == '"' {
		return true
	}
	var n float64
	return json.Unmarshal(tok, &n) == nil
}

// progressParams are notifications/progress params.
type progressParams struct {
	ProgressToken json.RawMessage `json:"progressToken"`
	Progress      float64         `json:"progress"`
	Message       string          `json:"message,omitempty"`
	Meta          map[string]any  `json:"_meta,omitempty"`
}

// callState serializes one call's notifications and makes sure none goes
// out after its response (or after the CreateTaskResult that answered it).
type callState struct {
	mu      sync.Mutex
	done    bool  // the response is being written
	task    *task // the call became this task
	started bool
	last    float64
}

// answered reports whether the request has been answered. Call with mu held.
func (st *callState) answered() bool { return st.done || st.task != nil }

func (s *Server) runCall(ctx context.Context, r *callRun) {
	defer s.running.Done()
	// The id is freed before the response (or the CreateTaskResult) is
	// written, so a client may reuse it as soon as it has the answer; the
	// slot is held until the handler returns.
	freeID := sync.OnceFunc(func() {
		s.mu.Lock()
		delete(s.calls, r.key)
		s.mu.Unlock()
	})
	freeSlot := sync.OnceFunc(func() { s.finish(r.q) })
	defer freeSlot()
	defer freeID()
	defer r.c.cancel()

	st := &callState{}
	call := &Call{}
	if token := json.RawMessage(r.meta.progress); token != nil {
		call.progress = func(p float64, msg Text, meta map[string]any) {
			st.mu.Lock()
			defer st.mu.Unlock()
			if st.answered() || ctx.Err() != nil {
				return
			}
			if math.IsNaN(p) || math.IsInf(p, 0) {
				p = st.last
			}
			if st.started && p <= st.last {
				p = math.Nextafter(st.last, math.Inf(1))
			}
			st.started, st.last = true, p
			s.stream.writeProgress(token, p, msg, meta)
		}
	}
	call.wantsLog = func(level string) bool { return s.logWanted(&r.meta, level) }
	call.log = func(level, logger string, data any) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.answered() || ctx.Err() != nil {
			return
		}
		s.logFor(&r.meta, level, logger, data)
	}
	var timer *time.Timer
	if r.meta.modern() && r.meta.tasks && r.t.Tasks {
		tail := &outputTail{}
		call.output = tail.add
		timer = time.AfterFunc(s.tasks.opts.After, func() { s.toTask(r, st, tail, freeID) })
	}
	defer call.responded()
	var res *Result
	if s.opts.Ready != nil {
		select {
		case <-s.opts.Ready:
		default:
			// While the sandbox starts, build the tool's schemas (its
			// arguments are decoded against them): the first call of a
			// tool would otherwise pay that (~2 ms for exec) after the
			// sandbox is up, on the path of a fresh server's first answer.
			if r.t.schemas != nil {
				r.t.schemas()
			}
			select {
			case <-s.opts.Ready:
			case <-ctx.Done():
				res = ErrorResult("cancelled while the sandbox was starting")
			}
		}
	}
	started := time.Now()
	if res == nil {
		res = s.invoke(ctx, call, r.t, r.args)
	}
	if timer != nil {
		timer.Stop()
	}
	st.mu.Lock()
	tk := st.task
	st.done = true
	st.mu.Unlock()
	freeID()
	freeSlot()

	if tk != nil {
		s.finishTask(tk, res, ctx.Err() != nil)
		return
	}
	if r.c.cancelled.Load() || s.base.Err() != nil {
		s.log.Debug().Str("tool", r.t.Name).Msg("call cancelled; no response")
		if r.f.batch != nil {
			r.f.batch.drop()
		}
		return
	}
	s.log.Debug().Str("tool", r.t.Name).Dur("took", time.Since(started)).Bool("is_error", res.IsError).Msg("call done")
	s.reply(r.f, &r.meta, s.callResult(res, r.version))
}

// callResult is the wire form of res for a client at version.
func (s *Server) callResult(res *Result, version string) *wireResult {
	out := &wireResult{Content: res.Content, IsError: res.IsError}
	if out.Content == nil {
		out.Content = []Content{}
	}
	if res.Structured != nil && version >= "2025-06-18" {
		out.StructuredContent = res.Structured
	}
	return out
}

// logWanted reports whether a call's client asked for messages at level.
func (s *Server) logWanted(m *reqMeta, level string) bool {
	idx := levelIndex(level)
	if m.modern() {
		return m.logLevel >= 0 && idx >= m.logLevel
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logLevel >= 0 && idx >= s.logLevel
}

// logFor sends notifications/message for a call when its client asked
// for level: a modern request by _meta logLevel, a legacy client by
// logging/setLevel.
func (s *Server) logFor(m *reqMeta, level, logger string, data any) {
	if m.modern() {
		if m.logLevel < 0 || levelIndex(level) < m.logLevel {
			return
		}
		p := map[string]any{"level": level, "data": data}
		if logger != "" {
			p["logger"] = logger
		}
		s.stream.writeNotification("notifications/message", p)
		return
	}
	s.LogMessage(level, logger, data)
}

// levelIndex is level's index in logLevels (-1: unknown).
func levelIndex(level string) int {
	for i, l := range logLevels {
		if l == level {
			return i
		}
	}
	return -1
}
