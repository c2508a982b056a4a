package jsonwire

import (
	"sync"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/invopop/jsonschema"
)

// Text is a string, or bytes of valid UTF-8 that are encoded straight from
// the caller's buffer: a streamed chunk or a file's content need not be
// copied into a string first. In a JSON value it is a string.
type Text struct {
	s   string
	b   []byte
	own *owner // OwnedBytes: who gives b back
}

// owner gives an OwnedBytes buffer back, once, however many copies of the
// Text were encoded.
type owner struct {
	once    sync.Once
	release func()
}

func (o *owner) done() { o.once.Do(o.release) }

// String is a Text holding s.
func String(s string) Text { return Text{s: s} }

// Bytes is a Text holding b, which must be valid UTF-8 and stay unchanged
// until the message holding it has been written.
func Bytes(b []byte) Text { return Text{b: b} }

// OwnedBytes is Bytes for a recycled buffer: the Line that encodes the
// Text calls release (once, for all copies of the Text) when the Line is
// released, after it was written. A Text that is never encoded is left to
// the garbage collector.
func OwnedBytes(b []byte, release func()) Text {
	if release == nil {
		return Bytes(b)
	}
	return Text{b: b, own: &owner{release: release}}
}

// cut splits t after about n bytes, at the start of a rune (so a piece
// never ends inside a valid UTF-8 sequence).
func (t Text) cut(n int) (head, tail Text) {
	if t.Len() <= n {
		return t, Text{}
	}
	if t.b != nil {
		if i := runeStartAtOrBefore(t.b, n); i > 0 {
			n = i
		}
		return Bytes(t.b[:n]), Bytes(t.b[n:])
	}
	if i := runeStartAtOrBefore(t.s, n); i > 0 {
		n = i
	}
	return String(t.s[:n]), String(t.s[n:])
}

// IsZero reports whether t is empty (omitzero).
func (t Text) IsZero() bool { return t.Len() == 0 }

// MarshalJSONTo writes t as a JSON string (v2 encoder).
func (t Text) MarshalJSONTo(enc *jsontext.Encoder) error {
	if t.b != nil {
		return enc.WriteValue(t.AppendQuoted(nil))
	}
	return enc.WriteToken(jsontext.String(t.s))
}

// MarshalJSON writes t as a JSON string (encoding/json).
func (t Text) MarshalJSON() ([]byte, error) { return t.AppendQuoted(nil), nil }

// AppendQuoted appends t as a JSON string (see AppendQuoted).
func (t Text) AppendQuoted(dst []byte) []byte {
	return append(t.appendQuotedBody(append(dst, '"')), '"')
}

// appendQuotedBody is AppendQuoted without the quotes.
func (t Text) appendQuotedBody(dst []byte) []byte {
	if t.b != nil {
		return appendQuotedBody(dst, t.b)
	}
	return appendQuotedBody(dst, t.s)
}

// JSONSchema gives Text the schema of a string (invopop/jsonschema).
func (Text) JSONSchema() *jsonschema.Schema { return &jsonschema.Schema{Type: "string"} }

// Len is the text's length in bytes.
func (t Text) Len() int { return len(t.s) + len(t.b) }

// Raw returns the bytes t holds, when it holds bytes (Bytes, OwnedBytes).
func (t Text) Raw() ([]byte, bool) { return t.b, t.b != nil }

// String returns the text as a string.
func (t Text) String() string {
	if t.b != nil {
		return string(t.b)
	}
	return t.s
}
