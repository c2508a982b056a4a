package server

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sbx-mcp/sbx-mcp/jsonwire"
)

type schemaInner struct {
	X int `json:"x"`
}

type schemaArgs struct {
	Command string             `json:"command" jsonschema_description:"Run this, then that."`
	Env     map[string]*string `json:"env,omitempty"`
	Any     any                `json:"any,omitempty"`
	Raw     json.RawMessage    `json:"raw,omitempty"`
	Mode    string             `json:"mode,omitempty" jsonschema:"enum=a,enum=b"`
	Inner   *schemaInner       `json:"inner,omitempty"`
	List    []schemaInner      `json:"list,omitempty"`
}

type schemaResult struct {
	schemaInner
	Names []string        `json:"names"`
	Flags map[string]bool `json:"flags"`
	At    time.Time       `json:"at"`
	Opt   *string         `json:"opt,omitempty"`
}

// walk calls fn on every subschema (objects only).
func walk(t *testing.T, v any, path string, fn func(path string, m map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(path, x)
		for k, c := range x {
			walk(t, c, path+"/"+k, fn)
		}
	case []any:
		for _, c := range x {
			walk(t, c, path+"[]", fn)
		}
	}
}

func TestSchemaShape(t *testing.T) {
	for _, tc := range []struct {
		typ    reflect.Type
		output bool
	}{{reflect.TypeFor[schemaArgs](), false}, {reflect.TypeFor[schemaResult](), true}, {reflect.TypeFor[struct{}](), false}} {
		raw, err := SchemaFor(tc.typ, tc.output)
		if err != nil {
			t.Fatalf("%v: %v", tc.typ, err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if m["type"] != "object" || m["additionalProperties"] != false {
			t.Errorf("%v: root = %s", tc.typ, raw)
		}
		if _, ok := m["$schema"]; ok {
			t.Errorf("%v: $schema present", tc.typ)
		}
		if _, ok := m["properties"].(map[string]any); !ok {
			t.Errorf("%v: no properties object: %s", tc.typ, raw)
		}
		for _, bad := range []string{`"$ref"`, `"$defs"`, `"definitions"`, `:true`, `:false,"items"`} {
			if bad == `:true` {
				// boolean subschemas would appear as "name":true under properties
				walk(t, m, "", func(p string, s map[string]any) {
					for _, k := range subschemaMaps {
						if props, ok := s[k].(map[string]any); ok {
							for name, v := range props {
								if _, isBool := v.(bool); isBool {
									t.Errorf("%v: boolean subschema at %s/%s/%s", tc.typ, p, k, name)
								}
							}
						}
					}
					for _, k := range []string{"items", "additionalProperties"} {
						if v, ok := s[k].(bool); ok && (k != "additionalProperties" || v) {
							t.Errorf("%v: boolean subschema at %s/%s", tc.typ, p, k)
						}
					}
				})
				continue
			}
			if strings.Contains(string(raw), bad) {
				t.Errorf("%v: schema contains %s: %s", tc.typ, bad, raw)
			}
		}
	}
}

func TestSchemaDetails(t *testing.T) {
	raw, _ := SchemaFor(reflect.TypeFor[schemaArgs](), false)
	s := string(raw)
	for _, want := range []string{
		`"required":["command"]`,
		`"description":"Run this, then that."`, // commas survive
		`"env":{"additionalProperties":{"type":["string","null"]}`,
		`"enum":["a","b"]`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("input schema lacks %s:\n%s", want, s)
		}
	}
	raw, _ = SchemaFor(reflect.TypeFor[schemaResult](), true)
	s = string(raw)
	for _, want := range []string{
		`"names":{"items":{"type":"string"},"type":["array","null"]}`,
		`"flags":{"additionalProperties":{"type":"boolean"},"type":["object","null"]}`,
		`"x":{"type":"integer"}`, // embedded struct flattened
		`"opt":{"type":"string"}`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output schema lacks %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, `"opt"],`) || strings.Contains(s, `"opt"]`) {
		t.Errorf("omitempty field is required: %s", s)
	}
}

func TestSchemaRejectsNonObject(t *testing.T) {
	if _, err := SchemaFor(reflect.TypeFor[[]int](), false); err == nil {
		t.Error("a slice argument type was accepted")
	}
}

func TestNewToolDecoding(t *testing.T) {
	var got schemaArgs
	tool := NewTool("t", "d", Annotations{}, func(ctx context.Context, call *Call, a schemaArgs) (schemaResult, error) {
		got = a
		return schemaResult{Names: []string{"n"}}, nil
	})
	tests := []struct {
		args    string
		isError bool
		text    string // substring of the text block
	}{
		{`{"command":"ls"}`, false, `"names"`},
		{`{}`, true, `missing required argument "command"`},
		{`{"command":"ls","extra":1}`, true, `unknown argument "extra"`},
		{`{"command":1}`, true, `"command" must be a string, got integer`},
		{`{"command":"ls","env":{"A":null,"B":"x"}}`, false, ""},
		{`{"command":"ls","env":{"A":1}}`, true, `"env.A"`},
		{`{"command":"ls","mode":"c"}`, true, `"mode" must be one of a, b`},
		{`{"command":"ls","inner":{"x":"1"}}`, true, `"inner.x" must be an integer`},
		{`{"command":"ls","list":[{"x":1},{}]}`, true, `missing required argument "list[1].x"`},
		{`{"command":"ls","any":{"whatever":[1,2]}}`, false, ""},
		// several problems: all at once, a missing required one first
		{`{"mode":"c","extra":1}`, true, `missing required argument "command"; "mode" must be one of a, b, got c; unknown argument "extra"`},
		{`{"command":"ls","mode":"c","extra":1}`, true, `"mode" must be one of a, b, got c; unknown argument "extra"`},
		{`{"command":"ls","inner":{"x":1.5}}`, true, `"inner.x" must be an integer, got 1.5`},
		{`{"command":"ls","list":[{"x":1},2]}`, true, `"list[1]" must be an object, got integer`},
		{`{"command":"ls","inner":{"x":1}`, true, `malformed JSON`},
		{`{"command":"ls","command":"pwd"}`, false, ""},
	}
	for _, tt := range tests {
		res := tool.Handle(context.Background(), NewCall(nil), json.RawMessage(tt.args))
		if res.IsError != tt.isError {
			t.Errorf("%s: isError = %v (%+v)", tt.args, res.IsError, res.Content)
			continue
		}
		if len(res.Content) == 0 || res.Content[0].Type != "text" || !strings.Contains(res.Content[0].Text.String(), tt.text) {
			t.Errorf("%s: content = %+v, want text containing %q", tt.args, res.Content, tt.text)
		}
		if !tt.isError && res.Structured == nil {
			t.Errorf("%s: no structured content", tt.args)
		}
	}
	res := tool.Handle(context.Background(), nil, json.RawMessage(`{"command":"ls","env":{"A":null,"B":"x"}}`))
	if res.IsError || got.Env["A"] != nil || got.Env["B"] == nil || *got.Env["B"] != "x" {
		t.Errorf("env decoded as %v", got.Env)
	}
}

func TestTextBytesArgument(t *testing.T) {
	type args struct {
		Content TextBytes `json:"content"`
	}
	var got args
	tool := NewTool("t", "d", Annotations{}, func(ctx context.Context, call *Call, a args) (struct{}, error) {
		got = a
		return struct{}{}, nil
	})
	in, _ := tool.Schemas()
	if !strings.Contains(string(in), `"content":{"type":"string"}`) {
		t.Errorf("schema: %s", in)
	}
	res := tool.Handle(context.Background(), NewCall(nil), json.RawMessage(`{"content":"a\n\"é\" \u00e9 \ud83d\ude00"}`))
	if res.IsError || string(got.Content) != "a\n\"é\" é 😀" {
		t.Errorf("decoded %q (%+v)", got.Content, res.Content)
	}
	res = tool.Handle(context.Background(), NewCall(nil), json.RawMessage(`{"content":5}`))
	if !res.IsError || !strings.Contains(res.Content[0].Text.String(), `"content" must be a string, got integer`) {
		t.Errorf("number for content: %+v", res.Content)
	}
	res = tool.Handle(context.Background(), NewCall(nil), json.RawMessage("{\"content\":\"a\xffb\"}"))
	if res.IsError || string(got.Content) != "a\uFFFDb" {
		t.Errorf("invalid UTF-8: %q (%+v)", got.Content, res.Content)
	}
}

// Big content takes takeBigTexts's path: it must decode exactly as a
// string argument does, and fail where that fails.
func TestBigTextBytesArgument(t *testing.T) {
	type args struct {
		Path    string    `json:"path"`
		Content TextBytes `json:"content"`
		Note    string    `json:"note,omitempty"`
	}
	big := strings.Repeat("line \"q\" é ✓\t\\\n", jsonwire.BigString/10)
	var got args
	tool := NewTool("t", "d", Annotations{}, func(ctx context.Context, call *Call, a args) (struct{}, error) {
		got = a
		return struct{}{}, nil
	})
	quoted := string(jsonwire.AppendQuoted(nil, big))
	for _, tc := range []struct {
		name, raw string
		want      string // content; "" with err set: the call fails
		err       string
	}{
		{name: "plain", raw: `{"path":"p","content":` + quoted + `}`, want: big},
		{name: "first member", raw: `{"content":` + quoted + `,"path":"p","note":` + quoted + `}`, want: big},
		{name: "invalid utf-8", raw: `{"path":"p","content":"` + strings.Repeat("é", jsonwire.BigString) + "\xff\xfe" + `"}`, want: strings.Repeat("é", jsonwire.BigString) + "\ufffd\ufffd"},
		{name: "escapes", raw: `{"path":"p","content":"` + strings.Repeat(`\u00e9\/\b\f\r`, jsonwire.BigString/10) + `"}`, want: strings.Repeat("é/\b\f\r", jsonwire.BigString/10)},
		{name: "lone surrogate", raw: `{"path":"p","content":"` + strings.Repeat("x", jsonwire.BigString) + `\ud800"}`, want: strings.Repeat("x", jsonwire.BigString) + "\ufffd"},
		{name: "duplicate member", raw: `{"path":"p","content":` + quoted + `,"content":"last"}`, want: "last"},
		{name: "raw control character", raw: `{"path":"p","content":"` + strings.Repeat("x", jsonwire.BigString) + "\x01" + `"}`, err: "invalid arguments"},
		{name: "bad escape", raw: `{"path":"p","content":"` + strings.Repeat("x", jsonwire.BigString) + `\q"}`, err: "invalid arguments"},
	} {
		got = args{}
		res := tool.Handle(context.Background(), NewCall(nil), json.RawMessage(tc.raw))
		if tc.err != "" {
			if !res.IsError || !strings.Contains(res.Content[0].Text.String(), tc.err) {
				t.Errorf("%s: want an error containing %q, got %+v", tc.name, tc.err, res.Content)
			}
			continue
		}
		if res.IsError || string(got.Content) != tc.want || got.Path != "p" {
			t.Errorf("%s: path %q, %d bytes of content (want %d): %.80q (%v)", tc.name, got.Path, len(got.Content), len(tc.want), got.Content, res.Content)
		}
		if tc.name == "first member" && got.Note != big {
			t.Errorf("%s: a big string for a string field came out as %d bytes", tc.name, len(got.Note))
		}
	}
}

// The buffers of TextBytes arguments are the handler's until the call's
// response is written: another call decoding meanwhile never gets them;
// afterwards the server gives them back for reuse.
func TestTextBytesHeldUntilResponse(t *testing.T) {
	type args struct {
		Content TextBytes `json:"content"`
	}
	var got []TextBytes
	tool := NewTool("t", "d", Annotations{}, func(ctx context.Context, call *Call, a args) (struct{}, error) {
		got = append(got, a.Content)
		return struct{}{}, nil
	})
	raw := func(c string) json.RawMessage {
		return json.RawMessage(`{"content":` + string(jsonwire.AppendQuoted(nil, strings.Repeat(c, jsonwire.BigString))) + `}`)
	}
	first, second := NewCall(nil), NewCall(nil)
	tool.Handle(context.Background(), first, raw("a"))
	tool.Handle(context.Background(), second, raw("b"))
	if &got[0][0] == &got[1][0] || got[0][0] != 'a' || got[1][0] != 'b' {
		t.Fatal("a call's argument buffer was reused while the call was running")
	}
	first.responded()
	second.responded()
	third := NewCall(nil)
	tool.Handle(context.Background(), third, raw("c"))
	if p := &got[2][0]; p != &got[0][0] && p != &got[1][0] {
		t.Error("argument buffers were not given back after the response")
	}
	third.responded()
}

// Arguments as language models send them: null for every unused optional
// (OpenAI strict function calling), integral floats for integers, and every
// problem reported in one round trip.
func TestArgumentsAsModelsSend(t *testing.T) {
	type inner struct {
		N int `json:"n"`
	}
	type args struct {
		Command string             `json:"command"`
		Cwd     string             `json:"cwd,omitempty"`
		Timeout int                `json:"timeout_ms,omitempty"`
		Count   *int64             `json:"count,omitempty"`
		Flag    bool               `json:"flag,omitempty"`
		Env     map[string]*string `json:"env,omitempty"`
		List    []inner            `json:"list,omitempty"`
		Inner   *inner             `json:"inner,omitempty"`
		Data    TextBytes          `json:"data,omitempty"`
	}
	var got args
	tool := NewTool("t", "d", Annotations{}, func(ctx context.Context, call *Call, a args) (struct{}, error) {
		got = a
		return struct{}{}, nil
	})
	call := func(raw string) *Result {
		got = args{}
		return tool.Handle(context.Background(), NewCall(nil), json.RawMessage(raw))
	}
	res := call(`{"command":"echo ok","cwd":null,"timeout_ms":null,"count":null,"flag":null,"env":null,"list":null,"inner":null,"data":null}`)
	if res.IsError || got.Command != "echo ok" || got.Cwd != "" || got.Count != nil || got.Env != nil || got.Inner != nil {
		t.Fatalf("nulls for optionals: %+v %+v", res.Content, got)
	}
	res = call(`{"command":"x","timeout_ms":30000.0,"count":3e4,"list":[{"n":2.0},{"n":-1.50e1}],"inner":{"n":1E2}}`)
	if res.IsError || got.Timeout != 30000 || *got.Count != 30000 || got.List[0].N != 2 || got.List[1].N != -15 || got.Inner.N != 100 {
		t.Fatalf("integral floats: %+v %+v", res.Content, got)
	}
	for raw, want := range map[string]string{
		// null for a required field is still missing
		`{"command":null}`: `"command" must not be null`,
		// non-integral, too big or absurd exponents are not integers
		`{"command":"x","timeout_ms":1.5}`:                 `"timeout_ms" must be an integer, got 1.5`,
		`{"command":"x","timeout_ms":1e30}`:                `"timeout_ms" must be an integer, got 1e30`,
		`{"command":"x","timeout_ms":1e999999999}`:         `"timeout_ms" must be an integer, got 1e999999999`,
		`{"command":"x","inner":{"n":null}}`:               `"inner.n" must not be null`,
		`{"command":"x","list":[{"n":0.5},{"n":"2"},{}]}`:  `"list[0].n" must be an integer, got 0.5; "list[1].n" must be an integer, got string; missing required argument "list[2].n"`,
		`{"cwd":1,"flag":"yes","bogus":true,"other":null}`: `missing required argument "command"; "cwd" must be a string, got integer; "flag" must be a boolean, got string; unknown argument "bogus" (known: command, count, cwd, data, env, flag, inner, list, timeout_ms); unknown argument "other"`,
	} {
		res := call(raw)
		if !res.IsError || !strings.Contains(res.Content[0].Text.String(), want) {
			t.Errorf("%s: %+v, want %q", raw, res.Content, want)
		}
	}
	// many problems: a bounded message
	var b strings.Builder
	b.WriteString(`{"command":"x","list":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"n":"s"}`)
	}
	b.WriteString(`]}`)
	res = call(b.String())
	if text := res.Content[0].Text.String(); !res.IsError || !strings.HasSuffix(text, "; and 80 more") || strings.Count(text, "must be") != maxProblems {
		t.Errorf("100 problems: %s", text)
	}
}
