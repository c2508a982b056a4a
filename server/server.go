package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
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
	// 64); calls beyond it get an isError result at once.
	MaxCalls int
	// MaxLine bounds one input line (default MaxLine).
	MaxLine int
	// Cleanups run in order at shutdown, after every call was cancelled.
	Cleanups []func()
	// ShutdownGrace bounds how long shutdown waits for cancelled calls to
	// return before running Cleanups (default 700ms).
	ShutdownGrace time.Duration
	// CleanupTimeout bounds how long Serve waits for Cleanups (default
	// 1s), so the process exits within 2 s of EOF or a signal.
	CleanupTimeout time.Duration
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
	closing     bool // set by shutdown; no call starts after it

	running sync.WaitGroup // tools/call goroutines
	slots   chan struct{}  // capacity MaxCalls
	jobs    chan func()    // unbuffered: a send succeeds when a worker is idle
}

// inflight is one running tools/call.
type inflight struct {
	cancel    context.CancelFunc
	cancelled atomic.Bool // by notifications/cancelled: send no response
}

// logLevels are MCP's syslog levels, least severe first.
var logLevels = []string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// New returns a Server for opts. It panics on duplicate tool names.
func New(opts Options) *Server {
	if opts.MaxCalls <= 0 {
		opts.MaxCalls = 64
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
		slots:    make(chan struct{}, opts.MaxCalls),
		jobs:     make(chan func()),
	}
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
	case <-ctx.Done():
		s.log.Debug().Msg("shutdown requested")
		conn.Close()
	}
	s.shutdown()
	return nil
}

// shutdown cancels all calls, waits a bounded time and runs the cleanups.
func (s *Server) shutdown() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.stop()
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
	"tools/list":       (*Server).listTools,
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
	h, ok := methods[f.method]
	if !ok {
		s.stream.writeError(f.id, wireError{CodeMethodNotFound, "Method not found: " + f.method})
		return
	}
	if f.method != "initialize" && f.method != "ping" {
		s.mu.Lock()
		init := s.initialized
		s.mu.Unlock()
		if !init {
			s.stream.writeError(f.id, wireError{CodeInvalidRequest, "Invalid Request: the server is not initialized; send initialize first"})
			return
		}
	}
	if f.method == "tools/call" {
		s.startCall(f)
		return
	}
	res, werr := h(s, f)
	if werr != nil {
		s.stream.writeError(f.id, *werr)
		return
	}
	s.stream.writeResult(f.id, res)
}

func invalidParams(format string, args ...any) *wireError {
	return &wireError{CodeInvalidParams, "Invalid params: " + fmt.Sprintf(format, args...)}
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

// atLeast reports whether the negotiated version is v or newer (the
// version strings are dates, so they compare as strings).
func (s *Server) atLeast(v string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version >= v
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
		return nil, &wireError{CodeInvalidRequest, "Invalid Request: already initialized"}
	}
	s.initialized = true
	s.version = v
	s.mu.Unlock()
	s.log.Info().Str("client", p.ClientInfo.Name).Str("client_version", p.ClientInfo.Version).
		Str("asked", p.ProtocolVersion).Str("protocol", v).Msg("initialize")
	info := map[string]any{"name": s.opts.Name, "version": s.opts.Version}
	if v >= "2025-06-18" {
		info["title"] = "sbx-mcp sandbox"
	}
	res := map[string]any{
		"protocolVersion": v,
		"capabilities":    map[string]any{"tools": map[string]any{}, "logging": map[string]any{}},
		"serverInfo":      info,
	}
	instr := s.opts.Instructions
	if s.opts.InstructionsFunc != nil {
		instr = s.opts.InstructionsFunc()
	}
	if instr != "" {
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

func (s *Server) listTools(*frame) (any, *wireError) {
	structured := s.atLeast("2025-06-18")
	annotations := s.atLeast("2025-03-26")
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
	return map[string]any{"tools": list}, nil
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
	s.mu.Unlock()
	if c != nil {
		s.log.Debug().RawJSON("id", p.RequestID).Str("reason", p.Reason).Msg("call cancelled by client")
		c.cancelled.Store(true)
		c.cancel()
	}
}

// callParams are tools/call's params.
type callParams struct {
	Name      *string
	Arguments json.RawMessage // a sub-slice of the frame's params
	Meta      struct {
		ProgressToken jsontext.Value `json:"progressToken"`
	}
}

// splitCallParams takes tools/call's params apart. The frame was validated
// as a whole, so the arguments (possibly megabytes) are located, not
// decoded or validated again; the small members are decoded.
func splitCallParams(params json.RawMessage) (callParams, *wireError) {
	var p callParams
	if params == nil {
		return p, nil
	}
	if params[0] != '{' {
		return p, invalidParams("params must be an object, got %s", withArticle(jsonwire.Kind(params)))
	}
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
			if err := jsonwire.Unmarshal(val, &p.Meta); err != nil {
				return errors.New(describeDecodeError(err, `"_meta"`))
			}
		}
		return nil
	})
	if err != nil {
		return p, invalidParams("%v", err)
	}
	return p, nil
}

// wireResult is a tools/call result.
type wireResult struct {
	Content           []Content `json:"content"`
	StructuredContent any       `json:"structuredContent,omitempty"`
	IsError           bool      `json:"isError"`
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
	if werr != nil {
		s.stream.writeError(f.id, *werr)
		return
	}
	if p.Name == nil {
		s.stream.writeError(f.id, *invalidParams(`"name" is required`))
		return
	}
	t, ok := s.tools[*p.Name]
	if !ok {
		s.stream.writeError(f.id, *invalidParams("unknown tool %q; tools/list shows the available tools", *p.Name))
		return
	}
	args := json.RawMessage(p.Arguments)
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	} else if args[0] != '{' {
		s.stream.writeError(f.id, *invalidParams(`"arguments" must be an object`))
		return
	}
	var token json.RawMessage
	if tok := json.RawMessage(p.Meta.ProgressToken); len(tok) > 0 && string(tok) != "null" {
		if !validToken(tok) {
			s.stream.writeError(f.id, *invalidParams(`"_meta.progressToken" must be a string or a number`))
			return
		}
		token = tok
	}
	key, _ := idKey(f.id)
	select {
	case s.slots <- struct{}{}:
	default:
		s.stream.writeResult(f.id, wireResult{
			Content: []Content{{Type: "text", Text: String(fmt.Sprintf("server busy: %d tool calls are already running; wait for one to finish and retry", s.opts.MaxCalls))}},
			IsError: true,
		})
		return
	}
	ctx, cancel := context.WithCancel(s.base)
	c := &inflight{cancel: cancel}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		cancel()
		<-s.slots
		return // shutting down: nobody reads a response
	}
	if _, dup := s.calls[key]; dup {
		s.mu.Unlock()
		cancel()
		<-s.slots
		s.stream.writeError(f.id, wireError{CodeInvalidRequest, "Invalid Request: a call with this id is still running"})
		return
	}
	s.calls[key] = c
	s.running.Add(1) // under s.mu, ordered before shutdown's Wait
	s.mu.Unlock()

	handed = true
	s.run(func() {
		s.runCall(ctx, f.id, key, c, t, args, token)
		f.release()
	})
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

// progressState serializes one call's progress notifications and makes
// sure none goes out after the response.
type progressState struct {
	mu      sync.Mutex
	done    bool
	started bool
	last    float64
}

func (s *Server) runCall(ctx context.Context, id json.RawMessage, key string, c *inflight, t *Tool, args, token json.RawMessage) {
	defer s.running.Done()
	// finish frees the id and the slot; it runs before the response is
	// written, so a client may reuse the id (or the slot) as soon as it
	// has the response.
	finished := false
	finish := func() {
		if finished {
			return
		}
		finished = true
		s.mu.Lock()
		delete(s.calls, key)
		s.mu.Unlock()
		<-s.slots
	}
	defer finish()
	defer c.cancel()

	ps := &progressState{}
	var progress func(float64, Text, map[string]any)
	if token != nil {
		progress = func(p float64, msg Text, meta map[string]any) {
			ps.mu.Lock()
			defer ps.mu.Unlock()
			if ps.done || ctx.Err() != nil {
				return
			}
			if math.IsNaN(p) || math.IsInf(p, 0) {
				p = ps.last
			}
			if ps.started && p <= ps.last {
				p = math.Nextafter(ps.last, math.Inf(1))
			}
			ps.started, ps.last = true, p
			s.stream.writeProgress(token, p, msg, meta)
		}
	}
	call := NewCall(progress)
	call.log = s.LogMessage
	defer call.responded()
	var res *Result
	if s.opts.Ready != nil {
		select {
		case <-s.opts.Ready:
		case <-ctx.Done():
			res = ErrorResult("cancelled while the sandbox was starting")
		}
	}
	started := time.Now()
	if res == nil {
		res = s.invoke(ctx, call, t, args)
	}

	ps.mu.Lock()
	ps.done = true
	ps.mu.Unlock()
	finish()

	if c.cancelled.Load() || s.base.Err() != nil {
		s.log.Debug().Str("tool", t.Name).Msg("call cancelled; no response")
		return
	}
	s.log.Debug().Str("tool", t.Name).Dur("took", time.Since(started)).Bool("is_error", res.IsError).Msg("call done")
	out := wireResult{Content: res.Content, IsError: res.IsError}
	if out.Content == nil {
		out.Content = []Content{}
	}
	if res.Structured != nil && s.atLeast("2025-06-18") {
		out.StructuredContent = res.Structured
	}
	s.stream.writeResult(id, out)
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
