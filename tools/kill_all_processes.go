package tools

import (
	"context"
	"fmt"

	"github.com/sbx-mcp/sbx-mcp/server"
)

type killAllProcessesArgs struct {
	Session string `json:"session,omitempty" jsonschema_description:"Only processes started from this session (default: all)."`
	Signal  string `json:"signal,omitempty" jsonschema_description:"First signal (default SIGTERM)."`
	GraceMs *int   `json:"grace_ms,omitempty" jsonschema_description:"How long to wait before SIGKILL (default 5000)."`
}

type killAllProcessesResult struct {
	Count int `json:"count" jsonschema_description:"running processes that were killed"`
}

func (r killAllProcessesResult) Text() string { return fmt.Sprintf("killed %d process(es)", r.Count) }

func init() {
	register("kill_all_processes", []string{SetProcess}, true, func(d *Deps) server.Tool {
		return server.NewTool("kill_all_processes",
			"Kill every running background process (of one session if given) with its descendants, like kill_process. Returns the count.",
			server.Annotations{Title: "Kill all background processes", DestructiveHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a killAllProcessesArgs) (killAllProcessesResult, error) {
				sig, grace, err := killParams(a.Signal, a.GraceMs)
				if err != nil {
					return killAllProcessesResult{}, err
				}
				n, err := d.Processes.KillAll(ctx, a.Session, sig, grace)
				return killAllProcessesResult{Count: n}, err
			})
	})
}
