package jsonwire

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// content is an MCP content block, as the server sends it.
type content struct {
	Type     string `json:"type"`
	Text     Text   `json:"text,omitzero"`
	Data     string `json:"data,omitempty"`
	MimeType string `json:"mimeType,omitempty"`
}

// benchText is 1 MiB of 64-byte lines, as sbx-bench writes.
var benchText = strings.Repeat(strings.Repeat("7", 63)+"\n", 1<<20/64)

// libraryQuoted is the wire encoder's own rendering of s.
func libraryQuoted(t testing.TB, s string) string {
	b, err := jsonv2.Marshal(s, encodeOpts)
	if err != nil {
		t.Fatalf("marshal %q: %v", s, err)
	}
	return string(b)
}

var quoteCases = []string{
	"", "a", `"`, `\`, "plain ascii text that is longer than a word",
	"tab\there\nnew line\r\x00\x01\x1f\x7f end", `<>&'`,
	"héllo wörld ✓ 日本語 🙂", "\u2028\u2029",
	"bad \xff utf-8 \xe2\x82 cut", "\xc3", "ends in half \xf0\x9f\x99",
	strings.Repeat("0123456\n", 100), strings.Repeat("é\"", 50),
	"12345678\"", "1234567\x00", "\x80\x80\x80\x80\x80\x80\x80\x80\x80",
}

func TestAppendQuotedMatchesEncoder(t *testing.T) {
	for _, s := range quoteCases {
		want := libraryQuoted(t, s)
		if got := string(AppendQuoted(nil, s)); got != want {
			t.Errorf("AppendQuoted(%q) = %s, want %s", s, got, want)
		}
		if got := string(AppendQuoted([]byte("x"), []byte(s))); got != "x"+want {
			t.Errorf("AppendQuoted([]byte %q) = %s, want x%s", s, got, want)
		}
	}
}

func FuzzAppendQuoted(f *testing.F) {
	for _, s := range quoteCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := libraryQuoted(t, s)
		if got := string(AppendQuoted(nil, s)); got != want {
			t.Fatalf("AppendQuoted(%q) = %s, want %s", s, got, want)
		}
		if got := string(AppendQuoted(nil, []byte(s))); got != want {
			t.Fatalf("AppendQuoted([]byte %q) = %s, want %s", s, got, want)
		}
		if !utf8.ValidString(s) {
			return
		}
		for _, budget := range []int{0, 2, 3, 7, len(want) / 2, len(want) - 1, len(want)} {
			checkQuotedPrefix(t, s, budget)
		}
	})
}

// checkQuotedPrefix checks that QuotedPrefix(s, budget) is a rune
// boundary whose quoting fits, and that one more rune would not.
func checkQuotedPrefix(t *testing.T, s string, budget int) {
	t.Helper()
	n := QuotedPrefix(s, budget)
	if n < 0 || n > len(s) || (n < len(s) && !utf8.RuneStart(s[n])) {
		t.Fatalf("QuotedPrefix(%q, %d) = %d: not a rune boundary", s, budget, n)
	}
	if q := len(AppendQuoted(nil, s[:n])); n > 0 && q > budget {
		t.Fatalf("QuotedPrefix(%q, %d) = %d, which quotes to %d bytes", s, budget, n, q)
	}
	if n < len(s) {
		_, size := utf8.DecodeRuneInString(s[n:])
		if q := len(AppendQuoted(nil, s[:n+size])); q <= budget {
			t.Fatalf("QuotedPrefix(%q, %d) = %d, but %d bytes (%d quoted) fit", s, budget, n, n+size, q)
		}
	}
}

func TestQuotedPrefix(t *testing.T) {
	for _, s := range quoteCases {
		if !utf8.ValidString(s) {
			continue
		}
		for budget := range len(libraryQuoted(t, s)) + 2 {
			checkQuotedPrefix(t, s, budget)
		}
	}
	if n := QuotedPrefix(strings.Repeat("a", 100), 52); n != 50 {
		t.Errorf("QuotedPrefix(100×a, 52) = %d, want 50", n)
	}
	if n := QuotedPrefix("ab\x01c", 8); n != 2 {
		t.Errorf(`QuotedPrefix("ab\x01c", 8) = %d, want 2 (\u0001 needs six bytes)`, n)
	}
}

func BenchmarkQuote1MiB(b *testing.B) {
	s := benchText
	buf := make([]byte, 0, 2<<20)
	b.Run("appendQuoted", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			buf = AppendQuoted(buf[:0], s)
		}
	})
	b.Run("jsontext.AppendQuote", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			buf, _ = jsontext.AppendQuote(buf[:0], s)
		}
	})
	b.Run("QuotedPrefix", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			QuotedPrefix(s, 3<<20)
		}
	})
}

func TestMarshalSplicesBigStrings(t *testing.T) {
	big := strings.Repeat("big \"text\"\n✓\x01", BigString/8)
	other := strings.Repeat("o", BigString) + "\xff"
	type inner struct {
		Text  string `json:"text"`
		Empty string `json:"empty,omitempty"`
	}
	values := map[string]any{
		"top-level":  big,
		"twice":      struct{ A, B string }{big, big},
		"equal copy": struct{ A, B string }{big, strings.Clone(big)},
		"nested": map[string]any{
			"content":    []any{inner{Text: big}, inner{Text: "small"}},
			"structured": &inner{Text: big},
			"other":      other,
			"list":       []string{other, "x", big},
		},
		"big name": map[string]string{big: "v", "k": other},
		"text blocks": []any{
			content{Type: "text", Text: Bytes([]byte(big))}, content{Type: "text", Text: String(big)},
			content{Type: "text", Text: Bytes([]byte("small ✓\n"))}, content{Type: "image", Data: other},
			big, Bytes([]byte(other)),
		},
		"none": map[string]any{"a": "b", "n": 1},
		// pieces cut across two-, three- and four-byte runes and invalid bytes
		"long": []any{strings.Repeat("aé✓🙂\xff\x80", writeChunk/5), Bytes([]byte("x" + strings.Repeat("🙂é", writeChunk/3)))},
	}
	for range 3 { // encoders are reused: each pass must give the same lines
		for name, v := range values {
			want, err := jsonv2.Marshal(v, encodeOpts, jsonv2.WithMarshalers(jsonv2.MarshalToFunc(
				func(enc *jsontext.Encoder, t Text) error { return enc.WriteToken(jsontext.String(t.String())) })))
			if err != nil {
				t.Fatal(err)
			}
			e, err := Marshal(v)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var w countingWriter
			if err := e.Write(&w); err != nil {
				t.Fatal(err)
			}
			e.Release()
			if line := w.String(); line != string(want)+"\n" {
				t.Errorf("%s: marshal differs from the library's encoding (%d vs %d bytes)", name, len(line), len(want)+1)
			}
			if len(want) > 3*writeChunk && w.writes < 3 {
				t.Errorf("%s: %d bytes in %d writes, want pieces of about %d", name, len(want), w.writes, writeChunk)
			}
		}
	}
}

// countingWriter is a bytes.Buffer that counts Write calls.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// BenchmarkMarshalRead1MiB: the response of a read_file of 1 MiB of text,
// which carries the content twice.
func BenchmarkMarshalRead1MiB(b *testing.B) {
	type readResult struct {
		Path    string `json:"path"`
		Content string `json:"content"`
		Size    int    `json:"size"`
	}
	type result struct {
		Content           []content `json:"content"`
		StructuredContent any       `json:"structuredContent,omitempty"`
		IsError           bool      `json:"isError"`
	}
	res := result{Content: []content{{Type: "text", Text: String(benchText)}},
		StructuredContent: readResult{Path: "/w/bench-1mib.txt", Content: benchText, Size: len(benchText)}}
	v := struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  any             `json:"result"`
	}{"2.0", []byte("7"), res}
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		e, err := Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Write(io.Discard); err != nil {
			b.Fatal(err)
		}
		e.Release()
	}
}

var unquoteCases = []string{
	`""`, `"plain"`, `"a\n\"é\" \u00e9 \ud83d\ude00"`, `"\/\b\f\n\r\t\\"`, "\"bad \xff\xfe utf-8 \xe2\x82\"",
	`"\ud800"`, `"\udc00x"`, `"\ud800\u0041"`, `"\uD83D\uDE00"`, `"\u0000\u001F\u007f"`,
	`"` + strings.Repeat(`0123456\n`, 50) + `"`,
}

func FuzzAppendUnquoted(f *testing.F) {
	for _, s := range unquoteCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, q := range []string{s, string(AppendQuoted(nil, s))} {
			if !jsontext.Value(q).IsValid(decodeOpts) || jsontext.Value(q).Kind() != '"' {
				continue
			}
			var want string
			werr := jsonv2.Unmarshal([]byte(q), &want, decodeOpts)
			got, ok := appendUnquoted([]byte("x"), []byte(q))
			if !ok {
				if string(got) != "x" {
					t.Fatalf("appendUnquoted(%q) gave up but changed dst to %q", q, got)
				}
				continue
			}
			if werr != nil {
				t.Fatalf("appendUnquoted(%q) = %q, but the decoder says %v", q, got, werr)
			}
			if string(got) != "x"+want {
				t.Fatalf("appendUnquoted(%q) = %q, want x%q", q, got, want)
			}
		}
	})
}

func TestTextBytesDecodesLikeAString(t *testing.T) {
	for _, q := range append(unquoteCases, string(AppendQuoted(nil, benchText))) {
		var want string
		werr := jsonv2.Unmarshal([]byte(q), &want, decodeOpts)
		for range 3 { // buffers are recycled: each decode must stand alone
			var got TextBytes
			err := Unmarshal([]byte(q), &got)
			if (err != nil) != (werr != nil) || string(got) != want {
				t.Fatalf("TextBytes %.60q = %.60q (%v), want %.60q (%v)", q, got, err, want, werr)
			}
			got.release()
			if got != nil {
				t.Fatal("release left the bytes in place")
			}
		}
	}
}
