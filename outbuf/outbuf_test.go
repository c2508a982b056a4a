package outbuf

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCaptureRender(t *testing.T) {
	tests := []struct {
		name      string
		limit     int
		writes    []string
		want      string
		enc       string
		truncated bool
	}{
		{"empty", 16, nil, "", "utf-8", false},
		{"fits", 16, []string{"hello ", "world"}, "hello world", "utf-8", false},
		{"exactly", 4, []string{"abcd"}, "abcd", "utf-8", false},
		{"cut", 4, []string{"abcdefgh"}, "ab\n[... 4 bytes truncated ...]\ngh", "utf-8", true},
		{"cut in pieces", 4, []string{"a", "b", "c", "d", "e", "f", "g", "h"}, "ab\n[... 4 bytes truncated ...]\ngh", "utf-8", true},
		{"ring wraps", 6, []string{"abc", "12345", "xyz"}, "abc\n[... 5 bytes truncated ...]\nxyz", "utf-8", true},
		// "é" is 2 bytes: a cut inside it drops the partial sequence.
		{"utf8 cut", 6, []string{"aaé" + strings.Repeat("x", 10) + "éb"}, "aa\n[... 12 bytes truncated ...]\néb", "utf-8", true},
		{"invalid", 16, []string{"a\xffb"}, base64.StdEncoding.EncodeToString([]byte("a\xffb")), "base64", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.limit)
			for _, w := range tt.writes {
				c.Write([]byte(w))
			}
			got := c.Render()
			if got.Content != tt.want || got.Encoding != tt.enc || got.Truncated != tt.truncated {
				t.Fatalf("render = %q %s truncated=%v, want %q %s truncated=%v", got.Content, got.Encoding, got.Truncated, tt.want, tt.enc, tt.truncated)
			}
		})
	}
}

// FuzzCapture checks that whatever the writes, the capture keeps the exact
// head and tail, counts every byte, and never turns valid UTF-8 invalid.
func FuzzCapture(f *testing.F) {
	f.Add([]byte("hello world"), 4, 3)
	f.Add([]byte("héllo wörld ✓✓✓"), 5, 2)
	f.Add([]byte{0xff, 0xfe, 'a'}, 2, 1)
	f.Fuzz(func(t *testing.T, data []byte, limit, step int) {
		if limit < 2 || limit > 1<<12 || step < 1 {
			return
		}
		c := New(limit)
		for i := 0; i < len(data); i += step {
			c.Write(data[i:min(i+step, len(data))])
		}
		if c.total != int64(len(data)) {
			t.Fatalf("total %d, want %d", c.total, len(data))
		}
		kept := append(append([]byte(nil), c.head...), c.tail()...)
		if len(data) <= limit {
			if !bytes.Equal(kept, data) {
				t.Fatalf("kept %q, want %q", kept, data)
			}
		} else {
			if !bytes.HasPrefix(data, c.head) || !bytes.HasSuffix(data, c.tail()) || len(kept) != limit {
				t.Fatalf("head/tail wrong: head %q tail %q of %q", c.head, c.tail(), data)
			}
		}
		r := c.Render()
		if utf8.Valid(data) && r.Encoding != "utf-8" {
			t.Fatalf("valid UTF-8 rendered as %s", r.Encoding)
		}
	})
}

func TestEncodeLossy(t *testing.T) {
	text := []byte(strings.Repeat("line\n", 400) + "caf\xe9\n")
	got := Encode(text, false, false, int64(len(text)))
	if got.Encoding != UTF8Lossy || got.Replaced != 1 || !strings.HasSuffix(got.Content, "caf\uFFFD\n") {
		t.Errorf("mostly text: %+v", got.Encoding)
	}
	if got := Encode(text, true, false, 0); got.Encoding != Base64 || got.Replaced != 0 {
		t.Errorf("raw: %s", got.Encoding)
	}
	bin := []byte("\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\xfd\xfc\x80\x81")
	if got := Encode(bin, false, false, 0); got.Encoding != Base64 {
		t.Errorf("binary: %s", got.Encoding)
	}
	if got := Encode([]byte("plain é"), false, false, 0); got.Encoding != UTF8 || got.Content != "plain é" {
		t.Errorf("valid: %+v", got)
	}
}
