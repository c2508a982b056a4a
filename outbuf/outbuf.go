// Package outbuf keeps bounded views of output streams: head and tail of
// whatever a command prints, in O(cap) memory, rendered without ever
// mangling invalid UTF-8.
package outbuf

import (
	"encoding/base64"
	"fmt"
	"strings"
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

// Text is a rendered stream: the content, its encoding ("utf-8",
// "utf-8-lossy" or "base64"), whether bytes were cut, the total produced
// and, for utf-8-lossy, how many invalid bytes became U+FFFD.
type Text struct {
	Content   string
	Encoding  string
	Truncated bool
	Total     int64
	Replaced  int
}

// Encodings of a rendered stream.
const (
	UTF8      = "utf-8"
	UTF8Lossy = "utf-8-lossy" // mostly valid UTF-8; each invalid byte became U+FFFD
	Base64    = "base64"
)

// MaxInvalidShare is the share of invalid bytes up to which output is still
// text (utf-8-lossy): one Latin-1 byte in 2,000 lines must not turn them into
// base64, but binary output (most bytes invalid) is carried as base64.
const MaxInvalidShare = 0.05

// Render joins head and tail. When bytes were cut, a marker saying how many
// sits between them, and both sides are trimmed to whole UTF-8 sequences so
// the cut itself never makes valid text invalid. Output that is mostly
// valid UTF-8 is text with each invalid byte replaced (utf-8-lossy, with
// the count); mostly binary output is carried as base64.
func (c *Capture) Render() Text { return c.render(false) }

// RenderRaw is Render, except that any output that is not valid UTF-8 is
// carried as base64 (for a caller that wants the exact bytes).
func (c *Capture) RenderRaw() Text { return c.render(true) }

func (c *Capture) render(raw bool) Text {
	t := c.tail()
	kept := int64(len(c.head) + len(t))
	if kept == c.total {
		b := append(append([]byte(nil), c.head...), t...)
		return Encode(b, raw, false, c.total)
	}
	head, tail := TrimEnd(c.head), trimStart(t)
	cut := c.total - int64(len(head)) - int64(len(tail))
	marker := fmt.Sprintf("\n[... %d bytes truncated ...]\n", cut)
	b := make([]byte, 0, len(head)+len(marker)+len(tail))
	b = append(append(append(b, head...), marker...), tail...)
	return Encode(b, raw, true, c.total)
}

// Encode renders b: valid UTF-8 as is; else, unless raw, as utf-8-lossy when
// at most MaxInvalidShare of its bytes are invalid; else as base64.
func Encode(b []byte, raw, truncated bool, total int64) Text {
	t := Text{Truncated: truncated, Total: total}
	if utf8.Valid(b) {
		t.Content, t.Encoding = string(b), UTF8
		return t
	}
	if !raw {
		if lossy, n := replaceInvalid(b, int(MaxInvalidShare*float64(len(b)))); n >= 0 {
			t.Content, t.Encoding, t.Replaced = lossy, UTF8Lossy, n
			return t
		}
	}
	t.Content, t.Encoding = base64.StdEncoding.EncodeToString(b), Base64
	return t
}

// replaceInvalid returns b with each invalid byte replaced by U+FFFD, and
// how many there were; n is -1 once more than limit are found.
func replaceInvalid(b []byte, limit int) (s string, n int) {
	var sb strings.Builder
	sb.Grow(len(b) + 16)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			sb.WriteString("\uFFFD")
			if n++; n > limit {
				return "", -1
			}
		} else {
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String(), n
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
