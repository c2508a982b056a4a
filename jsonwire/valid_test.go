package jsonwire

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

var validateCases = []string{
	``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `01`, `-`, `1.`, `1.5e`, `1.5e+3`, `1E-0`, `.5`, `+1`, `1x`,
	`true`, `tru`, `nul`, `null `, ` false`, `{"a":1,"a":2}`, `{"a" : [1, 2 ,{}], "b":null}`,
	`{"a":}`, `{"a"1}`, `{,}`, `[1,]`, `[,1]`, `{"a":1,}`, `[1 2]`, `{"a":1 "b":2}`, `"a" "b"`,
	`"\u00e9\ud800\/\b\f\n\r\t\"\\"`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"tab\there\"", "\"bad \xff utf-8\"",
	"\"nul \x00\"", `"unterminated`, `"\"`, "{\"k\":\"v\"}\n", "\t[ \r\n ]\t",
	`{"` + strings.Repeat("x\\n", 100) + `":"` + strings.Repeat("é\\\"", 100) + `"}`,
	strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
	strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	strings.Repeat(`{"":`, maxDepth) + `""` + strings.Repeat("}", maxDepth),
	strings.Repeat(`{"":`, maxDepth+1) + `""` + strings.Repeat("}", maxDepth+1),
}

func TestValidJSONAgreesWithJSONText(t *testing.T) {
	for _, s := range validateCases {
		if got, want := Valid([]byte(s)), jsontext.Value(s).IsValid(decodeOpts); got != want {
			t.Errorf("Valid(%.60q) = %v, jsontext says %v", s, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range validateCases {
		if len(s) < 1000 {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Valid([]byte(s)), jsontext.Value(s).IsValid(decodeOpts); got != want {
			t.Fatalf("Valid(%q) = %v, jsontext says %v", s, got, want)
		}
	})
}

// BenchmarkValidate1MiB: validating a write_file line of 1 MiB.
func BenchmarkValidate1MiB(b *testing.B) {
	line := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"/tmp/x","content":` +
		string(AppendQuoted(nil, benchText)) + `}}}`)
	b.SetBytes(int64(len(line)))
	b.Run("Valid", func(b *testing.B) {
		for b.Loop() {
			Valid(line)
		}
	})
	b.Run("jsontext", func(b *testing.B) {
		for b.Loop() {
			jsontext.Value(line).IsValid(decodeOpts)
		}
	})
}
