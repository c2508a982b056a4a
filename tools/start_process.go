package tools

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type startProcessArgs struct {
	Command  string   `json:"command" jsonschema_description:"Bash command to run in the background."`
	Session  string   `json:"session,omitempty" jsonschema_description:"Session whose cwd and exported env it starts with (default: \"default\")."`
	Cwd      string   `json:"cwd,omitempty" jsonschema_description:"Working directory (relative to the session cwd)."`
	Env      Env      `json:"env,omitempty" jsonschema_description:"Extra variables, as NAME=value strings."`
	UnsetEnv []string `json:"unset_env,omitempty" jsonschema_description:"Variable names to unset."`
	ID       string   `json:"id,omitempty" jsonschema_description:"Your id for it (1-63 of A-Z a-z 0-9 _ -); generated when absent."`
	TTY      bool     `json:"tty,omitempty" jsonschema_description:"Run it on a terminal (REPLs, prompts, vim, top): TERM=xterm-256color; stdout and stderr are one stream. Drive it with write_process_stdin keys; read it with get_process_screen."`
	Cols     int      `json:"cols,omitempty" jsonschema_description:"Terminal width with tty (default 120, 2-500)."`
	Rows     int      `json:"rows,omitempty" jsonschema_description:"Terminal height with tty (default 40, 2-200)."`
}

type startProcessResult struct {
	ID        string    `json:"id"`
	Pid       int       `json:"pid" jsonschema_description:"pid inside the sandbox"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	Session   string    `json:"session"`
	TTY       string    `json:"tty,omitempty" jsonschema_description:"its terminal (/dev/pts/N inside the sandbox) with tty: true"`
	Cols      int       `json:"cols,omitempty"`
	Rows      int       `json:"rows,omitempty"`
	Note      string    `json:"note,omitempty"`
}

func (r startProcessResult) Text() string {
	s := fmt.Sprintf("started process %q (pid %d, session %s) at %s; status %s", r.ID, r.Pid, r.Session, r.StartedAt.Format(time.RFC3339Nano), r.Status)
	if r.TTY != "" {
		s += fmt.Sprintf("\nterminal %s, %dx%d: %s", r.TTY, r.Cols, r.Rows, r.Note)
	}
	return s
}

func init() {
	register("start_process", []string{SetCore, SetProcess}, true, func(d *Deps) server.Tool {
		return server.NewTool("start_process",
			"Start a bash command in the background (servers, builds, watchers); returns its id at once. "+
				"Logs kept per stream: head and tail. Use get_process_logs, wait_for_process, kill_process.",
			server.Annotations{Title: "Start background process", DestructiveHint: true, OpenWorldHint: true},
			func(ctx context.Context, call *server.Call, a startProcessArgs) (startProcessResult, error) {
				in, err := d.Processes.Start(ctx, process.StartRequest{
					Command: a.Command, Session: a.Session, Cwd: a.Cwd, Env: a.Env.withUnset(a.UnsetEnv), ID: a.ID,
					TTY: a.TTY, Cols: a.Cols, Rows: a.Rows,
				})
				if err != nil {
					return startProcessResult{}, err
				}
				r := startProcessResult{ID: in.ID, Pid: in.Pid, Status: in.Status, StartedAt: in.StartedAt, Session: in.Session}
				if a.TTY {
					r.TTY, r.Cols, r.Rows = in.TTY, cmp.Or(a.Cols, process.DefaultCols), cmp.Or(a.Rows, process.DefaultRows)
					r.Note = "stdout and stderr are one stream (in stdout); send input with write_process_stdin (data, keys), read the screen with get_process_screen"
				}
				return r, nil
			})
	})
}
