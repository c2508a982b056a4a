package main

// A minimal MCP client over a real stdio pipe: raw newline-delimited JSON-RPC,
// no SDK, so the measured time is the server's plus one pipe round trip.
// Every incoming line is decoded (notifications included), as a real client
// would.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// progress is one notifications/progress as the client saw it.
type progress struct {
	Progress float64 `json:"progress"`
	Total    float64 `json:"total"`
	Message  string  `json:"message"`
	Meta     struct {
		Stream string `json:"stream"`
	} `json:"_meta"`
	At time.Time `json:"-"` // when the line was read from the pipe
}

// response is the answer to one request.
type response struct {
	Result json.RawMessage
	Err    *rpcError
	Sent   time.Time // just before the request line was written (after encoding it)
	At     time.Time // when the response line was read from the pipe
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("json-rpc error %d: %s", e.Code, e.Message) }

// client drives one server process.
type client struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tailBuffer

	wmu sync.Mutex // serialises writes to stdin

	mu       sync.Mutex
	nextID   int64
	pending  map[int64]chan response     // request id → its reply (buffered 1)
	progress map[string]func(p progress) // progress token → handler, run on the read loop
	readErr  error                       // why the read loop ended

	done chan struct{} // closed by the read loop when stdout ends

	decodeNanos atomic.Int64 // time the read loop spent decoding and dispatching
}

// tailBuffer keeps the last 64 KiB written to it (the server's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - 64<<10; over > 0 {
		t.buf = append([]byte(nil), t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// start launches bin with args; the caller must call close.
func start(bin string, args []string) (*client, error) {
	cmd := exec.Command(bin, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &client{
		cmd:      cmd,
		stdin:    stdin,
		stderr:   &tailBuffer{},
		pending:  map[int64]chan response{},
		progress: map[string]func(progress){},
		done:     make(chan struct{}),
	}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go c.readLoop(stdout)
	return c, nil
}

// initialize performs the MCP handshake.
func (c *client) initialize(ctx context.Context) (json.RawMessage, error) {
	res, err := c.call(ctx, "initialize", map[string]any{
		"protocolVersion": "2025-11-25",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "sbx-bench", "version": "1"},
	}, nil)
	if err != nil {
		return nil, err
	}
	if err := c.notify("notifications/initialized", map[string]any{}); err != nil {
		return nil, err
	}
	return res.Result, nil
}

// readLoop owns stdout; it closes c.done when stdout ends.
func (c *client) readLoop(r io.Reader) {
	// Whole results land in one read buffer and are decoded there: no
	// joining of chunks, and no copy (a fresh multi-megabyte slice per
	// response would put this client's page faults into the latency).
	br := bufio.NewReaderSize(r, 16<<20)
	var err error
	for {
		var line []byte
		line, err = br.ReadSlice('\n')
		if err == bufio.ErrBufferFull { // longer than the buffer: collect it
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		at := time.Now()
		if len(bytes.TrimSpace(line)) > 0 {
			c.dispatch(line, at)
			c.decodeNanos.Add(int64(time.Since(at)))
		}
		if err != nil {
			break
		}
	}
	c.mu.Lock()
	c.readErr = err
	closed := map[chan response]bool{} // pipeline shares one channel among its ids
	for id, ch := range c.pending {
		if !closed[ch] {
			close(ch)
			closed[ch] = true
		}
		delete(c.pending, id)
	}
	c.mu.Unlock()
	close(c.done)
}

// message is any incoming line, decoded in one pass: Params holds the fields
// of notifications/progress (other methods' params are not needed).
type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params *struct {
		progress
		Token json.RawMessage `json:"progressToken"`
	} `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

func (c *client) dispatch(line []byte, at time.Time) {
	var m message
	if err := json.Unmarshal(line, &m); err != nil {
		// Params of some other method did not fit the progress shape: decode
		// again without them.
		var generic struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Result json.RawMessage `json:"result"`
			Error  *rpcError       `json:"error"`
		}
		if err2 := json.Unmarshal(line, &generic); err2 != nil || generic.Method == "notifications/progress" {
			fmt.Fprintf(os.Stderr, "sbx-bench: undecodable line from server (%v): %.200q\n", err, line)
			return
		}
		m = message{ID: generic.ID, Method: generic.Method, Result: generic.Result, Error: generic.Error}
	}
	switch {
	case m.Method == "notifications/progress":
		if m.Params == nil {
			fmt.Fprintf(os.Stderr, "sbx-bench: progress without params\n")
			return
		}
		p := m.Params.progress
		p.At = at
		var tok string
		if err := json.Unmarshal(m.Params.Token, &tok); err != nil {
			tok = string(m.Params.Token)
		}
		c.mu.Lock()
		h := c.progress[tok]
		c.mu.Unlock()
		if h != nil {
			h(p)
		}
	case m.Method != "" && len(m.ID) > 0:
		// A request from the server (e.g. ping, roots/list): answer so it never waits.
		if m.Method == "ping" {
			_ = c.send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": map[string]any{}})
		} else {
			_ = c.send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "error": map[string]any{"code": -32601, "message": "method not found"}})
		}
	case m.Method != "":
		// Other notifications (logging, list_changed): decoded, ignored.
	default:
		id, err := strconv.ParseInt(string(m.ID), 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sbx-bench: response with unexpected id %s\n", m.ID)
			return
		}
		c.mu.Lock()
		ch := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if ch != nil {
			ch <- response{Result: m.Result, Err: m.Error, At: at}
		}
	}
}

func (c *client) send(v any) error {
	_, err := c.sendAt(v)
	return err
}

// sendAt writes v as one line and returns when the write started: encoding
// the request is the client's work, not part of a latency.
func (c *client) sendAt(v any) (time.Time, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return time.Time{}, err
	}
	b = append(b, '\n')
	c.wmu.Lock()
	defer c.wmu.Unlock()
	sent := time.Now()
	_, err = c.stdin.Write(b)
	return sent, err
}

func (c *client) notify(method string, params any) error {
	return c.send(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// call sends a request and waits for its response. With onProgress non-nil the
// request carries a progress token and onProgress runs (on the read loop) for
// every notification. The returned response's At is when its line arrived.
func (c *client) call(ctx context.Context, method string, params map[string]any, onProgress func(progress)) (response, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan response, 1)
	c.pending[id] = ch
	tok := ""
	if onProgress != nil {
		tok = "p" + strconv.FormatInt(id, 10)
		c.progress[tok] = onProgress
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		if tok != "" {
			delete(c.progress, tok)
		}
		c.mu.Unlock()
	}()
	if tok != "" {
		p := make(map[string]any, len(params)+1)
		for k, v := range params {
			p[k] = v
		}
		meta := map[string]any{"progressToken": tok}
		if m, ok := params["_meta"].(map[string]any); ok {
			for k, v := range m {
				meta[k] = v
			}
		}
		p["_meta"] = meta
		params = p
	}
	if params == nil {
		params = map[string]any{}
	}
	sent, err := c.sendAt(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return response{}, fmt.Errorf("%s: write: %w", method, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return response{}, c.closedErr(method)
		}
		if r.Err != nil {
			return r, fmt.Errorf("%s: %w", method, r.Err)
		}
		r.Sent = sent
		return r, nil
	case <-ctx.Done():
		_ = c.notify("notifications/cancelled", map[string]any{"requestId": id, "reason": "sbx-bench timeout"})
		return response{}, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// pipeline sends one request per element of params, encoded beforehand,
// and returns the responses in the order they arrived. With window <= 0
// (or at least len(params)) every request goes out in one write; otherwise
// at most window requests are outstanding: the first window go out in one
// write and each answer lets the next one out, as a client that keeps a
// fixed number of calls in flight would. Sent is when the first write began.
func (c *client) pipeline(ctx context.Context, method string, params []map[string]any, window int) ([]response, error) {
	if window <= 0 || window > len(params) {
		window = len(params)
	}
	lines := make([][]byte, len(params))
	ids := make([]int64, len(params))
	c.mu.Lock()
	for i := range params {
		c.nextID++
		ids[i] = c.nextID
	}
	c.mu.Unlock()
	for i, p := range params {
		b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": ids[i], "method": method, "params": p})
		if err != nil {
			return nil, err
		}
		lines[i] = append(b, '\n')
	}
	answers := make(chan response, len(params)) // the read loop never blocks on it
	c.mu.Lock()
	for _, id := range ids {
		c.pending[id] = answers
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		for _, id := range ids {
			delete(c.pending, id)
		}
		c.mu.Unlock()
	}()
	write := func(b []byte) error {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if _, err := c.stdin.Write(b); err != nil {
			return fmt.Errorf("%s: write: %w", method, err)
		}
		return nil
	}
	sent := time.Now()
	if err := write(bytes.Join(lines[:window], nil)); err != nil {
		return nil, err
	}
	next := window
	out := make([]response, 0, len(params))
	for len(out) < len(params) {
		select {
		case r, ok := <-answers:
			if !ok {
				return nil, c.closedErr(method)
			}
			if r.Err != nil {
				return nil, fmt.Errorf("%s: %w", method, r.Err)
			}
			r.Sent = sent
			out = append(out, r)
			if next < len(lines) {
				if err := write(lines[next]); err != nil {
					return nil, err
				}
				next++
			}
		case <-c.done:
			return nil, c.closedErr(method)
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w", method, ctx.Err())
		}
	}
	return out, nil
}

// closedErr reports that the server's stdout ended while method waited
// (after the read loop ended: readErr is set).
func (c *client) closedErr(method string) error {
	return fmt.Errorf("%s: server closed stdout (%v); stderr tail:\n%s", method, c.readErr, c.stderr.String())
}

// toolResult is the part of a tools/call result the benchmark reads.
type toolResult struct {
	Content []struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		MimeType string `json:"mimeType"`
	} `json:"content"`
	Structured json.RawMessage `json:"structuredContent"`
	IsError    bool            `json:"isError"`
}

// tool calls a tool and fails on a protocol error or an isError result. It
// returns the decoded result and the response (for its Sent and At times).
func (c *client) tool(ctx context.Context, name string, args map[string]any, onProgress func(progress)) (toolResult, response, error) {
	return c.toolMeta(ctx, name, args, nil, onProgress)
}

// modernMeta is the _meta of a 2026-07-28 request (no initialize needed).
var modernMeta = map[string]any{
	"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
	"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "sbx-bench", "version": "0"},
	"io.modelcontextprotocol/clientCapabilities": map[string]any{},
}

// toolMeta is tool with params._meta (nil: none).
func (c *client) toolMeta(ctx context.Context, name string, args, meta map[string]any, onProgress func(progress)) (toolResult, response, error) {
	if args == nil {
		args = map[string]any{}
	}
	params := map[string]any{"name": name, "arguments": args}
	if meta != nil {
		params["_meta"] = meta
	}
	r, err := c.call(ctx, "tools/call", params, onProgress)
	if err != nil {
		return toolResult{}, r, err
	}
	var tr toolResult
	if err := json.Unmarshal(r.Result, &tr); err != nil {
		return tr, r, fmt.Errorf("%s: decode result: %w", name, err)
	}
	if tr.IsError {
		var texts []string
		for _, c := range tr.Content {
			texts = append(texts, c.Text)
		}
		return tr, r, fmt.Errorf("%s: isError: %s", name, strings.Join(texts, " "))
	}
	return tr, r, nil
}

// toolNames returns the names in tools/list (following pagination).
func (c *client) toolNames(ctx context.Context) (map[string]bool, error) {
	names := map[string]bool{}
	cursor := ""
	for {
		params := map[string]any{}
		if cursor != "" {
			params["cursor"] = cursor
		}
		r, err := c.call(ctx, "tools/list", params, nil)
		if err != nil {
			return nil, err
		}
		var res struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
			NextCursor string `json:"nextCursor"`
		}
		if err := json.Unmarshal(r.Result, &res); err != nil {
			return nil, fmt.Errorf("tools/list: %w", err)
		}
		for _, t := range res.Tools {
			names[t.Name] = true
		}
		if res.NextCursor == "" {
			return names, nil
		}
		cursor = res.NextCursor
	}
}

// pid is the server's process id.
func (c *client) pid() int { return c.cmd.Process.Pid }

// close ends the session the way a client does (stdin EOF), then waits up to
// 5 s before killing the server. It returns how long the server took to exit.
func (c *client) close() time.Duration {
	t0 := time.Now()
	_ = c.stdin.Close()
	exited := make(chan struct{})
	go func() {
		_ = c.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		fmt.Fprintf(os.Stderr, "sbx-bench: server %d did not exit within 5 s of stdin EOF; killing it\n", c.pid())
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
	return time.Since(t0)
}

// procStatusKiB reads a "Vm...:  N kB" field from /proc/PID/status.
func procStatusKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, errors.New("no " + field + " in /proc/" + strconv.Itoa(pid) + "/status")
}

// cpuTime is the CPU time pid's threads have used (0 if unknown): the
// scheduler's own runtime in ns (/proc/PID/task/*/schedstat), not the
// tick-sampled utime+stime, which on a VM misattributes short runs.
func cpuTime(pid int) time.Duration {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var t time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, _ := strconv.ParseInt(f[0], 10, 64)
		t += time.Duration(ns)
	}
	return t
}

// descendants returns the pids of every process below pid.
func descendants(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 2 {
			continue
		}
		parent[p], _ = strconv.Atoi(f[1])
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// cpuSplit is the CPU time used so far by the client, the server process
// and each of the server's descendants (the sandbox: init, shells,
// programs).
type cpuSplit struct {
	client, server time.Duration
	sandbox        map[int]time.Duration
}

func (s *server) cpuSplit() cpuSplit {
	c := cpuSplit{client: cpuTime(os.Getpid()), server: cpuTime(s.pid()), sandbox: map[int]time.Duration{}}
	for _, p := range descendants(s.pid()) {
		c.sandbox[p] = cpuTime(p)
	}
	return c
}

// sandboxSince is the CPU time the sandbox's processes alive at both
// samples used between them.
func (c cpuSplit) sandboxSince(c0 cpuSplit) time.Duration {
	var d time.Duration
	for p, t := range c.sandbox {
		if t0, ok := c0.sandbox[p]; ok {
			d += t - t0
		}
	}
	return d
}
