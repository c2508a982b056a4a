// Package outbuf keeps bounded views of output streams: head and tail of
// whatever a command prints, in O(cap) memory, rendered without ever
// mangling invalid UTF-8.
package outbuf

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"
)

// Capture keeps a bounded view of one output stream: the first half of the
// cap verbatim and the last half in a ring, plus the total count. Memory is
// O(cap) whatever the command prints.
type Capture struct {
	limit int    // bytes kept in all (head + tail)
	head  []byte // up to limit/2 (or limit when nothing was cut)
	ring  []byte // tail ring, allocated once the head is full
	pos   int    // next write position in ring
	full  bool   // ring has wrapped
	total int64  // bytes seen
}

// New returns a Capture keeping at most limit bytes (at least 2).
func New(limit int) *Capture {
	if limit < 2 {
		limit = 2
	}
	return &Capture{limit: limit}
}

// Total is the number of bytes written so far.
func (c *Capture) Total() int64 { return c.total }

// Write keeps what the bounds allow of p; it never fails.
func (c *Capture) Write(p []byte) {
	c.total += int64(len(p))
	headCap := c.limit - c.limit/2
	if n := headCap - len(c.head); n > 0 {
		if n > len(p) {
			n = len(p)
		}
		c.head = append(c.head, p[:n]...)
		p = p[n:]
	}
	if len(p) == 0 {
		return
	}
	if c.ring == nil {
		c.ring = make([]byte, c.limit/2)
	}
	if len(p) >= len(c.ring) {
		copy(c.ring, p[len(p)-len(c.ring):])
		c.pos, c.full = 0, true
		return
	}
	n := copy(c.ring[c.pos:], p)
	if n < len(p) {
		copy(c.ring, p[n:])
		c.full = true
	}
	c.pos = (c.pos + len(p)) % len(c.ring)
	if c.pos == 0 {
		c.full = true
	}
}

// tail returns the ring's content in order.
func (c *Capture) tail() []byte {
	if c.ring == nil {
		return nil
	}
	if !c.full {
		return c.ring[:c.pos]
	}
	out := make([]byte, 0, len(c.ring))
	out = append(out, c.ring[c.pos:]...)
	return append(out, c.ring[:c.pos]...)
}

// Text is a rendered stream: the content, its encoding ("utf-8" or
// "base64"), whether bytes were cut, and the total produced.
type Text struct {
	Content   string
	Encoding  string
	Truncated bool
	Total     int64
}

// Render joins head and tail. When bytes were cut, a marker saying how many
// sits between them, and both sides are trimmed to whole UTF-8 sequences so
// the cut itself never makes valid text invalid. Output that is not valid
// UTF-8 is carried as base64, never mangled.
func (c *Capture) Render() Text {
	t := c.tail()
	kept := int64(len(c.head) + len(t))
	if kept == c.total {
		b := append(append([]byte(nil), c.head...), t...)
		return encode(b, false, c.total)
	}
	head, tail := TrimEnd(c.head), trimStart(t)
	cut := c.total - int64(len(head)) - int64(len(tail))
	marker := fmt.Sprintf("\n[... %d bytes truncated ...]\n", cut)
	b := make([]byte, 0, len(head)+len(marker)+len(tail))
	b = append(append(append(b, head...), marker...), tail...)
	return encode(b, true, c.total)
}

func encode(b []byte, truncated bool, total int64) Text {
	if utf8.Valid(b) {
		return Text{Content: string(b), Encoding: "utf-8", Truncated: truncated, Total: total}
	}
	return Text{Content: base64.StdEncoding.EncodeToString(b), Encoding: "base64", Truncated: truncated, Total: total}
}

// TrimEnd drops an incomplete UTF-8 sequence at the end of b (at most 3 bytes).
func TrimEnd(b []byte) []byte {
	for i := 1; i <= 3 && i <= len(b); i++ {
		r := b[len(b)-i]
		if r < 0x80 {
			return b
		}
		if utf8.RuneStart(r) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// trimStart drops UTF-8 continuation bytes at the start of b (at most 3).
func trimStart(b []byte) []byte {
	for i := 0; i < 3 && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	return b
}

// SplitUTF8 returns the longest prefix of b that does not end inside a UTF-8
// sequence, and the rest (held back for the next chunk, at most 3 bytes).
func SplitUTF8(b []byte) (ready, rest []byte) {
	r := TrimEnd(b)
	return r, b[len(r):]
}
