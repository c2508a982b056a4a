package tools

import (
	"context"

	"github.com/sbx-mcp/sbx-mcp/server"
)

type deleteCodeContextArgs struct {
	ID string `json:"id" jsonschema_description:"Context id from create_code_context or list_code_contexts."`
}

type deleteCodeContextResult struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

func init() {
	register("delete_code_context", []string{SetCode}, true, func(d *Deps) server.Tool {
		return server.NewTool("delete_code_context",
			"End a code context: its interpreter and everything it started; its state is lost.",
			server.Annotations{Title: "Delete code context", DestructiveHint: true},
			func(ctx context.Context, call *server.Call, a deleteCodeContextArgs) (deleteCodeContextResult, error) {
				if err := d.Interp.Delete(a.ID); err != nil {
					return deleteCodeContextResult{}, err
				}
				return deleteCodeContextResult{ID: a.ID, Deleted: true}, nil
			})
	})
}
