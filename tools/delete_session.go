package tools

import (
	"context"
	"fmt"

	"github.com/sbx-mcp/sbx-mcp/server"
)

type deleteSessionArgs struct {
	ID string `json:"id" jsonschema_description:"Session id to delete."`
}

type deleteSessionResult struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

func init() {
	register("delete_session", []string{SetExec}, true, func(d *Deps) server.Tool {
		return server.NewTool("delete_session",
			"Delete a session: kills its shell, the command running in it and every background process it started. The id can be reused.",
			server.Annotations{Title: "Delete session", DestructiveHint: true},
			func(ctx context.Context, call *server.Call, a deleteSessionArgs) (deleteSessionResult, error) {
				// The session's background processes first (their records
				// stay), then its shell and what the shell started.
				if !d.Sessions.Exists(a.ID) {
					return deleteSessionResult{}, d.Sessions.Delete(ctx, a.ID) // says it does not exist
				}
				if _, err := d.Processes.KillSession(ctx, a.ID); err != nil {
					return deleteSessionResult{}, fmt.Errorf("delete session %q: %w", a.ID, err)
				}
				if err := d.Sessions.Delete(ctx, a.ID); err != nil {
					return deleteSessionResult{}, err
				}
				return deleteSessionResult{ID: a.ID, Deleted: true}, nil
			})
	})
}
