package server

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/invopop/jsonschema"

	"github.com/sbx-mcp/sbx-mcp/freelist"
)

// Wire JSON goes through github.com/go-json-experiment/json (the upstream
// of encoding/json/v2). Decoding validates and splits a message in one
// pass, about five times faster than encoding/json, whose Unmarshal scans
// its input twice; that matters for multi-megabyte tools/call lines
// (write_file). Encoding uses encoding/json's semantics (nil slices as
// null, v1 omitempty; the result types and output schemas rely on them)
// with v2's string encoder, about twice as fast on large text (read_file).

// decodeOpts keep encoding/json's leniency on the wire: a duplicate name
// takes the last value and invalid UTF-8 in a string becomes U+FFFD.
var decodeOpts = jsonv2.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// encodeOpts are encoding/json's semantics without HTML escaping.
var encodeOpts = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsontext.EscapeForHTML(false), jsontext.EscapeForJS(false))

// unmarshal decodes JSON in b into v with decodeOpts. Object member names
// match case-sensitively and unknown members are ignored.
func unmarshal(b []byte, v any) error {
	return jsonv2.Unmarshal(b, v, decodeOpts)
}

// isSyntaxError reports whether err is about malformed JSON (as opposed
// to a well-formed value of the wrong type).
func isSyntaxError(err error) bool {
	var se *jsontext.SyntacticError
	return errors.As(err, &se)
}

// describeDecodeError turns a decode error into text for the client: where
// in the value it happened (root names the whole value) and what JSON type
// was wanted, without Go type names.
func describeDecodeError(err error, root string) string {
	var se *jsonv2.SemanticError
	if !errors.As(err, &se) {
		return strings.TrimPrefix(err.Error(), "jsontext: ")
	}
	where := root
	if p := string(se.JSONPointer); p != "" {
		name := strings.ReplaceAll(strings.TrimPrefix(p, "/"), "/", ".")
		where = strconv.Quote(strings.NewReplacer("~1", "/", "~0", "~").Replace(name))
	}
	got, want := jsonKindName(se.JSONKind), goJSONType(se.GoType)
	// A number for an integer (a fraction, an overflow) is a range
	// problem, not a type mismatch: the underlying error says which.
	if got == "" || want == "" || got == want || (got == "number" && want == "integer") {
		if se.Err != nil {
			return fmt.Sprintf("%s: %v", where, se.Err)
		}
		return where + ": invalid value"
	}
	return fmt.Sprintf("%s must be %s, got %s", where, article(want), withArticle(got))
}

// jsonKindName names a JSON kind as JSON Schema does ("" when unknown).
func jsonKindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return ""
}

// goJSONType names the JSON type a Go type decodes from ("" when any).
func goJSONType(t reflect.Type) string {
	if t == nil {
		return ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return ""
}

// withArticle is article for kinds, except null, which takes none.
func withArticle(kind string) string {
	if kind == "null" {
		return kind
	}
	return article(kind)
}

// TextBytes is a string argument decoded straight into bytes, without the
// intermediate Go string (and its copy) a megabyte of file content would
// otherwise cost, into a recycled buffer (Release). Its schema is a JSON
// string; invalid UTF-8 in it becomes U+FFFD, as in any other string.
type TextBytes []byte

// textBufs recycles TextBytes buffers.
var textBufs = freelist.New(2, maxPooledLine)

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

// Release gives t's buffer back for a later decode and empties t. Nothing
// may use the bytes afterwards; a handler calls it once it is done with
// them.
func (t *TextBytes) Release() {
	textBufs.Put(*t)
	*t = nil
}

// JSONSchema gives TextBytes the schema of a string (invopop/jsonschema).
func (TextBytes) JSONSchema() *jsonschema.Schema { return &jsonschema.Schema{Type: "string"} }
