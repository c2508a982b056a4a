package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sbx-mcp/sbx-mcp/freelist"
	"github.com/sbx-mcp/sbx-mcp/jsonwire"
)

// MaxLine is the default limit of one input line (one JSON-RPC message).
const MaxLine = 16 << 20

// JSON-RPC error codes.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)

// wireError is a JSON-RPC error object.
type wireError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// frame is one valid incoming message.
type frame struct {
	seq     uint64          // synthetic id given to jsonrpc2
	id      json.RawMessage // nil for a notification; else a JSON string or integer, verbatim
	method  string
	params  json.RawMessage // nil when absent or null
	pooled  bool            // params is a recycled buffer (release)
	batch   *batch          // the batch the request came in (nil: alone on its line)
	batchAt int             // its position in the batch
}

// badFrame is the answer to an invalid line: id is echoed when it could be
// read (nil: the error object goes out without an id).
type badFrame struct {
	id  json.RawMessage
	err wireError
}

// parseFrame validates one line (without its newline). It returns either a
// frame, a badFrame to answer, or neither (a line to ignore: blank, or a
// response from the client, which this server never asks for).
func parseFrame(line []byte) (*frame, *badFrame) {
	line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil, nil
	}
	if line[0] != '{' {
		if !jsonwire.Valid(line) {
			return nil, &badFrame{err: wireError{Code: CodeParseError, Message: "Parse error: the line is not valid JSON"}}
		}
		if line[0] == '[' {
			return nil, &badFrame{err: wireError{Code: CodeInvalidRequest, Message: "Invalid Request: batches are not supported; send one message per line"}}
		}
		return nil, &badFrame{err: wireError{Code: CodeInvalidRequest, Message: "Invalid Request: a message must be a JSON object"}}
	}
	// One validating pass, then a walk that finds the members without
	// copying them; each is present (non-nil, possibly "null") or absent
	// (nil). A duplicate name takes the last value.
	if !jsonwire.Valid(line) {
		return nil, &badFrame{err: wireError{Code: CodeParseError, Message: "Parse error: the line is not valid JSON"}}
	}
	var m struct{ JSONRPC, ID, Method, Params, Result, Error jsontext.Value }
	jsonwire.Members(line, func(key string, val []byte) error {
		switch key {
		case "jsonrpc":
			m.JSONRPC = val
		case "id":
			m.ID = val
		case "method":
			m.Method = val
		case "params":
			m.Params = val
		case "result":
			m.Result = val
		case "error":
			m.Error = val
		}
		return nil
	})
	// The line's buffer is reused for the next line: keep copies.
	m.ID = bytes.Clone(m.ID)
	var id json.RawMessage
	hasID := m.ID != nil
	if hasID {
		if !validID(json.RawMessage(m.ID)) {
			return nil, &badFrame{err: wireError{Code: CodeInvalidRequest, Message: "Invalid Request: id must be a string or an integer"}}
		}
		id = json.RawMessage(m.ID)
	}
	invalid := func(msg string) (*frame, *badFrame) {
		return nil, &badFrame{id: id, err: wireError{Code: CodeInvalidRequest, Message: "Invalid Request: " + msg}}
	}
	if string(m.JSONRPC) != `"2.0"` {
		return invalid(`"jsonrpc" must be "2.0"`)
	}
	if m.Method == nil {
		if hasID && (m.Result != nil || m.Error != nil) {
			return nil, nil // a response; we send no requests, so nothing waits for it
		}
		return invalid(`missing "method"`)
	}
	var method string
	if m.Method.Kind() != '"' || jsonwire.Unmarshal(m.Method, &method) != nil {
		return invalid(`"method" must be a string`)
	}
	f := &frame{id: id, method: method}
	if p := m.Params; p != nil && string(p) != "null" {
		if p[0] != '{' && p[0] != '[' {
			return invalid(`"params" must be an object`)
		}
		if len(p) >= bigParams && method == "tools/call" {
			f.params, f.pooled = append(paramBufs.Get(), p...), true
		} else {
			f.params = bytes.Clone(p)
		}
	}
	return f, nil
}

// bigParams is the size from which a tools/call's params are copied into
// a recycled buffer (release) rather than a fresh one: a fresh megabyte
// per write_file costs more in page faults than the copy.
const bigParams = 64 << 10

// paramBufs recycles the buffers of big params.
var paramBufs = freelist.New(2, jsonwire.MaxKept)

// release recycles the frame's params buffer; the params must not be used
// afterwards.
func (f *frame) release() {
	if f.pooled {
		paramBufs.Put(f.params)
		f.params, f.pooled = nil, false
	}
}

// validID reports whether raw is a JSON string or an integer (no fraction,
// no exponent; any length).
func validID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	switch c := raw[0]; {
	case c == '"':
		return true
	case c == '-' || (c >= '0' && c <= '9'):
		return !bytes.ContainsAny(raw, ".eE")
	}
	return false
}

// idKey normalizes an id for map lookups: strings by value, numbers by
// their digits.
func idKey(raw json.RawMessage) (string, bool) {
	if !validID(raw) {
		return "", false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return "s" + s, true
	}
	return "n" + string(raw), true
}

// lineReader reads newline-terminated lines of at most max bytes; longer
// lines are consumed and reported without being held in memory.
type lineReader struct {
	br  *bufio.Reader
	max int
	buf []byte
}

// errLineTooLong is returned (with the head of the line) for a line over
// the limit; the rest of that line has been discarded.
var errLineTooLong = errors.New("line too long")

// next returns the next line without its terminator. At EOF a final
// unterminated line is returned first, then io.EOF.
func (r *lineReader) next() ([]byte, error) {
	if cap(r.buf) > 4<<20 {
		r.buf = nil // do not keep a very big line's buffer around
	}
	r.buf = r.buf[:0]
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.buf)+len(chunk) > r.max+1 { // +1: the newline itself
				tooLong = true
				// keep a head so the id can often still be recovered
				if keep := 64<<10 - len(r.buf); keep > 0 {
					r.buf = append(r.buf, chunk[:min(keep, len(chunk))]...)
				}
			} else {
				r.buf = grow(r.buf, len(chunk), r.max+1)
				r.buf = append(r.buf, chunk...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return r.buf, errLineTooLong
			}
			return bytes.TrimSuffix(r.buf, []byte("\n")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if tooLong {
				return r.buf, errLineTooLong
			}
			if len(r.buf) > 0 {
				return r.buf, nil
			}
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

// grow makes room for n more bytes, doubling but never past limit.
func grow(b []byte, n, limit int) []byte {
	need := len(b) + n
	if need <= cap(b) {
		return b
	}
	c := min(max(2*cap(b), need, 4096), max(limit, need))
	nb := make([]byte, len(b), c)
	copy(nb, b)
	return nb
}

// headID tries to find a top-level "id" in the head of a truncated object.
func headID(head []byte) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(head))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		key, ok := t.(string)
		if !ok {
			return nil
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		if key == "id" && validID(v) {
			return v
		}
	}
}

// Stream is a line-framed jsonrpc2.ObjectStream that answers malformed
// input itself and keeps reading. Writes of whole lines are serialized.
type Stream struct {
	lr     lineReader
	closer io.Closer // the reader's, when it has one

	wmu    sync.Mutex
	w      io.Writer
	werr   error         // first write error; later writes fail fast
	onWErr func(error)   // called once on the first write error
	wdead  chan struct{} // closed on the first write error

	// cur is the frame last returned by ReadObject. Only the jsonrpc2 read
	// loop touches it: ReadObject sets it and the (synchronous) handler
	// takes it before the loop reads again.
	cur *frame
	seq uint64

	// batchOK accepts JSON-RPC batches (2025-03-26 negotiated); queue holds
	// the frames of a batch not yet handed to the read loop.
	batchOK atomic.Bool
	queue   []*frame
}

// NewStream returns a Stream reading lines of at most maxLine bytes from r
// (MaxLine when maxLine <= 0) and writing to w.
func NewStream(r io.Reader, w io.Writer, maxLine int) *Stream {
	if maxLine <= 0 {
		maxLine = MaxLine
	}
	s := &Stream{lr: lineReader{br: bufio.NewReaderSize(r, 64<<10), max: maxLine}, w: w, wdead: make(chan struct{})}
	if c, ok := r.(io.Closer); ok {
		s.closer = c
	}
	return s
}

// next returns the next valid frame, answering invalid lines on the way.
func (s *Stream) next() (*frame, error) {
	for {
		if len(s.queue) > 0 {
			f := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			return f, nil
		}
		line, err := s.lr.next()
		if errors.Is(err, errLineTooLong) {
			head := bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			id := headID(head[:min(len(head), 64<<10)])
			msg := "Invalid Request: the message exceeds the line limit of " + strconv.Itoa(s.lr.max) + " bytes"
			if werr := s.writeError(id, wireError{Code: CodeInvalidRequest, Message: msg}); werr != nil {
				return nil, werr
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if s.batchOK.Load() {
			if frames, done := s.splitBatch(line); done {
				s.queue = frames
				continue
			}
		}
		f, bad := parseFrame(line)
		if bad != nil {
			if werr := s.writeError(bad.id, bad.err); werr != nil {
				return nil, werr
			}
			continue
		}
		if f != nil {
			return f, nil
		}
	}
}

// ReadObject implements jsonrpc2.ObjectStream: it reads the next valid
// frame, remembers it, and decodes a synthetic request (method, and a
// sequence number as id unless it is a notification) into v.
func (s *Stream) ReadObject(v any) error {
	f, err := s.next()
	if err != nil {
		return err
	}
	s.seq++
	f.seq = s.seq
	s.cur = f
	method, _ := json.Marshal(f.method)
	msg := `{"jsonrpc":"2.0","method":` + string(method)
	if f.id != nil {
		msg += `,"id":` + strconv.FormatUint(f.seq, 10)
	}
	return json.Unmarshal([]byte(msg+"}"), v)
}

// take returns the frame ReadObject last produced when its sequence number
// is seq (nil otherwise).
func (s *Stream) take(seq uint64, notif bool) *frame {
	f := s.cur
	if f == nil || (!notif && f.seq != seq) {
		return nil
	}
	s.cur = nil
	return f
}

// WriteObject implements jsonrpc2.ObjectStream (used only if something
// calls jsonrpc2.Conn's send methods; the server writes through
// writeLine).
func (s *Stream) WriteObject(v any) error {
	e, err := jsonwire.Marshal(v)
	if err != nil {
		return err
	}
	return s.writeMarshaled(e)
}

// Close implements jsonrpc2.ObjectStream.
func (s *Stream) Close() error {
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

// writeMarshaled writes a line from jsonwire.Marshal and releases it,
// which gives back the buffers of the results it holds.
func (s *Stream) writeMarshaled(e *jsonwire.Line) error {
	err := s.writeWith(e.Write)
	e.Release()
	return err
}

// writeLine writes one newline-terminated message.
func (s *Stream) writeLine(b []byte) error {
	return s.writeWith(func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// writeWith writes one message with write, alone on the output; after a
// failed write every later one fails too.
func (s *Stream) writeWith(write func(io.Writer) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.werr != nil {
		return s.werr
	}
	if err := write(s.w); err != nil {
		s.werr = err
		close(s.wdead)
		if s.onWErr != nil {
			go s.onWErr(err)
		}
		return err
	}
	return nil
}

// writeFailed reports whether a write has failed (the client is gone).
func (s *Stream) writeFailed() bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.werr != nil
}

// writeFailedNotify is closed on the first failed write.
func (s *Stream) writeFailedNotify() <-chan struct{} { return s.wdead }

// response is a JSON-RPC response; ID is omitted when unknown.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Result  any             `json:"result,omitempty"`
	Error   *wireError      `json:"error,omitempty"`
}

// writeError answers with an error object (no id when id is nil).
func (s *Stream) writeError(id json.RawMessage, e wireError) error {
	enc, err := jsonwire.Marshal(response{JSONRPC: "2.0", ID: id, Error: &e})
	if err != nil {
		return err
	}
	return s.writeMarshaled(enc)
}

// writeResult answers with a result; nil becomes {} (MCP wants an object).
func (s *Stream) writeResult(id json.RawMessage, result any) error {
	if result == nil {
		result = struct{}{}
	}
	e, err := jsonwire.Marshal(response{JSONRPC: "2.0", ID: id, Result: result})
	if err != nil {
		e, err = jsonwire.Marshal(response{JSONRPC: "2.0", ID: id, Error: &wireError{Code: CodeInternalError, Message: "Internal error: encode result: " + err.Error()}})
		if err != nil {
			return err
		}
	}
	return s.writeMarshaled(e)
}

// notification is a JSON-RPC notification.
type notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params,omitempty"`
}

// writeNotification sends a notification.
func (s *Stream) writeNotification(method string, params any) error {
	e, err := jsonwire.Marshal(notification{JSONRPC: "2.0", Method: method, Params: params})
	if err != nil {
		return err
	}
	return s.writeMarshaled(e)
}

// progressBufs recycles the buffers progress notifications are built in.
var progressBufs = freelist.New(2, jsonwire.MaxKept)

// writeProgress sends notifications/progress. The line is assembled by hand
// (a streamed command sends one per chunk of output, up to thousands a
// second): the message is quoted straight from its bytes, without a string
// copy or reflection. meta values that are not strings take the general
// encoder.
func (s *Stream) writeProgress(token json.RawMessage, progress float64, msg Text, meta map[string]any) error {
	keys := make([]string, 0, len(meta))
	for k, v := range meta {
		if _, ok := v.(string); !ok {
			return s.writeNotification("notifications/progress", progressParams{
				ProgressToken: token, Progress: progress, Message: msg.String(), Meta: meta,
			})
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := append(progressBufs.Get(), `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":`...)
	b = append(b, token...)
	b = append(b, `,"progress":`...)
	b = strconv.AppendFloat(b, progress, 'f', -1, 64)
	if msg.Len() > 0 {
		b = append(b, `,"message":`...)
		b = msg.AppendQuoted(b)
	}
	if len(keys) > 0 {
		b = append(b, `,"_meta":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonwire.AppendQuoted(b, k)
			b = append(b, ':')
			b = jsonwire.AppendQuoted(b, meta[k].(string))
		}
		b = append(b, '}')
	}
	b = append(b, "}}\n"...)
	err := s.writeLine(b)
	progressBufs.Put(b)
	return err
}
