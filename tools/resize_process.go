package tools

import (
	"context"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type resizeProcessArgs struct {
	ID   string `json:"id" jsonschema_description:"Id of a running process started with tty: true."`
	Cols int    `json:"cols" jsonschema_description:"New width (2-500)."`
	Rows int    `json:"rows" jsonschema_description:"New height (2-200)."`
}

type resizeProcessResult struct {
	ID string `json:"id"`
	process.Screen
}

func (r resizeProcessResult) Text() string { return "resized " + r.ID + "; " + r.Screen.Text() }

func init() {
	register("resize_process", []string{SetProcess}, true, func(d *Deps) server.Tool {
		return server.NewTool("resize_process",
			"Resize a tty process's terminal; it gets SIGWINCH.",
			server.Annotations{Title: "Resize process terminal", IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a resizeProcessArgs) (resizeProcessResult, error) {
				s, err := d.Processes.Resize(a.ID, a.Cols, a.Rows)
				return resizeProcessResult{ID: a.ID, Screen: s}, err
			})
	})
}
