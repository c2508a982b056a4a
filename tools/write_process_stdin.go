package tools

import (
	"context"
	"fmt"

	"github.com/sbx-mcp/sbx-mcp/server"
)

type writeProcessStdinArgs struct {
	ID    string `json:"id" jsonschema_description:"Process id from start_process."`
	Data  string `json:"data" jsonschema_description:"Text to write (include \\n to end a line)."`
	Close bool   `json:"close,omitempty" jsonschema_description:"Close stdin afterwards (sends EOF)."`
}

type writeProcessStdinResult struct {
	ID           string `json:"id"`
	BytesWritten int    `json:"bytes_written"`
	Closed       bool   `json:"closed"`
}

func (r writeProcessStdinResult) Text() string {
	s := fmt.Sprintf("wrote %d bytes to the stdin of %s", r.BytesWritten, r.ID)
	if r.Closed {
		s += " and closed it"
	}
	return s
}

func init() {
	register("write_process_stdin", []string{SetProcess}, true, func(d *Deps) server.Tool {
		return server.NewTool("write_process_stdin",
			"Write text to a running background process's stdin (interactive programs); close: true sends EOF. Blocks at most 10s if it does not read.",
			server.Annotations{Title: "Write to background process stdin", DestructiveHint: true},
			func(ctx context.Context, call *server.Call, a writeProcessStdinArgs) (writeProcessStdinResult, error) {
				n, err := d.Processes.WriteStdin(ctx, a.ID, []byte(a.Data), a.Close)
				if err != nil {
					return writeProcessStdinResult{}, err
				}
				return writeProcessStdinResult{ID: a.ID, BytesWritten: n, Closed: a.Close}, nil
			})
	})
}
