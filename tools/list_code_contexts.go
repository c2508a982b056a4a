package tools

import (
	"context"

	"github.com/sbx-mcp/sbx-mcp/interp"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type listCodeContextsArgs struct{}

type listCodeContextsResult struct {
	Contexts []interp.Info `json:"contexts"`
}

func init() {
	register("list_code_contexts", []string{SetCode}, false, func(d *Deps) server.Tool {
		return server.NewTool("list_code_contexts",
			"List code contexts (default ones appear after first use).",
			server.Annotations{Title: "List code contexts", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a listCodeContextsArgs) (listCodeContextsResult, error) {
				return listCodeContextsResult{Contexts: d.Interp.List()}, nil
			})
	})
}
