package jsonwire

import (
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// A JSON string is mostly bytes that need no escaping. The encoder of
// go-json-experiment looks at them one at a time (~1 ms per MiB); the
// functions here skip them eight at a time, which matters for the large
// strings a file read or a command's output puts in a result.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// Chars is what the quoting functions take.
type Chars interface{ string | []byte }

// word reads the first 8 bytes of s, little-endian (one load once compiled).
func word[T Chars](s T) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// special marks, in bit 7 of each byte, the bytes of w a JSON string must
// escape: control characters, '"' and '\\'. The lowest marked byte is
// exact; above it a borrow may mark more, so only the lowest counts.
func special(w uint64) uint64 {
	q := w ^ (lsb * '"')
	b := w ^ (lsb * '\\')
	return ((w - lsb*0x20) | (q - lsb) | (b - lsb)) &^ w & msb
}

// plainLen returns the length of s's longest prefix that a JSON string
// holds verbatim apart from UTF-8 checking: no control characters, '"' or
// '\\'. high reports whether that prefix has bytes at or above 0x80.
func plainLen[T Chars](s T) (n int, high bool) {
	var hi uint64
	for ; len(s)-n >= 8; n += 8 {
		w := word(s[n:])
		if m := special(w); m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			hi |= w & (1<<(8*k) - 1) & msb
			return n + k, hi != 0
		}
		hi |= w & msb
	}
	for ; n < len(s); n++ {
		c := s[n]
		if c < 0x20 || c == '"' || c == '\\' {
			break
		}
		hi |= uint64(c) & 0x80
	}
	return n, hi != 0
}

// AppendQuoted appends s as a JSON string, exactly as the wire encoder
// (Marshal) would: no HTML or JavaScript escaping, control characters
// as \b \f \n \r \t or \u00xx, invalid UTF-8 as U+FFFD.
func AppendQuoted[T Chars](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = appendQuotedBody(dst, s)
	return append(dst, '"')
}

// appendQuotedBody is AppendQuoted without the quotes.
func appendQuotedBody[T Chars](dst []byte, s T) []byte {
	for len(s) > 0 {
		n, high := plainLen(s)
		if high && !validUTF8(s[:n]) {
			dst = appendReplacingInvalid(dst, string(s[:n])) // rare: a copy is fine
		} else {
			dst = append(dst, s[:n]...)
		}
		if n == len(s) {
			break
		}
		dst = appendEscaped(dst, s[n])
		s = s[n+1:]
	}
	return dst
}

func validUTF8[T Chars](s T) bool {
	switch v := any(s).(type) {
	case string:
		return utf8.ValidString(v)
	case []byte:
		return utf8.Valid(v)
	}
	panic("unreachable")
}

// appendEscaped appends the escape of an ASCII byte special reports.
func appendEscaped(dst []byte, c byte) []byte {
	const hex = "0123456789abcdef"
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}

// appendReplacingInvalid appends s with each invalid UTF-8 sequence
// replaced by U+FFFD (one per byte, as utf8.DecodeRune reports them).
func appendReplacingInvalid(dst []byte, s string) []byte {
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[:size]...)
		}
		s = s[size:]
	}
	return dst
}

// QuotedPrefix returns how many bytes of the valid UTF-8 text s fit in
// budget bytes once quoted as a JSON string by Marshal (quotes
// included), cut at a rune boundary. A tool whose result carries a large
// text uses it to stay within a size it promises.
func QuotedPrefix[T Chars](s T, budget int) int {
	cost := 2
	done := 0
	if budget < cost {
		return 0
	}
	for done < len(s) {
		n, _ := plainLen(s[done:])
		if cost+n > budget {
			return runeStartAtOrBefore(s, done+budget-cost)
		}
		cost += n
		done += n
		if done == len(s) {
			break
		}
		c := 2 // the short escapes
		switch s[done] {
		case '"', '\\', '\b', '\f', '\n', '\r', '\t':
		default:
			c = 6
		}
		if cost+c > budget {
			return done
		}
		cost += c
		done++
	}
	return done
}

// runeStartAtOrBefore returns the largest i ≤ n where a rune of s starts
// (len(s) when n is past the end).
func runeStartAtOrBefore[T Chars](s T, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// appendUnquoted appends the text of q, a JSON string literal (quotes
// included) that a decoder has already validated, with decodeOpts'
// semantics: escapes resolved, invalid UTF-8 as U+FFFD. Runs without
// escapes are found eight bytes at a time. ok is false, with dst as it
// was, for a literal with an escaped UTF-16 surrogate, whose edge cases
// are the library's to decide.
func appendUnquoted(dst, q []byte) (out []byte, ok bool) {
	start := len(dst)
	s := q[1 : len(q)-1]
	for len(s) > 0 {
		n, high := plainLen(s)
		if high && !utf8.Valid(s[:n]) {
			dst = appendReplacingInvalid(dst, string(s[:n]))
		} else {
			dst = append(dst, s[:n]...)
		}
		if n == len(s) {
			break
		}
		// In a valid literal the only byte plainLen stops at is '\\'.
		if s[n] != '\\' || n+1 >= len(s) {
			return dst[:start], false
		}
		switch c := s[n+1]; c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s[n+2:])
			if !ok || utf16.IsSurrogate(r) {
				return dst[:start], false
			}
			dst = utf8.AppendRune(dst, r)
			s = s[n+6:]
			continue
		default:
			return dst[:start], false
		}
		s = s[n+2:]
	}
	return dst, true
}

// hex4 parses the four hex digits b starts with.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
