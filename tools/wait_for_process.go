package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type waitForProcessArgs struct {
	ID        string `json:"id" jsonschema_description:"Process id from start_process."`
	Exit      bool   `json:"exit,omitempty" jsonschema_description:"Wait for the process to exit."`
	Port      int    `json:"port,omitempty" jsonschema_description:"Wait until this TCP port accepts connections on the sandbox's loopback."`
	Pattern   string `json:"pattern,omitempty" jsonschema_description:"Wait for a line of stdout or stderr (output so far included) matching this Go regexp."`
	TimeoutMs int    `json:"timeout_ms,omitempty" jsonschema_description:"Give up after this many ms (default 30000, max 3600000)."`
}

type waitForProcessResult struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Condition   string `json:"condition" jsonschema:"enum=exit,enum=port,enum=pattern"`
	MatchedLine string `json:"matched_line,omitempty"`
	ExitCode    *int   `json:"exit_code,omitempty"`
	Signal      string `json:"signal,omitempty"`
	ElapsedMs   int64  `json:"elapsed_ms"`
	// For a process from an exec that yielded (yield_ms): the output that
	// followed what was returned before.
	Stdout         string `json:"stdout,omitempty" jsonschema_description:"For an exec that yielded: stdout since the output already returned (encoding in stdout_encoding)."`
	Stderr         string `json:"stderr,omitempty" jsonschema_description:"For an exec that yielded: stderr since the output already returned."`
	StdoutEncoding string `json:"stdout_encoding,omitempty" jsonschema:"enum=utf-8,enum=utf-8-lossy,enum=base64"`
	StderrEncoding string `json:"stderr_encoding,omitempty" jsonschema:"enum=utf-8,enum=utf-8-lossy,enum=base64"`
}

func (r waitForProcessResult) Text() string {
	s := fmt.Sprintf("process %s: %s met after %dms; status %s", r.ID, r.Condition, r.ElapsedMs, r.Status)
	if r.ExitCode != nil {
		s += fmt.Sprintf(", exit code %d", *r.ExitCode)
	} else if r.Signal != "" {
		s += ", " + r.Signal
	}
	if r.MatchedLine != "" {
		s += "\nmatched: " + oneLine(r.MatchedLine, 2000)
	}
	if r.Stdout != "" {
		s += "\n--- stdout (since the output already returned) ---\n" + r.Stdout
	}
	if r.Stderr != "" {
		s += "\n--- stderr (since the output already returned) ---\n" + r.Stderr
	}
	return s
}

func init() {
	register("wait_for_process", []string{SetProcess}, false, func(d *Deps) server.Tool {
		return server.NewTool("wait_for_process",
			"Wait for a background process: exactly one of exit: true, port (TCP listening) or pattern (regexp on output lines). "+
				"timeout_ms default 30000. Errors if it exits first or times out.",
			server.Annotations{Title: "Wait for background process", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a waitForProcessArgs) (waitForProcessResult, error) {
				if a.TimeoutMs < 0 || a.TimeoutMs > 3600000 {
					return waitForProcessResult{}, fmt.Errorf("timeout_ms must be between 1 and 3600000")
				}
				if a.Port < 0 || a.Port > 65535 {
					return waitForProcessResult{}, fmt.Errorf("port must be between 1 and 65535")
				}
				r, err := d.Processes.Wait(ctx, process.WaitRequest{
					ID: a.ID, Exit: a.Exit, Port: a.Port, Pattern: a.Pattern,
					Timeout: time.Duration(a.TimeoutMs) * time.Millisecond,
				})
				if err != nil {
					return waitForProcessResult{}, err
				}
				out := waitForProcessResult{ID: r.ID, Status: r.Status, Condition: r.Condition, MatchedLine: r.MatchedLine,
					ExitCode: r.ExitCode, Signal: r.Signal, ElapsedMs: r.Elapsed.Milliseconds()}
				if l, ok, err := d.unread(a.ID, 0, false); ok && err == nil {
					out.Stdout, out.Stderr = l.Stdout.Text, l.Stderr.Text
					out.StdoutEncoding, out.StderrEncoding = l.Stdout.Encoding, l.Stderr.Encoding
				}
				return out, nil
			}).WithTasks()
	})
}
