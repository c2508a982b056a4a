package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type startProcessArgs struct {
	Command string             `json:"command" jsonschema_description:"Bash command to run in the background."`
	Session string             `json:"session,omitempty" jsonschema_description:"Session whose cwd and exported env it starts with (default: \"default\")."`
	Cwd     string             `json:"cwd,omitempty" jsonschema_description:"Working directory (relative to the session cwd)."`
	Env     map[string]*string `json:"env,omitempty" jsonschema_description:"Extra variables; null unsets one."`
	ID      string             `json:"id,omitempty" jsonschema_description:"Your id for it (1-63 of A-Z a-z 0-9 _ -); generated when absent."`
}

type startProcessResult struct {
	ID        string    `json:"id"`
	Pid       int       `json:"pid" jsonschema_description:"pid inside the sandbox"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	Session   string    `json:"session"`
}

func (r startProcessResult) Text() string {
	return fmt.Sprintf("started process %q (pid %d, session %s) at %s; status %s", r.ID, r.Pid, r.Session, r.StartedAt.Format(time.RFC3339Nano), r.Status)
}

func init() {
	register("start_process", []string{SetCore, SetProcess}, true, func(d *Deps) server.Tool {
		return server.NewTool("start_process",
			"Start a bash command in the background (servers, builds, watchers); returns its id at once. "+
				"Logs kept per stream: head and tail. Use get_process_logs, wait_for_process, kill_process.",
			server.Annotations{Title: "Start background process", DestructiveHint: true, OpenWorldHint: true},
			func(ctx context.Context, call *server.Call, a startProcessArgs) (startProcessResult, error) {
				in, err := d.Processes.Start(ctx, process.StartRequest{
					Command: a.Command, Session: a.Session, Cwd: a.Cwd, Env: a.Env, ID: a.ID,
				})
				if err != nil {
					return startProcessResult{}, err
				}
				return startProcessResult{ID: in.ID, Pid: in.Pid, Status: in.Status, StartedAt: in.StartedAt, Session: in.Session}, nil
			})
	})
}
