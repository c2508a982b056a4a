package tools

import (
	"encoding/json"

	"github.com/sbx-mcp/sbx-mcp/server"
	"github.com/sbx-mcp/sbx-mcp/session"
)

// Keys tell the server which calls wait in one line (server.Tool.Key):
// a session runs one command at a time, a code context one cell, so their
// calls queue per session or context in arrival order and hold no slot
// while they wait. A key is only an ordering hint: the session and
// context locks still serialise what runs. delete_session and
// delete_code_context have no key: they must reach a session or context
// whose command runs forever.

// sessionKey keys a call by the session named in its member (the default
// session when absent).
func sessionKey(member string) func(json.RawMessage) string {
	return func(args json.RawMessage) string {
		id, ok := server.StringArg(args, member)
		if !ok || id == "" {
			id = session.DefaultID
		}
		return "session\x00" + id
	}
}

// codeKey keys a run_code call by its context: the one named, or the
// language's default context, whose id is the language.
func codeKey(args json.RawMessage) string {
	id, ok := server.StringArg(args, "context")
	if !ok || id == "" {
		if id, ok = server.StringArg(args, "language"); !ok || id == "" {
			id = "python"
		}
	}
	return "code\x00" + id
}
