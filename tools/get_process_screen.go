package tools

import (
	"context"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type getProcessScreenArgs struct {
	ID         string `json:"id" jsonschema_description:"Id of a process started with tty: true."`
	Scrollback int    `json:"scrollback,omitempty" jsonschema_description:"Also return the last N lines that scrolled off the top (0-1000)."`
}

type getProcessScreenResult struct {
	ID string `json:"id"`
	process.Screen
}

func (r getProcessScreenResult) Text() string { return r.Screen.Text() }

func init() {
	register("get_process_screen", []string{SetProcess}, false, func(d *Deps) server.Tool {
		return server.NewTool("get_process_screen",
			"A tty process's screen as text lines, cursor, size, title, alternate-screen flag, optional scrollback.",
			server.Annotations{Title: "Get process screen", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a getProcessScreenArgs) (getProcessScreenResult, error) {
				s, err := d.Processes.Screen(a.ID, a.Scrollback)
				return getProcessScreenResult{ID: a.ID, Screen: s}, err
			})
	})
}
