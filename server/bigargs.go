package server

import (
	"reflect"
	"slices"
	"strings"
)

// A write_file's content is nearly all of its arguments. The typed decode
// would validate it once more and unquote it a byte at a time; instead the
// big string members bound for TextBytes fields are taken out of the
// arguments first, unquoted straight into recycled buffers by appendUnquoted
// (which also rejects what a JSON string may not hold), and the typed
// decode goes over what is left, with "" in their place.

// textField is a top-level TextBytes field of a tool's arguments.
type textField struct {
	name  string // JSON member name
	index []int
}

// textFieldsOf lists the top-level TextBytes fields of the struct type t.
func textFieldsOf(t reflect.Type) []textField {
	if t.Kind() != reflect.Struct {
		return nil
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
	return out
}

// takenText is a member taken out of the arguments: its bytes, bound for
// field, and where its value was in raw.
type takenText struct {
	field      *textField
	b          TextBytes
	start, end int
}

// takeBigTexts takes raw's big string members that fields decode out of it.
// It returns raw with "" in their place (raw itself when nothing was
// taken) and what it took; putTexts sets the fields once the rest is
// decoded. A
// member named twice, or one appendUnquoted leaves to the library, stays
// for the typed decode.
func takeBigTexts(raw []byte, fields []textField) ([]byte, []takenText) {
	if len(fields) == 0 || len(raw) < bigString {
		return raw, nil
	}
	var taken []takenText
	seen := map[string]int{}
	members(raw, func(key string, val []byte) error {
		i := slices.IndexFunc(fields, func(f textField) bool { return f.name == key })
		if i < 0 {
			return nil
		}
		seen[key]++
		if len(val) >= bigString && val[0] == '"' {
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

// putTexts sets the fields of *v that takeBigTexts took the values of.
func putTexts(v any, taken []takenText) {
	rv := reflect.ValueOf(v).Elem()
	for _, t := range taken {
		rv.FieldByIndex(t.field.index).Set(reflect.ValueOf(t.b))
	}
}

// releaseTexts gives back what takeBigTexts took (the decode failed).
func releaseTexts(taken []takenText) {
	for i := range taken {
		taken[i].b.Release()
	}
}
