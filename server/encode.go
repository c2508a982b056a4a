package server

import (
	"bytes"
	"errors"
	"slices"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// bigString is the length from which the encoder leaves a string (or a
// Text) out of a message: it writes "" in its place, and the line is assembled around the
// placeholders with each distinct string quoted once by appendQuoted. That
// is several times faster than the library's quoting, and a string that
// appears twice (read_file's content is both the text block and
// structuredContent.content) is quoted only once.
const bigString = 16 << 10

// maxPooledLine bounds the buffers an encoder keeps between messages.
const maxPooledLine = 8 << 20

// encoder turns one message into one line. Encoders are recycled: a fresh
// buffer for a multi-megabyte result costs more (growing, zeroing,
// faulting its pages in, collecting it) than encoding into it does, and an
// encoder's marshal options cache what they learn about types.
type encoder struct {
	msg  bytes.Buffer // the message with a placeholder for each big string
	line []byte       // msg with the big strings spliced in
	bigs []bigRef
	opts jsonv2.Options // encodeOpts plus the big-string marshaler bound to this encoder
}

// bigRef is a big string (or Text) left out of msg: its placeholder ""
// ends at end, and splice puts it quoted at line[start:stop].
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

// encoders recycles encoders. Unlike a sync.Pool it survives garbage
// collections, which large results make frequent; it holds at most
// cap(encoders), each with buffers of at most maxPooledLine bytes.
var encoders = make(chan *encoder, 2)

func newEncoder() *encoder {
	e := &encoder{}
	e.opts = jsonv2.JoinOptions(encodeOpts, jsonv2.WithMarshalers(jsonv2.JoinMarshalers(
		jsonv2.MarshalToFunc(func(enc *jsontext.Encoder, s string) error { return e.leaveOut(enc, String(s)) }),
		jsonv2.MarshalToFunc(e.leaveOut),
	)))
	return e
}

// leaveOut writes a big string as a placeholder and remembers it; other
// strings, and object names, take the default encoding.
func (e *encoder) leaveOut(enc *jsontext.Encoder, t Text) error {
	if t.Len() < bigString {
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

// marshal encodes v as one line of compact JSON with a trailing newline,
// without HTML escaping. The line belongs to the encoder: release it once
// written.
func marshal(v any) (*encoder, []byte, error) {
	var e *encoder
	select {
	case e = <-encoders:
	default:
		e = newEncoder()
	}
	e.msg.Reset()
	e.bigs = e.bigs[:0]
	if err := jsonv2.MarshalWrite(&e.msg, v, e.opts); err != nil {
		e.release()
		return nil, nil, err
	}
	e.msg.WriteByte('\n')
	if len(e.bigs) == 0 {
		return e, e.msg.Bytes(), nil
	}
	return e, e.splice(), nil
}

// Encode returns v as the server puts it on the wire, without the
// newline: compact JSON with encoding/json's semantics and no HTML or
// JavaScript escaping.
func Encode(v any) ([]byte, error) {
	e, line, err := marshal(v)
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(line[:len(line)-1])
	e.release()
	return out, nil
}

// splice builds the line from msg and the big strings. A string equal to
// one already quoted (read_file's content, twice) is copied from the line.
func (e *encoder) splice() []byte {
	m := e.msg.Bytes()
	line := e.line[:0]
	at := 0
	for i := range e.bigs {
		b := &e.bigs[i]
		line = append(line, m[at:b.end-len(`""`)]...)
		at = b.end
		b.start = len(line)
		if j := slices.IndexFunc(e.bigs[:i], func(o bigRef) bool { return o.same(b) }); j >= 0 {
			line = append(line, line[e.bigs[j].start:e.bigs[j].stop]...)
		} else if b.t.b != nil {
			line = appendQuoted(line, b.t.b)
		} else {
			line = appendQuoted(line, b.t.s)
		}
		b.stop = len(line)
	}
	line = append(line, m[at:]...)
	e.line = line
	return line
}

// release returns the encoder to the pool.
func (e *encoder) release() {
	if e.msg.Cap() > maxPooledLine {
		e.msg = bytes.Buffer{}
	}
	if cap(e.line) > maxPooledLine {
		e.line = nil
	}
	clear(e.bigs[:cap(e.bigs)])
	select {
	case encoders <- e:
	default:
	}
}
