package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/sbx-mcp/sbx-mcp/jsonwire"
)

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
	if se.Err != nil && se.GoType != nil && ownDecoder(se.GoType) {
		return fmt.Sprintf("%s: %v", where, se.Err) // the type's own message
	}
	got, want := jsonwire.KindName(se.JSONKind), goJSONType(se.GoType)
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

// ownDecoder reports whether values of t decode themselves (json.Unmarshaler
// or the v2 UnmarshalerFrom), so their errors say more than a kind mismatch.
func ownDecoder(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(reflect.TypeFor[json.Unmarshaler]()) || p.Implements(reflect.TypeFor[jsonv2.UnmarshalerFrom]())
}
