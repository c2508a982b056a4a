package jsonwire

import (
	"bytes"
	"errors"
	"io"
	"slices"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// BigString is the length from which Marshal leaves a string (or a
// Text) out of a message: it writes "" in its place, and Line.Write writes
// the line around the placeholders, quoting each distinct string once with
// AppendQuoted. That is several times faster than the library's quoting,
// and a string that appears twice (read_file's content is both the text
// block and structuredContent.content) is quoted only once.
const BigString = 16 << 10

// MaxKept bounds the buffers this package keeps between messages; users
// of freelist for wire messages take the same bound.
const MaxKept = 8 << 20

// Line is one message encoded by Marshal, to be written with Write and
// then given back with Release. Lines are recycled: a fresh buffer for a
// multi-megabyte result costs more (growing, zeroing, faulting its pages
// in, collecting it) than encoding into it does, and a Line's marshal
// options cache what they learn about types.
type Line struct {
	msg   bytes.Buffer // the message with a placeholder for each big string
	line  []byte       // Write's buffer: msg with each distinct big string quoted
	bigs  []bigRef
	owned []*owner       // of the OwnedBytes texts in the message (Release)
	opts  jsonv2.Options // encodeOpts plus the Text marshaler bound to this Line
}

// bigRef is a big string (or Text) left out of msg: its placeholder ""
// ends at end, and Write quotes it at line[start:stop].
type bigRef struct {
	t           Text
	end         int
	start, stop int
}

// same reports whether two big strings hold the same text.
func (a *bigRef) same(b *bigRef) bool {
	switch {
	case a.t.b == nil && b.t.b == nil:
		return a.t.s == b.t.s
	case a.t.b == nil:
		return a.t.s == string(b.t.b)
	case b.t.b == nil:
		return string(a.t.b) == b.t.s
	}
	return bytes.Equal(a.t.b, b.t.b)
}

// lines recycles Lines. Unlike a sync.Pool it survives garbage
// collections, which large results make frequent; it holds at most
// cap(lines), each with buffers of at most MaxKept bytes.
var lines = make(chan *Line, 2)

func newLine() *Line {
	e := &Line{}
	e.opts = jsonv2.JoinOptions(encodeOpts, jsonv2.WithMarshalers(jsonv2.JoinMarshalers(
		jsonv2.MarshalToFunc(func(enc *jsontext.Encoder, s string) error { return e.leaveOut(enc, String(s)) }),
		jsonv2.MarshalToFunc(e.text),
	)))
	return e
}

// text notes who owns t's buffer and encodes it (leaveOut).
func (e *Line) text(enc *jsontext.Encoder, t Text) error {
	if t.own != nil {
		e.owned = append(e.owned, t.own)
	}
	return e.leaveOut(enc, t)
}

// leaveOut writes a big string as a placeholder and remembers it; other
// strings, and object names, take the default encoding.
func (e *Line) leaveOut(enc *jsontext.Encoder, t Text) error {
	if t.Len() < BigString {
		return errors.ErrUnsupported
	}
	if kind, n := enc.StackIndex(enc.StackDepth()); kind == '{' && n%2 == 0 {
		return errors.ErrUnsupported // an object member name
	}
	if err := enc.WriteToken(jsontext.String("")); err != nil {
		return err
	}
	e.bigs = append(e.bigs, bigRef{end: int(enc.OutputOffset()), t: t})
	return nil
}

// Marshal encodes v as one line of compact JSON with a trailing newline:
// encoding/json's semantics (nil slices as null, v1 omitempty) without HTML
// or JavaScript escaping. Write writes it; Release it afterwards.
func Marshal(v any) (*Line, error) {
	var e *Line
	select {
	case e = <-lines:
	default:
		e = newLine()
	}
	e.msg.Reset()
	e.bigs = e.bigs[:0]
	if err := jsonv2.MarshalWrite(&e.msg, v, e.opts); err != nil {
		e.Release()
		return nil, err
	}
	e.msg.WriteByte('\n')
	return e, nil
}

// Encode returns v as Marshal puts it on the wire, without the newline.
func Encode(v any) ([]byte, error) {
	e, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	defer e.Release()
	var out bytes.Buffer
	if err := e.Write(&out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// writeChunk is about how much of a line with big strings Write quotes
// before writing it: the reader takes in one piece while the next is
// being quoted.
const writeChunk = 256 << 10

// Write writes the line to w. The big strings are spliced in as they are
// quoted, in pieces of about writeChunk bytes; a string equal to one
// already quoted (read_file's content, twice) is written again from where
// it was quoted.
func (e *Line) Write(w io.Writer) error {
	m := e.msg.Bytes()
	if len(e.bigs) == 0 {
		_, err := w.Write(m)
		return err
	}
	line := e.line[:0]
	sent := 0
	flush := func() error {
		if sent == len(line) {
			return nil
		}
		_, err := w.Write(line[sent:])
		sent = len(line)
		return err
	}
	at := 0
	for i := range e.bigs {
		b := &e.bigs[i]
		line = append(line, m[at:b.end-len(`""`)]...)
		at = b.end
		if j := slices.IndexFunc(e.bigs[:i], func(o bigRef) bool { return o.same(b) }); j >= 0 {
			b.start, b.stop = e.bigs[j].start, e.bigs[j].stop
			if err := flush(); err != nil {
				return err
			}
			if _, err := w.Write(line[b.start:b.stop]); err != nil {
				return err
			}
			continue
		}
		b.start = len(line)
		line = append(line, '"')
		for rest := b.t; rest.Len() > 0; {
			var piece Text
			piece, rest = rest.cut(writeChunk)
			line = piece.appendQuotedBody(line)
			if len(line)-sent >= writeChunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		line = append(line, '"')
		b.stop = len(line)
	}
	line = append(line, m[at:]...)
	e.line = line
	return flush()
}

// Release gives back the buffers of the OwnedBytes texts in the message
// and recycles the Line. Neither may be used afterwards.
func (e *Line) Release() {
	for _, o := range e.owned {
		o.done()
	}
	clear(e.owned[:cap(e.owned)])
	e.owned = e.owned[:0]
	if e.msg.Cap() > MaxKept {
		e.msg = bytes.Buffer{}
	}
	if cap(e.line) > MaxKept {
		e.line = nil
	}
	clear(e.bigs[:cap(e.bigs)])
	select {
	case lines <- e:
	default:
	}
}
