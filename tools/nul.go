package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sbx-mcp/sbx-mcp/server"
)

// nulData names, per tool, the top-level arguments that are data written
// to a file or a pipe byte for byte, where a NUL is just another byte.
// Every other string (paths, commands, cwd, env, ids, code) ends up in a
// path, an argv, an environment or bash, none of which can hold a NUL.
var nulData = map[string][]string{
	"write_file":          {"content"},
	"write_process_stdin": {"data"},
}

// refuseNUL wraps a tool's handler so that a NUL in any string argument
// (object keys included) is an isError result before anything runs. The
// common case costs one bytes.Index over the raw arguments: a NUL can only
// be there as the escape \u0000.
func refuseNUL(tool string, h func(context.Context, *server.Call, json.RawMessage) *server.Result) func(context.Context, *server.Call, json.RawMessage) *server.Result {
	data := nulData[tool]
	return func(ctx context.Context, call *server.Call, raw json.RawMessage) *server.Result {
		if hasEscapedNUL(raw) {
			if field := nulField(raw, data); field != "" {
				return server.ErrorResult(fmt.Sprintf("argument %s contains a NUL byte (\\u0000), which no path, command, name or environment can hold: remove it (binary data goes through write_file with encoding base64)", field))
			}
		}
		return h(ctx, call, raw)
	}
}

// hasEscapedNUL reports whether raw holds the JSON escape \u0000 (not an
// escaped backslash followed by "u0000").
func hasEscapedNUL(raw []byte) bool {
	for off := 0; ; {
		i := bytes.Index(raw[off:], []byte(`\u0000`))
		if i < 0 {
			return false
		}
		i += off
		n := 0 // backslashes before this one
		for j := i - 1; j >= 0 && raw[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return true
		}
		off = i + 1
	}
}

// nulField returns the path of the first argument (in key order) whose
// string value or key holds a NUL, skipping the top-level data fields; ""
// when there is none.
func nulField(raw []byte, data []string) string {
	var args map[string]any
	if json.Unmarshal(raw, &args) != nil {
		return "" // the typed decode reports it
	}
	for _, k := range sortedKeys(args) {
		if strings.IndexByte(k, 0) >= 0 {
			return fmt.Sprintf("name %q", k)
		}
		if slices.Contains(data, k) {
			continue
		}
		if p := nulIn(args[k], k); p != "" {
			return p
		}
	}
	return ""
}

func nulIn(v any, path string) string {
	switch v := v.(type) {
	case string:
		if strings.IndexByte(v, 0) >= 0 {
			return path
		}
	case []any:
		for i, e := range v {
			if p := nulIn(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if strings.IndexByte(k, 0) >= 0 {
				return fmt.Sprintf("%s (a key)", path)
			}
			if p := nulIn(v[k], path+"."+k); p != "" {
				return p
			}
		}
	}
	return ""
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
