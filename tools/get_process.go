package tools

import (
	"context"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type processIDArgs struct {
	ID string `json:"id" jsonschema_description:"Process id from start_process."`
}

type processResult struct {
	process.Info
}

func (r processResult) Text() string { return processLine(r.Info) }

func init() {
	register("get_process", []string{SetProcess}, false, func(d *Deps) server.Tool {
		return server.NewTool("get_process",
			"Status of one background process: status (running, completed, failed, killed, error), exit_code, signal, times, listening ports.",
			server.Annotations{Title: "Get background process", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a processIDArgs) (processResult, error) {
				in, err := d.Processes.Get(a.ID)
				if err == nil {
					in = d.Processes.WithPorts(ctx, []process.Info{in})[0]
				}
				return processResult{in}, err
			})
	})
}
