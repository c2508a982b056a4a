package process

import (
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/sbx-mcp/sbx-mcp/outbuf"
)

// Log page limits.
const (
	DefaultMaxBytes = 16 << 10 // per stream per get_process_logs call: a result under ~80 KB
	MaxMaxBytes     = 1 << 20  // keeps a result with both streams far below 10 MiB
)

// LogsRequest are get_process_logs's arguments.
type LogsRequest struct {
	ID       string
	Stream   string // stdout, stderr, both ("" = both)
	Offset   *int64 // bytes; applies to each selected stream
	Tail     *int   // lines; instead of Offset
	MaxBytes int    // per stream (0 = DefaultMaxBytes)
	Raw      bool   // carry any invalid UTF-8 as base64 instead of utf-8-lossy
}

// Page is one stream's slice of a log.
type Page struct {
	Text      string // the bytes, per Encoding
	Encoding  string // utf-8, utf-8-lossy (invalid bytes shown as U+FFFD) or base64 (see outbuf.Encode)
	Replaced  int    // utf-8-lossy: how many invalid bytes became U+FFFD
	Start     int64  // offset of the first byte returned
	Next      int64  // offset to pass next time
	Skipped   int64  // bytes before Start that were not kept (the gap)
	Total     int64  // bytes the stream produced so far
	Truncated bool   // more is available after Next right now
}

// Logs is the result of a logs request.
type Logs struct {
	Info
	Stdout, Stderr *Page // a stream not selected has no text and Next == the offset asked for
}

// Logs returns a page of one or both streams.
func (m *Manager) Logs(req LogsRequest) (Logs, error) {
	p, err := m.get(req.ID)
	if err != nil {
		return Logs{}, err
	}
	var wantOut, wantErr bool
	switch req.Stream {
	case "", "both":
		wantOut, wantErr = true, true
	case "stdout":
		wantOut = true
	case "stderr":
		wantErr = true
	default:
		return Logs{}, fmt.Errorf("stream %q: use stdout, stderr or both", req.Stream)
	}
	if req.Offset != nil && req.Tail != nil {
		return Logs{}, errors.New("give offset or tail, not both")
	}
	if req.Offset != nil && *req.Offset < 0 {
		return Logs{}, errors.New("offset must be >= 0")
	}
	if req.Tail != nil && *req.Tail < 0 {
		return Logs{}, errors.New("tail must be >= 0")
	}
	max := req.MaxBytes
	switch {
	case max < 0:
		return Logs{}, errors.New("max_bytes must be > 0")
	case max == 0:
		max = DefaultMaxBytes
	case max > MaxMaxBytes:
		max = MaxMaxBytes
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := Logs{Info: p.infoLocked()}
	page := func(lb *logBuf) *Page {
		var off int64
		switch {
		case req.Offset != nil:
			off = *req.Offset
		case req.Tail != nil:
			off = lb.Tail(*req.Tail, max)
		}
		return readPage(lb, off, max, req.Offset == nil, req.Raw)
	}
	skip := func(lb *logBuf) *Page {
		off := int64(0)
		if req.Offset != nil {
			off = clamp(*req.Offset, 0, lb.Total())
		}
		return &Page{Encoding: "utf-8", Start: off, Next: off, Total: lb.Total(), Truncated: off < lb.Total()}
	}
	out.Stdout, out.Stderr = skip(p.out), skip(p.err)
	if wantOut {
		out.Stdout = page(p.out)
	}
	if wantErr {
		out.Stderr = page(p.err)
	}
	return out, nil
}

// readPage reads up to max bytes at off and renders them. A page never ends
// inside a UTF-8 sequence when it could end before it (the rest comes next
// time); when the read jumped (a gap, or loose, for tail) it also skips
// continuation bytes at its start.
func readPage(lb *logBuf, off int64, max int, loose, raw bool) *Page {
	data, start, skipped := lb.Read(off, max)
	if (skipped > 0 || loose) && !utf8.Valid(data) {
		i := 0
		for i < len(data) && i < 3 && !utf8.RuneStart(data[i]) {
			i++
		}
		data, start, skipped = data[i:], start+int64(i), skipped+int64(i)
	}
	if !utf8.Valid(data) {
		if ready, _ := splitUTF8(data); len(ready) > 0 && utf8.Valid(ready) {
			data = ready
		}
	}
	t := outbuf.Encode(data, raw, false, int64(len(data)))
	next := start + int64(len(data))
	return &Page{Text: t.Content, Encoding: t.Encoding, Replaced: t.Replaced, Start: start, Next: next, Skipped: skipped, Total: lb.Total(), Truncated: next < lb.Total()}
}

// encode returns b as text when it is valid UTF-8, else as base64.
func encode(b []byte) (string, string) {
	if utf8.Valid(b) {
		return string(b), "utf-8"
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}

// splitUTF8 splits b before an incomplete UTF-8 sequence at its end (at
// most 3 bytes); rest is empty when b ends on a boundary.
func splitUTF8(b []byte) (ready, rest []byte) {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if !utf8.RuneStart(c) {
			continue
		}
		if !utf8.FullRune(b[len(b)-i:]) {
			return b[:len(b)-i], b[len(b)-i:]
		}
		break
	}
	return b, nil
}
