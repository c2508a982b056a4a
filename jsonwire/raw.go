package jsonwire

import (
	"bytes"
	"errors"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// A structural walk over JSON that has already been validated (a frame's
// params, a call's arguments): it finds where values start and end without
// checking them again, so a megabyte of string costs a memchr-speed skip
// instead of another validating pass. It never reads out of bounds and
// reports a malformed structure, but it is no validator: whatever decodes
// the values (the typed decode of arguments) still checks them.

// ErrMalformed reports JSON whose structure the walk could not follow.
var ErrMalformed = errors.New("malformed JSON")

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] == '"'.
func stringEnd(b []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, ErrMalformed
		}
		j += k
		n := 0 // backslashes right before the quote: odd means it is escaped
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		j++
		if n%2 == 0 {
			return j, nil
		}
	}
}

// valueEnd returns the index just past the value starting at b[i].
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, ErrMalformed
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := stringEnd(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, ErrMalformed
	}
	j := i // a number or a literal: up to the next delimiter
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if j == i {
				return 0, ErrMalformed
			}
			return j, nil
		}
		j++
	}
	return j, nil
}

// Members calls fn with each member of the object obj (a whole value,
// surrounding whitespace trimmed); key is unescaped, val is a sub-slice.
func Members(obj []byte, fn func(key string, val []byte) error) error {
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return ErrMalformed
	}
	i := skipSpace(obj, 1)
	if obj[i] == '}' {
		return nil
	}
	for {
		if obj[i] != '"' {
			return ErrMalformed
		}
		kend, err := stringEnd(obj, i)
		if err != nil {
			return err
		}
		key, err := Unquote(obj[i:kend])
		if err != nil {
			return err
		}
		i = skipSpace(obj, kend)
		if i >= len(obj) || obj[i] != ':' {
			return ErrMalformed
		}
		i = skipSpace(obj, i+1)
		vend, err := valueEnd(obj, i)
		if err != nil {
			return err
		}
		if err := fn(key, obj[i:vend]); err != nil {
			return err
		}
		var last bool
		if i, last, err = nextMember(obj, vend); err != nil || last {
			return err
		}
	}
}

// nextMember moves past the separator after a member or element ending
// at end in the container b, whose last byte the caller checked is the
// closing bracket: it returns where the next one starts, or last when the
// closing bracket follows.
func nextMember(b []byte, end int) (next int, last bool, err error) {
	i := skipSpace(b, end)
	if i == len(b)-1 {
		return 0, true, nil
	}
	if i >= len(b) || b[i] != ',' {
		return 0, false, ErrMalformed
	}
	i = skipSpace(b, i+1)
	if i >= len(b)-1 {
		return 0, false, ErrMalformed // a trailing comma
	}
	return i, false, nil
}

// Items calls fn with each element of the array arr (a whole value).
func Items(arr []byte, fn func(i int, val []byte) error) error {
	if len(arr) < 2 || arr[0] != '[' || arr[len(arr)-1] != ']' {
		return ErrMalformed
	}
	i := skipSpace(arr, 1)
	if arr[i] == ']' {
		return nil
	}
	for n := 0; ; n++ {
		vend, err := valueEnd(arr, i)
		if err != nil {
			return err
		}
		if err := fn(n, arr[i:vend]); err != nil {
			return err
		}
		var last bool
		if i, last, err = nextMember(arr, vend); err != nil || last {
			return err
		}
	}
}

// Unquote returns the string a JSON string literal holds.
func Unquote(lit []byte) (string, error) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", ErrMalformed
	}
	if bytes.IndexByte(lit, '\\') < 0 && utf8.Valid(lit) {
		return string(lit[1 : len(lit)-1]), nil
	}
	// Escapes, or invalid UTF-8, which becomes U+FFFD as in the decoder;
	// AppendUnquote reports it but still replaces it.
	b, err := jsontext.AppendUnquote(nil, lit)
	if err != nil && utf8.Valid(lit) {
		return "", ErrMalformed
	}
	return string(b), nil
}

// Kind names the JSON type of a value by its first byte as JSON Schema
// does (integer when a number has no fraction or exponent); "" when it is
// none.
func Kind(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	switch c := v[0]; {
	case c == '-' || (c >= '0' && c <= '9'):
		if bytes.ContainsAny(v, ".eE") {
			return "number"
		}
		return "integer"
	case c == 'n':
		return "null"
	case c == 't' || c == 'f':
		return "boolean"
	}
	return KindName(jsontext.Kind(v[0]))
}
