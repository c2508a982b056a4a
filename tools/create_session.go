package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/sbx-mcp/sbx-mcp/server"
	"github.com/sbx-mcp/sbx-mcp/session"
)

type createSessionArgs struct {
	ID        string `json:"id,omitempty" jsonschema_description:"Session id: 1-63 of A-Z a-z 0-9 _ - (generated when absent). Must not exist yet."`
	Env       Env    `json:"env,omitempty" jsonschema_description:"Environment variables for the session's shell, as NAME=value strings."`
	Cwd       string `json:"cwd,omitempty" jsonschema_description:"Initial working directory (default: the workdir)."`
	TimeoutMs int    `json:"timeout_ms,omitempty" jsonschema_description:"Default command timeout for this session in ms (default 60000)."`
}

type createSessionResult struct {
	ID  string `json:"id"`
	Cwd string `json:"cwd"`
}

func init() {
	register("create_session", []string{SetCore, SetExec}, true, func(d *Deps) server.Tool {
		return server.NewTool("create_session",
			"Create a named shell session with its own cwd, environment and shell state, independent of other sessions. "+
				"Not needed for the implicit \"default\" session. A duplicate id is an error.",
			server.Annotations{Title: "Create session"},
			func(ctx context.Context, call *server.Call, a createSessionArgs) (createSessionResult, error) {
				if a.TimeoutMs < 0 || time.Duration(a.TimeoutMs)*time.Millisecond > maxTimeout {
					return createSessionResult{}, fmt.Errorf("timeout_ms must be between 1 and %d", maxTimeout.Milliseconds())
				}
				for k := range a.Env {
					if !validEnvKey(k) {
						return createSessionResult{}, fmt.Errorf("env: %q is not a valid variable name", k)
					}
				}
				info, err := d.Sessions.Create(ctx, session.CreateRequest{ID: a.ID, Env: a.Env.values(), Cwd: a.Cwd, Timeout: time.Duration(a.TimeoutMs) * time.Millisecond})
				if err != nil {
					return createSessionResult{}, err
				}
				return createSessionResult{ID: info.ID, Cwd: info.Cwd}, nil
			}).WithKey(sessionKey("id")) // before the session's first commands sent right behind it
	})
}

// validEnvKey reports whether k is a shell variable name.
func validEnvKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
