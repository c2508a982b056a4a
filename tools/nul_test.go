package tools

import "testing"

func TestNULArguments(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		data      []string
	}{
		{`{"command":"ls"}`, "", nil},
		{`{"cwd":"a\u0000b"}`, "cwd", nil},
		{`{"command":"echo \\u0000"}`, "", nil},         // an escaped backslash, then text
		{`{"command":"echo \\\u0000"}`, "command", nil}, // a backslash, then a NUL
		{`{"env":{"A":"x","B":"\u0000"}}`, "env.B", nil},
		{`{"env":{"A\u0000":"x"}}`, "env (a key)", nil},
		{`{"args":["a","b\u0000"]}`, "args[1]", nil},
		{`{"content":"\u0000","path":"p"}`, "", []string{"content"}},
		{`{"content":"x","path":"p\u0000"}`, "path", []string{"content"}},
		{`{"a\u0000":1}`, `name "a\x00"`, nil},
	} {
		got := ""
		if hasEscapedNUL([]byte(tc.raw)) {
			got = nulField([]byte(tc.raw), tc.data)
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.raw, got, tc.want)
		}
	}
}
