package server

import (
	"bytes"
	"sync"

	"github.com/sbx-mcp/sbx-mcp/jsonwire"
)

// JSON-RPC batches exist in exactly one MCP revision, 2025-03-26. When it
// was negotiated, a line holding an array is taken apart into frames that
// are handled one after another like single messages; their responses
// (notifications get none) are collected and written together as one
// array, in the order of the requests, once the last one is in. Progress and log notifications of the
// calls in a batch go out as single lines meanwhile.

// batch collects the responses to one batch line.
type batch struct {
	s *Stream

	mu      sync.Mutex
	pending int      // responses still to come
	out     [][]byte // encoded responses by position (nil: none)
}

// splitBatch takes a batch line apart. done is false when line is not an
// array (or not valid JSON: parseFrame answers it).
func (s *Stream) splitBatch(line []byte) (frames []*frame, done bool) {
	line = bytes.TrimSpace(bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")))
	if len(line) == 0 || line[0] != '[' || !jsonwire.Valid(line) {
		return nil, false
	}
	b := &batch{s: s}
	var bad []*badFrame
	var badAt []int
	jsonwire.Items(line, func(i int, item []byte) error {
		b.out = append(b.out, nil)
		f, e := parseFrame(item)
		switch {
		case e != nil:
			bad, badAt = append(bad, e), append(badAt, i)
		case f != nil && f.id != nil:
			f.batch, f.batchAt = b, i
			frames = append(frames, f)
		case f != nil:
			frames = append(frames, f) // a notification: no response
		}
		return nil
	})
	if len(frames) == 0 && len(bad) == 0 {
		if bytes.Equal(bytes.Join(bytes.Fields(line), nil), []byte("[]")) {
			s.writeError(nil, wireError{Code: CodeInvalidRequest, Message: "Invalid Request: an empty batch"})
		}
		return nil, true // only responses from the client: nothing to answer
	}
	b.pending = len(bad)
	for _, f := range frames {
		if f.batch != nil {
			b.pending++
		}
	}
	for i, e := range bad {
		b.add(badAt[i], response{JSONRPC: "2.0", ID: e.id, Error: &e.err})
	}
	return frames, true
}

// add records the response to the request at position i; the last one
// writes the batch.
func (b *batch) add(i int, r response) {
	enc, err := jsonwire.Encode(r)
	if err != nil {
		enc, _ = jsonwire.Encode(response{JSONRPC: "2.0", ID: r.ID, Error: &wireError{Code: CodeInternalError, Message: "Internal error: encode result: " + err.Error()}})
	}
	b.mu.Lock()
	b.out[i] = enc
	b.pending--
	b.flushLocked()
	b.mu.Unlock()
}

// drop records that a request of the batch gets no response (cancelled).
func (b *batch) drop() {
	b.mu.Lock()
	b.pending--
	b.flushLocked()
	b.mu.Unlock()
}

func (b *batch) flushLocked() {
	if b.pending != 0 {
		return
	}
	var out [][]byte
	for _, r := range b.out {
		if r != nil {
			out = append(out, r)
		}
	}
	b.out = nil
	if len(out) == 0 {
		return
	}
	line := append([]byte{'['}, bytes.Join(out, []byte{','})...)
	b.s.writeLine(append(line, ']', '\n'))
}
