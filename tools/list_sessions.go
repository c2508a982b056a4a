package tools

import (
	"context"

	"github.com/sbx-mcp/sbx-mcp/server"
	"github.com/sbx-mcp/sbx-mcp/session"
)

type listSessionsArgs struct{}

type listSessionsResult struct {
	Sessions []session.Info `json:"sessions"`
}

func init() {
	register("list_sessions", []string{SetExec}, false, func(d *Deps) server.Tool {
		return server.NewTool("list_sessions",
			"List shell sessions: id, cwd, created_at, busy (a command is running), processes (background processes still running).",
			server.Annotations{Title: "List sessions", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a listSessionsArgs) (listSessionsResult, error) {
				ss := d.Sessions.List()
				for i := range ss {
					ss[i].Processes = d.Processes.CountSession(ss[i].ID)
				}
				return listSessionsResult{Sessions: ss}, nil
			})
	})
}
