package jsonwire

import (
	"bytes"
	"errors"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

func TestMembers(t *testing.T) {
	obj := []byte(` { "a" : "x\"}\\" , "b\u00e9":[1,{"c":"]"}], "e\\\"q":-1.5e3,"n":null ,"t":true}`)
	var keys []string
	var vals []string
	err := Members(bytes.TrimSpace(obj), func(k string, v []byte) error {
		keys = append(keys, k)
		vals = append(vals, string(v))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantK := []string{"a", "bé", `e\"q`, "n", "t"}
	wantV := []string{`"x\"}\\"`, `[1,{"c":"]"}]`, `-1.5e3`, `null`, `true`}
	if len(keys) != len(wantK) {
		t.Fatalf("keys %q, values %q", keys, vals)
	}
	for i := range wantK {
		if keys[i] != wantK[i] || vals[i] != wantV[i] {
			t.Errorf("member %d: %q=%q, want %q=%q", i, keys[i], vals[i], wantK[i], wantV[i])
		}
	}
	for _, bad := range []string{`{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":"x}`, `{"a":1 "b":2}`, `{"a":[1,2}`, `[]`, `{"a":1}}`} {
		if err := Members([]byte(bad), func(string, []byte) error { return nil }); !errors.Is(err, ErrMalformed) {
			t.Errorf("Members(%s) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestItems(t *testing.T) {
	var got []string
	if err := Items([]byte(`[ "a,]" ,{"b":[]},3 ]`), func(i int, v []byte) error { got = append(got, string(v)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != `"a,]"` || got[1] != `{"b":[]}` || got[2] != "3" {
		t.Errorf("items: %q", got)
	}
	if err := Items([]byte(`[]`), func(int, []byte) error { t.Error("called for an empty array"); return nil }); err != nil {
		t.Error(err)
	}
}

// FuzzMembers: on any valid JSON object, members finds the same members as
// a real decoder (the last of duplicate names wins in both).
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":"\"","b":{"c":["\\",{}]}}`, `{"x":"\u0041\\"}`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.TrimSpace(b)
		var want map[string]jsontext.Value
		if len(b) == 0 || b[0] != '{' || jsonv2.Unmarshal(b, &want, decodeOpts) != nil {
			// not a valid object: members may fail, but must not panic
			Members(b, func(string, []byte) error { return nil })
			return
		}
		got := map[string]string{}
		if err := Members(b, func(k string, v []byte) error { got[k] = string(v); return nil }); err != nil {
			t.Fatalf("Members(%s): %v", b, err)
		}
		if len(got) != len(want) {
			t.Fatalf("Members(%s) = %v, want %v", b, got, want)
		}
		for k, v := range want {
			if got[k] != string(v) {
				t.Fatalf("Members(%s)[%q] = %s, want %s", b, k, got[k], v)
			}
		}
	})
}
