package process

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeKeys(t *testing.T) {
	for _, tc := range []struct {
		keys      []string
		tty, app  bool
		want, err string
	}{
		{[]string{"enter"}, true, false, "\r", ""},
		{[]string{"enter"}, false, false, "\n", ""},
		{[]string{"ctrl-c", "ctrl-a", "ctrl-z"}, true, false, "\x03\x01\x1a", ""},
		{[]string{"up", "left"}, true, false, "\x1b[A\x1b[D", ""},
		{[]string{"up", "home"}, true, true, "\x1bOA\x1bOH", ""},
		{[]string{"Esc", " tab "}, true, false, "\x1b\t", ""},
		{[]string{"f1", "f5", "f12", "pgdn", "backspace"}, true, false, "\x1bOP\x1b[15~\x1b[24~\x1b[6~\x7f", ""},
		{[]string{"ctrl-1"}, true, false, "", "unknown key"},
		{[]string{"a"}, true, false, "", "text goes in data"},
	} {
		got, err := encodeKeys(tc.keys, tc.tty, tc.app)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("encodeKeys(%q) error %v, want %q", tc.keys, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("encodeKeys(%q, tty=%v, app=%v) = %q, %v; want %q", tc.keys, tc.tty, tc.app, got, err, tc.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nb\r\n":                      "a\nb\n",
		"\x1b[1;31mred\x1b[0m \x1b]0;t\a": "red ",
		"\x1b[?1049h\x1b[Hvim\x1b[K":      "vim",
		"bad \xff byte":                   "bad \uFFFD byte",
	} {
		if got := cleanText([]byte(in)); got != want {
			t.Errorf("cleanText(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRawLen: the raw prefix rawLen picks holds at least n cleaned bytes
// (for valid UTF-8) and never ends inside a UTF-8 character.
func FuzzRawLen(f *testing.F) {
	f.Add([]byte("\x1b[31mhi\x1b[0m\r\n漢字 done> "), 4)
	f.Add([]byte("a\r\nb"), 2)
	f.Fuzz(func(t *testing.T, raw []byte, n int) {
		full := len(cleanText(raw))
		if full == 0 {
			return
		}
		n = 1 + (n%full+full)%full
		k := rawLen(raw, n)
		if k < 0 || k > len(raw) {
			t.Fatalf("rawLen = %d of %d", k, len(raw))
		}
		// Invalid UTF-8 is cleaned to U+FFFD, so its length is not monotone in the prefix.
		if got := len(cleanText(raw[:k])); got < n && utf8.Valid(raw) {
			t.Fatalf("cleanText(raw[:%d]) has %d bytes, want ≥ %d", k, got, n)
		}
		if k < len(raw) && !utf8.RuneStart(raw[k]) {
			t.Fatalf("stops inside a character at %d", k)
		}
	})
}
