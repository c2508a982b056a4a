package interp

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"
)

// capture keeps a bounded view of one output stream: the first half of the
// cap verbatim and the last half in a ring, plus the total count. Memory is
// O(cap) whatever the cell prints. (Same scheme as session's capture, which
// is unexported there.)
type capture struct {
	limit int
	head  []byte
	ring  []byte
	pos   int
	full  bool
	total int64
}

func newCapture(limit int) *capture {
	if limit < 2 {
		limit = 2
	}
	return &capture{limit: limit}
}

func (c *capture) Write(p []byte) {
	c.total += int64(len(p))
	headCap := c.limit - c.limit/2
	if n := headCap - len(c.head); n > 0 {
		n = min(n, len(p))
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

func (c *capture) tail() []byte {
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

// render returns the kept text, its encoding ("utf-8" or "base64" when the
// bytes are not valid UTF-8) and whether bytes were cut (a marker saying how
// many then sits between head and tail).
func (c *capture) render() (content, encoding string, truncated bool) {
	t := c.tail()
	var b []byte
	if int64(len(c.head)+len(t)) == c.total {
		b = append(append([]byte(nil), c.head...), t...)
	} else {
		head, tail := trimEnd(c.head), trimStart(t)
		cut := c.total - int64(len(head)) - int64(len(tail))
		b = append(append([]byte(nil), head...), fmt.Sprintf("\n[... %d bytes truncated ...]\n", cut)...)
		b = append(b, tail...)
		truncated = true
	}
	if utf8.Valid(b) {
		return string(b), "utf-8", truncated
	}
	return base64.StdEncoding.EncodeToString(b), "base64", truncated
}

// trimEnd drops an incomplete UTF-8 sequence at the end of b.
func trimEnd(b []byte) []byte {
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

// trimStart drops UTF-8 continuation bytes at the start of b.
func trimStart(b []byte) []byte {
	for i := 0; i < 3 && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	return b
}

// capText cuts s to at most limit bytes (on a rune boundary) with a marker.
func capText(s string, limit int) (string, bool) {
	if limit <= 0 || len(s) <= limit {
		return s, false
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n[... %d bytes truncated ...]", len(s)-cut), true
}
