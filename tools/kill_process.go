package tools

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type killProcessArgs struct {
	ID      string `json:"id" jsonschema_description:"Process id from start_process."`
	Signal  string `json:"signal,omitempty" jsonschema_description:"First signal: a name such as SIGTERM or INT or a number (default SIGTERM)."`
	GraceMs *int   `json:"grace_ms,omitempty" jsonschema_description:"How long to wait before SIGKILL (default 5000)."`
}

// killParams validates signal and grace_ms.
func killParams(signal string, graceMs *int) (syscall.Signal, time.Duration, error) {
	sig, err := process.ParseSignal(signal)
	if err != nil {
		return 0, 0, err
	}
	grace := process.DefaultGrace
	if graceMs != nil {
		if *graceMs < 0 || *graceMs > 600000 {
			return 0, 0, fmt.Errorf("grace_ms must be between 0 and 600000")
		}
		grace = time.Duration(*graceMs) * time.Millisecond
	}
	return sig, grace, nil
}

func init() {
	register("kill_process", []string{SetProcess}, true, func(d *Deps) server.Tool {
		return server.NewTool("kill_process",
			"Stop a background process and all its descendants (setsid/nohup too): signal (default SIGTERM), "+
				"SIGKILL after grace_ms (default 5000). Returns the final record once it is gone.",
			server.Annotations{Title: "Kill background process", DestructiveHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a killProcessArgs) (processResult, error) {
				sig, grace, err := killParams(a.Signal, a.GraceMs)
				if err != nil {
					return processResult{}, err
				}
				in, err := d.Processes.Kill(ctx, a.ID, sig, grace)
				return processResult{in}, err
			})
	})
}
