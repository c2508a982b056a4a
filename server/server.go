package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/rs/zerolog"
	"github.com/sourcegraph/jsonrpc2"

	"github.com/sbx-mcp/sbx-mcp/jsonwire"
)

// Protocol versions this server speaks, newest first.
var Versions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// LatestVersion is answered to clients asking for an unknown version.
const LatestVersion = "2025-11-25"

// Options configure a Server.
type Options struct {
	Name         string // serverInfo.name
	Version      string // serverInfo.version
	Instructions string // initialize's instructions (keep it under 2 KB)
	// InstructionsFunc, when set, replaces Instructions and is called for
	// each initialize (e.g. to report state known only once started).
	InstructionsFunc func() string
	// Ready, when set, gates tools/call: handlers run only once it is
	// closed (the call's cancellation still applies while waiting). The
	// handshake, ping and tools/list never wait, so a slow start-up does
	// not delay initialize.
	Ready <-chan struct{}
	Tools []Tool // in tools/list order; duplicate names panic
	Log   zerolog.Logger
	// MaxCalls bounds concurrently running tools/call requests (default
	// 64). Calls beyond it wait in a FIFO queue of at most MaxQueued calls
	// (default 10000) and MaxQueuedBytes of params (default 256 MiB), and
	// start in arrival order as running calls end; past those bounds a
	// call gets a "server busy" isError result at once.
	MaxCalls       int
	MaxQueued      int
	MaxQueuedBytes int
	// MaxLine bounds one input line (default MaxLine).
	MaxLine int
	// Cleanups run in order at shutdown, after every call was cancelled.
	Cleanups []func()
	// ShutdownGrace bounds how long shutdown waits for cancelled calls to
	// return before running Cleanups (default 700ms).
	ShutdownGrace time.Duration
	// CleanupTimeout bounds how long Serve waits for Cleanups (default
	// 1s), so the process exits within 2 s of a signal.
	CleanupTimeout time.Duration
	// ExitGrace is how long calls still running at EOF of the input may
	// go on and answer before they are cancelled (0: cancel at once). A
	// script that pipes requests in and closes its end gets its answers;
	// a cancelled ctx (a signal) and a failed write never wait.
	ExitGrace time.Duration
	// Tasks configures the Tasks extension (tasks.go).
	Tasks TaskOptions
}

// Server is one MCP server connection.
type Server struct {
	opts  Options
	tools map[string]*Tool
	order []string
	log   zerolog.Logger

	stream *Stream
	base   context.Context // parent of every call's context; cancelled at shutdown
	stop   context.CancelFunc

	mu          sync.Mutex
	initialized bool
	version     string
	logLevel    int // index into logLevels; -1: client never asked
	calls       map[string]*inflight
	subs        map[string]*subscription // open subscriptions/listen requests
	closing     bool                     // set by shutdown; no call starts after it

	resultMeta jsontext.Value // every modern result's _meta (serverInfo)
	tasks      *taskStore

	running sync.WaitGroup // tools/call goroutines
	sched   sched          // running and queued calls (queue.go; under mu)
	jobs    chan func()    // unbuffered: a send succeeds when a worker is idle
}

// inflight is one running tools/call.
type inflight struct {
	cancel    context.CancelFunc
	cancelled atomic.Bool // by notifications/cancelled: send no response
	q         *queued     // its place in the scheduler (under mu)
}

// logLevels are MCP's syslog levels, least severe first.
var logLevels = []string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// New returns a Server for opts. It panics on duplicate tool names.
func New(opts Options) *Server {
	if opts.MaxCalls <= 0 {
		opts.MaxCalls = 64
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 10000
	}
	if opts.MaxQueuedBytes <= 0 {
		opts.MaxQueuedBytes = 256 << 20
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 700 * time.Millisecond
	}
	if opts.CleanupTimeout <= 0 {
		opts.CleanupTimeout = time.Second
	}
	if opts.Name == "" {
		opts.Name = "sbx-mcp"
	}
	s := &Server{
		opts:     opts,
		tools:    map[string]*Tool{},
		log:      opts.Log,
		logLevel: -1,
		calls:    map[string]*inflight{},
		subs:     map[string]*subscription{},
		sched:    sched{lines: map[string]*callList{}},
		jobs:     make(chan func()),
	}
	meta, err := jsonwire.Encode(map[string]any{metaServerInfo: s.implementation(true, false)})
	if err != nil {
		panic(err)
	}
	s.resultMeta = meta
	s.tasks = newTaskStore(opts.Tasks)
	for i := range opts.Tools {
		t := &opts.Tools[i]
		if _, dup := s.tools[t.Name]; dup {
			panic("server: duplicate tool " + t.Name)
		}
		s.tools[t.Name] = t
		s.order = append(s.order, t.Name)
	}
	return s
}

// Serve speaks MCP on r/w until r ends, a write fails or ctx is cancelled;
// then it cancels every call, waits up to ShutdownGrace for them, runs the
// cleanups and returns nil. It may be called once.
func (s *Server) Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	s.base, s.stop = context.WithCancel(context.Background())
	s.stream = NewStream(r, w, s.opts.MaxLine)
	// onWErr is set before the read loop starts (it may write at once); it
	// runs in its own goroutine and waits until conn exists.
	var conn *jsonrpc2.Conn
	connSet := make(chan struct{})
	s.stream.onWErr = func(err error) {
		<-connSet
		s.log.Warn().Err(err).Msg("write to client failed; shutting down")
		conn.Close()
	}
	conn = jsonrpc2.NewConn(s.base, s.stream, s, jsonrpc2.SetLogger(nopLogger{}))
	close(connSet)
	select {
	case <-conn.DisconnectNotify():
		s.log.Debug().Msg("client closed the connection")
		if !s.stream.writeFailed() {
			s.drain(ctx)
		}
	case <-ctx.Done():
		s.log.Debug().Msg("shutdown requested")
		conn.Close()
	}
	s.shutdown()
	return nil
}

// drain waits, after EOF of the input, until the calls still running have
// answered, ExitGrace has passed, ctx is cancelled or a write fails. No
// call starts any more: the read loop has ended.
func (s *Server) drain(ctx context.Context) {
	if s.opts.ExitGrace <= 0 {
		return
	}
	done := make(chan struct{})
	go func() { s.running.Wait(); close(done) }() // owner: drain; ends once shutdown cancels the calls at the latest
	grace := time.NewTimer(s.opts.ExitGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		s.log.Warn().Dur("exit_grace", s.opts.ExitGrace).Msg("input ended; calls still running after the exit grace are cancelled")
	case <-ctx.Done():
	case <-s.stream.writeFailedNotify():
	}
}

// shutdown cancels all calls, waits a bounded time and runs the cleanups.
func (s *Server) shutdown() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.dropQueued() // first: a cancelled call that ends passes its slot on to none
	s.stop()
	s.closeSubscriptions()
	done := make(chan struct{})
	go func() { s.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.opts.ShutdownGrace):
		s.log.Warn().Msg("tool calls still running at shutdown; cleaning up anyway")
	}
	cleaned := make(chan struct{})
	go func() { // owner: shutdown; exits when every cleanup returned
		defer close(cleaned)
		for _, f := range s.opts.Cleanups {
			func() {
				defer func() {
					if r := recover(); r != nil {
						s.log.Error().Interface("panic", r).Msg("cleanup panicked")
					}
				}()
				f()
			}()
		}
	}()
	select {
	case <-cleaned:
	case <-time.After(s.opts.CleanupTimeout):
		s.log.Warn().Msg("cleanups still running at the shutdown deadline; exiting anyway")
	}
}

// nopLogger silences jsonrpc2's own logging (protocol errors are answered
// by the Stream).
type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// methods maps request methods to handlers that run on the read loop.
// tools/call returns at once and runs the tool in its own goroutine.
var methods = map[string]func(s *Server, f *frame) (any, *wireError){
	"initialize":       (*Server).initialize,
	"ping":             func(*Server, *frame) (any, *wireError) { return nil, nil },
	"logging/setLevel": (*Server).setLevel,
	"tools/list":       func(s *Server, f *frame) (any, *wireError) { return s.listTools(f, s.negotiated()) },
	"tools/call":       nil, // handled in Handle (asynchronous)
}

// notifications maps notification methods to handlers; unknown ones are
// ignored.
var notifications = map[string]func(s *Server, f *frame){
	"notifications/cancelled":   (*Server).cancelled,
	"notifications/initialized": func(*Server, *frame) {},
}

// Handle implements jsonrpc2.Handler. It runs on the read loop, so it must
// not block: long work (tools/call) goes to a goroutine.
func (s *Server) Handle(ctx context.Context, _ *jsonrpc2.Conn, req *jsonrpc2.Request) {
	f := s.stream.take(req.ID.Num, req.Notif)
	if f == nil {
		s.log.Error().Str("method", req.Method).Msg("internal: frame lost between read and handle")
		return
	}
	if f.id == nil {
		if h, ok := notifications[f.method]; ok {
			h(s, f)
		}
		return
	}
	if f.method == "tools/call" {
		s.startCall(f)
		return
	}
	m, werr := metaOf(f.params)
	if werr == nil {
		werr = checkVersion(&m)
	}
	if werr != nil {
		s.replyError(f, *werr)
		return
	}
	if m.modern() {
		s.handleModern(f, &m)
		return
	}
	if f.method == "server/discover" {
		s.reply(f, nil, s.discover()) // the probe of a dual-era client
		return
	}
	h, ok := methods[f.method]
	if !ok {
		s.replyError(f, wireError{Code: CodeMethodNotFound, Message: "Method not found: " + f.method})
		return
	}
	if f.method != "initialize" && f.method != "ping" && !s.isInitialized() {
		s.replyError(f, notInitialized())
		return
	}
	res, werr := h(s, f)
	if werr != nil {
		s.replyError(f, *werr)
		return
	}
	s.reply(f, nil, res)
}

// notInitialized answers a legacy request before initialize.
func notInitialized() wireError {
	return wireError{Code: CodeInvalidRequest, Message: "Invalid Request: the server is not initialized; send initialize first (or, for protocol " +
		ModernVersion + ", put " + metaProtocolVersion + " in the request's _meta)"}
}

func (s *Server) isInitialized() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initialized
}

// reply answers f with res: {} when nil, and with the modern fields when m
// is a modern request.
func (s *Server) reply(f *frame, m *reqMeta, res any) {
	if m.modern() {
		res = s.modernize(res)
	}
	if f.batch != nil {
		if res == nil {
			res = struct{}{}
		}
		f.batch.add(f.batchAt, response{JSONRPC: "2.0", ID: f.id, Result: res})
		return
	}
	s.stream.writeResult(f.id, res)
}

// replyError answers f with an error object.
func (s *Server) replyError(f *frame, e wireError) {
	if f.batch != nil {
		f.batch.add(f.batchAt, response{JSONRPC: "2.0", ID: f.id, Error: &e})
		return
	}
	s.stream.writeError(f.id, e)
}

func invalidParams(format string, args ...any) *wireError {
	return &wireError{Code: CodeInvalidParams, Message: "Invalid params: " + fmt.Sprintf(format, args...)}
}

// decodeParams decodes f.params (absent: {}) into v.
func decodeParams(f *frame, v any) *wireError {
	p := f.params
	if p == nil {
		p = json.RawMessage("{}")
	}
	if err := jsonwire.Unmarshal(p, v); err != nil {
		return invalidParams("%s", describeDecodeError(err, "params"))
	}
	return nil
}

// Negotiate returns the protocol version answered to a client asking for v.
func Negotiate(v string) string {
	for _, known := range Versions {
		if v == known {
			return v
		}
	}
	return LatestVersion
}

// negotiated returns the version initialize agreed on ("" before it).
func (s *Server) negotiated() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

func (s *Server) initialize(f *frame) (any, *wireError) {
	var p struct {
		ProtocolVersion string `json:"protocolVersion"`
		ClientInfo      struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"clientInfo"`
	}
	if werr := decodeParams(f, &p); werr != nil {
		return nil, werr
	}
	v := Negotiate(p.ProtocolVersion)
	s.mu.Lock()
	if s.initialized {
		s.mu.Unlock()
		return nil, &wireError{Code: CodeInvalidRequest, Message: "Invalid Request: already initialized"}
	}
	s.initialized = true
	s.version = v
	s.mu.Unlock()
	if v == "2025-03-26" {
		s.stream.batchOK.Store(true) // the one revision with JSON-RPC batches
	}
	s.log.Info().Str("client", p.ClientInfo.Name).Str("client_version", p.ClientInfo.Version).
		Str("asked", p.ProtocolVersion).Str("protocol", v).Msg("initialize")
	res := map[string]any{
		"protocolVersion": v,
		"capabilities":    map[string]any{"tools": map[string]any{}, "logging": map[string]any{}},
		"serverInfo":      s.implementation(v >= "2025-06-18", false),
	}
	if instr := s.instructions(); instr != "" {
		res["instructions"] = instr
	}
	return res, nil
}

func (s *Server) setLevel(f *frame) (any, *wireError) {
	var p struct {
		Level string `json:"level"`
	}
	if werr := decodeParams(f, &p); werr != nil {
		return nil, werr
	}
	for i, l := range logLevels {
		if l == p.Level {
			s.mu.Lock()
			s.logLevel = i
			s.mu.Unlock()
			return nil, nil
		}
	}
	return nil, invalidParams("level must be one of %v", logLevels)
}

// LogMessage sends notifications/message when the client asked for level
// (or a less severe one) with logging/setLevel. Never pass secrets.
func (s *Server) LogMessage(level, logger string, data any) {
	idx := -1
	for i, l := range logLevels {
		if l == level {
			idx = i
		}
	}
	s.mu.Lock()
	min := s.logLevel
	s.mu.Unlock()
	if min < 0 || idx < min || s.stream == nil {
		return
	}
	p := map[string]any{"level": level, "data": data}
	if logger != "" {
		p["logger"] = logger
	}
	s.stream.writeNotification("notifications/message", p)
}

// wireTool is a tool as listed in tools/list.
type wireTool struct {
	Name         string          `json:"name"`
	Title        string          `json:"title,omitempty"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
	Annotations  *Annotations    `json:"annotations,omitempty"`
}

// listTools answers tools/list for a client at version. There is one page:
// any cursor is unknown.
func (s *Server) listTools(f *frame, version string) (any, *wireError) {
	var p struct {
		Cursor *string `json:"cursor"`
	}
	if werr := decodeParams(f, &p); werr != nil {
		return nil, werr
	}
	if p.Cursor != nil {
		return nil, invalidParams("unknown cursor %q: tools/list returns every tool in one page; call it without a cursor", *p.Cursor)
	}
	structured := version >= "2025-06-18"
	annotations := version >= "2025-03-26"
	list := make([]wireTool, 0, len(s.order))
	for _, name := range s.order {
		t := s.tools[name]
		in, outSchema := t.Schemas()
		wt := wireTool{Name: t.Name, Description: t.Description, InputSchema: in}
		if wt.InputSchema == nil {
			wt.InputSchema = json.RawMessage(`{"type":"object"}`)
		}
		if structured {
			wt.Title = t.Title
			wt.OutputSchema = outSchema
		}
		if annotations {
			a := t.Annotations
			wt.Annotations = &a
		}
		list = append(list, wt)
	}
	res := map[string]any{"tools": list}
	if version == ModernVersion {
		res["ttlMs"], res["cacheScope"] = listTTLMs, "private"
	}
	return res, nil
}

func (s *Server) cancelled(f *frame) {
	var p struct {
		RequestID json.RawMessage `json:"requestId"`
		Reason    string          `json:"reason"`
	}
	if decodeParams(f, &p) != nil {
		return
	}
	key, ok := idKey(p.RequestID)
	if !ok {
		return
	}
	s.mu.Lock()
	c := s.calls[key]
	if sub := s.subs[key]; sub != nil {
		delete(s.subs, key) // a closed subscriptions/listen: no response
	}
	unqueued := c != nil && s.unqueueLocked(c.q)
	if unqueued {
		delete(s.calls, key)
	}
	s.mu.Unlock()
	if unqueued { // it never ran: it leaves the queue now, unanswered
		s.log.Debug().RawJSON("id", p.RequestID).Str("reason", p.Reason).Msg("queued call cancelled by client")
		c.q.drop()
		s.running.Done()
		return
	}
	if c != nil {
		s.log.Debug().RawJSON("id", p.RequestID).Str("reason", p.Reason).Msg("call cancelled by client")
		c.cancelled.Store(true)
		c.cancel()
	}
}

// invoke runs the tool's handler, turning a panic into an isError result.
func (s *Server) invoke(ctx context.Context, call *Call, t *Tool, args json.RawMessage) (res *Result) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error().Str("tool", t.Name).Interface("panic", r).Bytes("stack", debug.Stack()).Msg("tool panicked")
			res = ErrorResult(fmt.Sprintf("internal error in %s: %v", t.Name, r))
		}
	}()
	res = t.Handle(ctx, call, args)
	if res == nil {
		res = &Result{Content: []Content{}}
	}
	return res
}

// ErrorResult is an isError result with one text block.
func ErrorResult(text string) *Result {
	return &Result{Content: []Content{{Type: "text", Text: String(text)}}, IsError: true}
}
