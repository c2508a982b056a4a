package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sbx-mcp/sbx-mcp/jsonwire"
)

// The Tasks extension (io.modelcontextprotocol/tasks, github.com/
// modelcontextprotocol/ext-tasks): a tools/call of a tool marked WithTasks,
// from a modern request that declares the extension, that is still running
// after TaskOptions.After is answered with a CreateTaskResult
// (resultType "task") and goes on in the background:
//
//	tools/call ──After──► CreateTaskResult{taskId, status: working}
//	tasks/get  ──► working (statusMessage: the output's tail) … completed {result} | failed {error} | cancelled
//	tasks/cancel ──► the call's context is cancelled, as notifications/cancelled does
//	subscriptions/listen {taskIds} ──► notifications/tasks on each change of status
//
// A finished task's result is kept for TTL after it finished, and at most
// MaxKept results and MaxBytes bytes of them are kept (the oldest go
// first). A working task never expires. Progress and log notifications
// stop once the call is a task (the spec has no place for them).

// TaskOptions configure the Tasks extension.
type TaskOptions struct {
	After        time.Duration    // a call running this long becomes a task (default 5s)
	TTL          time.Duration    // a finished task is kept this long (default 1h)
	PollInterval time.Duration    // suggested tasks/get interval (default 1s)
	MaxKept      int              // finished tasks kept at most (default 64)
	MaxBytes     int              // bytes of finished results kept at most (default 32 MiB)
	Now          func() time.Time // the clock (tests)
}

// task is one tools/call answered with a task handle.
type task struct {
	id      string
	tool    string
	created time.Time
	cancel  func()
	tail    *outputTail

	// guarded by taskStore.mu
	status      string // working, completed, failed, cancelled
	updated     time.Time
	finished    time.Time
	message     string
	result      jsontext.Value // completed: the CallToolResult
	err         *wireError     // failed
	cancelAsked bool
}

// taskStore holds the tasks of one server.
type taskStore struct {
	opts TaskOptions

	mu       sync.Mutex
	tasks    map[string]*task
	finished []*task // oldest first
	bytes    int     // of the finished tasks' results
}

func newTaskStore(o TaskOptions) *taskStore {
	if o.After <= 0 {
		o.After = 5 * time.Second
	}
	if o.TTL <= 0 {
		o.TTL = time.Hour
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.MaxKept <= 0 {
		o.MaxKept = 64
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 32 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &taskStore{opts: o, tasks: map[string]*task{}}
}

// outputTail keeps the last tailSize bytes of a call's output.
type outputTail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 2 << 10

func (o *outputTail) add(data []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(data) >= tailSize {
		o.buf = append(o.buf[:0], data[len(data)-tailSize:]...)
		return
	}
	if over := len(o.buf) + len(data) - tailSize; over > 0 {
		o.buf = append(o.buf[:0], o.buf[over:]...)
	}
	o.buf = append(o.buf, data...)
}

// String is the tail as valid UTF-8, starting at a line when it can.
func (o *outputTail) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buf
	for len(b) > 0 && !utf8.RuneStart(b[0]) {
		b = b[1:]
	}
	s := strings.ToValidUTF8(string(b), "\ufffd")
	if i := strings.IndexByte(s, '\n'); len(o.buf) == tailSize && i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return s
}

// newTaskID is 128 random bits: unguessable, as the spec asks.
func newTaskID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// toTask answers the call r with a CreateTaskResult, unless it was answered
// already. It runs on the After timer.
func (s *Server) toTask(r *callRun, st *callState, tail *outputTail, freeID func()) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.answered() {
		return
	}
	ts := s.tasks
	now := ts.opts.Now()
	tk := &task{id: newTaskID(), tool: r.t.Name, created: now, cancel: r.c.cancel, tail: tail, status: "working", updated: now}
	ts.mu.Lock()
	ts.tasks[tk.id] = tk
	res := ts.detailed(tk, now)
	ts.mu.Unlock()
	st.task = tk
	s.log.Debug().Str("tool", r.t.Name).Str("task", tk.id).Msg("call became a task")
	freeID()
	res["resultType"] = "task"
	s.reply(r.f, &r.meta, res)
}

// finishTask records the end of a task's call.
func (s *Server) finishTask(tk *task, res *Result, ctxDone bool) {
	ts := s.tasks
	var encoded []byte
	var encErr error
	if !ctxDone {
		encoded, encErr = jsonwire.Encode(s.modernize(s.callResult(res, ModernVersion)))
	}
	now := ts.opts.Now()
	ts.mu.Lock()
	switch {
	case ctxDone:
		tk.status = "cancelled"
		tk.message = "cancelled"
		if !tk.cancelAsked {
			tk.message = "cancelled: the server is shutting down"
		}
	case encErr != nil:
		tk.status = "failed"
		tk.err = &wireError{Code: CodeInternalError, Message: "Internal error: encode result: " + encErr.Error()}
		tk.message = tk.err.Message
	default:
		tk.status = "completed"
		tk.result = encoded
		if res.IsError {
			tk.message = "completed with a tool error (isError)"
		}
	}
	tk.updated, tk.finished = now, now
	ts.finished = append(ts.finished, tk)
	ts.bytes += len(tk.result)
	for len(ts.finished) > ts.opts.MaxKept || (ts.bytes > ts.opts.MaxBytes && len(ts.finished) > 1) {
		old := ts.finished[0]
		ts.finished = ts.finished[1:]
		ts.bytes -= len(old.result)
		delete(ts.tasks, old.id)
	}
	detail := ts.detailed(tk, now)
	ts.mu.Unlock()
	s.notifyTask(tk.id, detail)
}

// sweep forgets finished tasks past their TTL. Call with mu held.
func (ts *taskStore) sweep(now time.Time) {
	for len(ts.finished) > 0 && now.Sub(ts.finished[0].finished) > ts.opts.TTL {
		old := ts.finished[0]
		ts.finished = ts.finished[1:]
		ts.bytes -= len(old.result)
		delete(ts.tasks, old.id)
	}
}

// detailed is the DetailedTask of tk as of now. Call with mu held.
func (ts *taskStore) detailed(tk *task, now time.Time) map[string]any {
	// ttlMs counts from creation: a working task's moves with it, so it
	// never expires while it runs.
	end := now
	if tk.status != "working" {
		end = tk.finished
	}
	d := map[string]any{
		"taskId":         tk.id,
		"status":         tk.status,
		"createdAt":      tk.created.UTC().Format(time.RFC3339Nano),
		"lastUpdatedAt":  tk.updated.UTC().Format(time.RFC3339Nano),
		"ttlMs":          (end.Sub(tk.created) + ts.opts.TTL).Milliseconds(),
		"pollIntervalMs": ts.opts.PollInterval.Milliseconds(),
	}
	switch tk.status {
	case "working":
		msg := fmt.Sprintf("%s running for %s", tk.tool, now.Sub(tk.created).Round(time.Second))
		if out := tk.tail.String(); out != "" {
			msg += "; output so far (tail):\n" + out
		}
		d["statusMessage"] = msg
	case "completed":
		d["result"] = tk.result
	case "failed":
		d["error"] = tk.err
	}
	if tk.status != "working" && tk.message != "" {
		d["statusMessage"] = tk.message
	}
	return d
}

// taskParams are the params of tasks/get, tasks/cancel and tasks/update.
type taskParams struct {
	TaskID *string `json:"taskId"`
}

// findTask looks a task up for a Tasks request.
func (s *Server) findTask(f *frame, m *reqMeta) (*task, *wireError) {
	if !m.tasks {
		e := missingTasks()
		return nil, &e
	}
	var p taskParams
	if werr := decodeParams(f, &p); werr != nil {
		return nil, werr
	}
	if p.TaskID == nil {
		return nil, invalidParams(`"taskId" is required`)
	}
	ts := s.tasks
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.sweep(ts.opts.Now())
	tk := ts.tasks[*p.TaskID]
	if tk == nil {
		return nil, invalidParams("Failed to retrieve task: task %q not found (unknown, or its result expired after its TTL)", *p.TaskID)
	}
	return tk, nil
}

func (s *Server) taskGet(f *frame, m *reqMeta) (any, *wireError) {
	tk, werr := s.findTask(f, m)
	if werr != nil {
		return nil, werr
	}
	ts := s.tasks
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.detailed(tk, ts.opts.Now()), nil
}

// taskCancel cancels a working task's call (its processes are killed the
// way notifications/cancelled kills them); the task then ends "cancelled".
func (s *Server) taskCancel(f *frame, m *reqMeta) (any, *wireError) {
	tk, werr := s.findTask(f, m)
	if werr != nil {
		return nil, werr
	}
	s.tasks.mu.Lock()
	working := tk.status == "working"
	if working {
		tk.cancelAsked = true
	}
	s.tasks.mu.Unlock()
	if working {
		tk.cancel()
	}
	return nil, nil
}

// taskUpdate acknowledges tasks/update: no task of this server ever needs
// input, so there is nothing to take from it.
func (s *Server) taskUpdate(f *frame, m *reqMeta) (any, *wireError) {
	if _, werr := s.findTask(f, m); werr != nil {
		return nil, werr
	}
	return nil, nil
}

// subscription is an open subscriptions/listen request.
type subscription struct {
	id      json.RawMessage
	taskIDs map[string]bool
}

// listen opens a subscription: it acknowledges what it will deliver and
// sends no response until the client cancels it (then none at all) or the
// server shuts down (closeSubscriptions). The tool list never changes, so
// only task status notifications are ever delivered.
func (s *Server) listen(f *frame, m *reqMeta) {
	var p struct {
		Notifications *struct {
			TaskIDs []string `json:"taskIds"`
		} `json:"notifications"`
	}
	if werr := decodeParams(f, &p); werr != nil {
		s.replyError(f, *werr)
		return
	}
	if p.Notifications == nil {
		s.replyError(f, *invalidParams(`"notifications" is required: the notification types to subscribe to`))
		return
	}
	if len(p.Notifications.TaskIDs) > 0 && !m.tasks {
		s.replyError(f, missingTasks())
		return
	}
	key, _ := idKey(f.id)
	sub := &subscription{id: f.id, taskIDs: map[string]bool{}}
	acked := map[string]any{}
	if len(p.Notifications.TaskIDs) > 0 {
		s.tasks.mu.Lock()
		ids := []string{}
		for _, id := range p.Notifications.TaskIDs {
			if s.tasks.tasks[id] != nil && !sub.taskIDs[id] {
				sub.taskIDs[id] = true
				ids = append(ids, id)
			}
		}
		s.tasks.mu.Unlock()
		acked["taskIds"] = ids
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	if _, dup := s.subs[key]; dup {
		s.mu.Unlock()
		s.replyError(f, wireError{Code: CodeInvalidRequest, Message: "Invalid Request: a subscription with this id is open"})
		return
	}
	s.subs[key] = sub
	// The acknowledgement goes out under s.mu, so no task notification for
	// this subscription can overtake it.
	s.stream.writeNotification("notifications/subscriptions/acknowledged", map[string]any{
		"_meta":         map[string]any{metaSubscriptionID: f.id},
		"notifications": acked,
	})
	s.mu.Unlock()
}

// notifyTask sends notifications/tasks to the subscriptions that asked for
// the task.
func (s *Server) notifyTask(id string, detail map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		if !sub.taskIDs[id] {
			continue
		}
		p := make(map[string]any, len(detail)+1)
		for k, v := range detail {
			p[k] = v
		}
		p["_meta"] = map[string]any{metaSubscriptionID: sub.id}
		s.stream.writeNotification("notifications/tasks", p)
	}
}

// closeSubscriptions ends every open subscription gracefully (shutdown).
func (s *Server) closeSubscriptions() {
	s.mu.Lock()
	subs := s.subs
	s.subs = map[string]*subscription{}
	s.mu.Unlock()
	for _, sub := range subs {
		s.stream.writeResult(sub.id, map[string]any{
			"resultType": "complete",
			"_meta":      map[string]any{metaSubscriptionID: sub.id, metaServerInfo: s.implementation(true, false)},
		})
	}
}
