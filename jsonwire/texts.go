package jsonwire

import (
	"reflect"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/invopop/jsonschema"

	"github.com/sbx-mcp/sbx-mcp/freelist"
)

// TextBytes is a string argument decoded straight into bytes, without the
// intermediate Go string (and its copy) a megabyte of file content would
// otherwise cost, into a recycled buffer. Its schema is a JSON string;
// invalid UTF-8 in it becomes U+FFFD, as in any other string. The top-level
// TextBytes fields of a value decoded with TextFields.Unmarshal are given
// back with TextFields.Release; others are left to the garbage collector.
type TextBytes []byte

// textBufs recycles TextBytes buffers.
var textBufs = freelist.New(2, MaxKept)

// unquoteText unquotes the string literal v into a recycled buffer
// (appendUnquoted); ok is false, and nothing is kept, where it leaves v to
// the library.
func unquoteText(v []byte) (TextBytes, bool) {
	b, ok := appendUnquoted(textBufs.Get(), v)
	if !ok {
		textBufs.Put(b)
		return nil, false
	}
	return b, true
}

// UnmarshalJSONFrom implements the v2 decoder's UnmarshalerFrom.
func (t *TextBytes) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if v.Kind() == 'n' { // null: no text, as for a string
		*t = nil
		return nil
	}
	if v.Kind() != '"' {
		return &jsonv2.SemanticError{JSONKind: v.Kind(), GoType: reflect.TypeFor[string]()}
	}
	if len(v) == len(`""`) {
		*t = TextBytes{}
		return nil
	}
	if b, ok := unquoteText(v); ok {
		*t = b
		return nil
	}
	var s string // escaped surrogates: decode as a string does
	if err := jsonv2.Unmarshal(v, &s, decodeOpts); err != nil {
		return err
	}
	*t = append(textBufs.Get(), s...)
	return nil
}

// release gives t's buffer back for a later decode and empties t.
func (t *TextBytes) release() {
	if cap(*t) > 0 {
		textBufs.Put(*t)
	}
	*t = nil
}

// JSONSchema gives TextBytes the schema of a string (invopop/jsonschema).
func (TextBytes) JSONSchema() *jsonschema.Schema { return &jsonschema.Schema{Type: "string"} }

// A write_file's content is nearly all of its arguments. The typed decode
// would validate it once more and unquote it a byte at a time; instead the
// big string members bound for TextBytes fields are taken out of the
// arguments first, unquoted straight into recycled buffers by appendUnquoted
// (which also rejects what a JSON string may not hold), and the typed
// decode goes over what is left, with "" in their place.

// TextFields are the top-level TextBytes fields of a struct type.
type TextFields struct {
	fields []textField
}

// Len is the number of fields.
func (fs TextFields) Len() int { return len(fs.fields) }

// textField is a top-level TextBytes field.
type textField struct {
	name  string // JSON member name
	index []int
}

// TextFieldsOf lists the top-level TextBytes fields of the struct type t
// (none for any other type).
func TextFieldsOf(t reflect.Type) TextFields {
	if t.Kind() != reflect.Struct {
		return TextFields{}
	}
	var out []textField
	for _, f := range reflect.VisibleFields(t) {
		if f.Type != reflect.TypeFor[TextBytes]() || !f.IsExported() || len(f.Index) != 1 {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out = append(out, textField{name: name, index: f.Index})
	}
	return TextFields{out}
}

// Unmarshal is the package's Unmarshal for a pointer v to the struct type
// fs was made from. Big string members of raw bound for fs (a validated
// object) are unquoted apart, so a megabyte of content costs one SWAR
// pass; a member named twice, or one with escapes appendUnquoted leaves to
// the library, stays for the typed decode. Release gives the buffers back.
func (fs TextFields) Unmarshal(raw []byte, v any) error {
	rest, taken := fs.take(raw)
	if err := Unmarshal(rest, v); err != nil {
		for i := range taken {
			taken[i].b.release()
		}
		return err
	}
	rv := reflect.ValueOf(v).Elem()
	for _, t := range taken {
		rv.FieldByIndex(t.field.index).Set(reflect.ValueOf(t.b))
	}
	return nil
}

// Release gives back the buffers of the TextBytes fields of *v (a value
// Unmarshal filled) and empties them. Nothing may use those bytes
// afterwards, copies of *v included.
func (fs TextFields) Release(v any) {
	if len(fs.fields) == 0 {
		return
	}
	rv := reflect.ValueOf(v).Elem()
	for _, f := range fs.fields {
		fv := rv.FieldByIndex(f.index)
		b := fv.Interface().(TextBytes)
		b.release()
		fv.SetZero()
	}
}

// takenText is a member taken out of the arguments: its bytes, bound for
// field, and where its value was in raw.
type takenText struct {
	field      *textField
	b          TextBytes
	start, end int
}

// take takes raw's big string members that fs decode out of it. It
// returns raw with "" in their place (raw itself when nothing was taken)
// and what it took.
func (fs TextFields) take(raw []byte) ([]byte, []takenText) {
	fields := fs.fields
	if len(fields) == 0 || len(raw) < BigString {
		return raw, nil
	}
	var taken []takenText
	seen := map[string]int{}
	Members(raw, func(key string, val []byte) error {
		i := slices.IndexFunc(fields, func(f textField) bool { return f.name == key })
		if i < 0 {
			return nil
		}
		seen[key]++
		if len(val) >= BigString && val[0] == '"' {
			start := cap(raw) - cap(val) // val is raw[start:start+len(val)]
			taken = append(taken, takenText{field: &fields[i], start: start, end: start + len(val)})
		}
		return nil
	})
	taken = slices.DeleteFunc(taken, func(t takenText) bool { return seen[t.field.name] > 1 })
	for i := range taken {
		taken[i].b, _ = unquoteText(raw[taken[i].start:taken[i].end])
	}
	taken = slices.DeleteFunc(taken, func(t takenText) bool { return t.b == nil })
	if len(taken) == 0 {
		return raw, nil
	}
	size := len(raw)
	for _, t := range taken {
		size -= t.end - t.start - len(`""`)
	}
	rest := make([]byte, 0, size)
	at := 0
	for _, t := range taken {
		rest = append(rest, raw[at:t.start]...)
		rest = append(rest, `""`...)
		at = t.end
	}
	return append(rest, raw[at:]...), taken
}
