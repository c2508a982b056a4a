package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type writeProcessStdinArgs struct {
	ID     string   `json:"id" jsonschema_description:"Process id from start_process."`
	Data   string   `json:"data,omitempty" jsonschema_description:"Text to write (on a pipe include \\n to end a line; on a tty use keys [\"enter\"])."`
	Keys   []string `json:"keys,omitempty" jsonschema_description:"Named keys sent after data: enter tab esc backspace space delete up down left right home end pgup pgdn shift-tab ctrl-a..ctrl-z f1..f12."`
	Close  bool     `json:"close,omitempty" jsonschema_description:"Close stdin afterwards (sends EOF; on a tty sends ctrl-d)."`
	WaitMs int      `json:"wait_ms,omitempty" jsonschema_description:"Without until: return once output has been quiet this long (default 300 on a tty; pipes do not wait unless given). With until: the most to wait (default 10000). Max 30000."`
	Until  string   `json:"until,omitempty" jsonschema_description:"Regex (RE2): return as soon as it matches the output not yet returned by an earlier call (escapes stripped)."`
}

type writeProcessStdinResult struct {
	ID           string          `json:"id"`
	BytesWritten int             `json:"bytes_written"`
	Closed       bool            `json:"closed"`
	Status       string          `json:"status"`
	Output       string          `json:"output,omitempty" jsonschema_description:"output since the previous write_process_stdin call returned (or the start), escape sequences stripped (a tty's stdout and stderr together)"`
	Stderr       string          `json:"stderr,omitempty" jsonschema_description:"stderr since the previous call (pipes only)"`
	Truncated    bool            `json:"truncated,omitempty" jsonschema_description:"the output kept only its tail"`
	Offset       int64           `json:"offset" jsonschema_description:"stdout byte offset where this window began (get_process_logs offset for the raw bytes)"`
	Matched      *bool           `json:"matched,omitempty" jsonschema_description:"whether until matched"`
	MatchedText  string          `json:"matched_text,omitempty"`
	Screen       *process.Screen `json:"screen,omitempty" jsonschema_description:"the rendered screen after the wait (tty only)"`
	Exited       bool            `json:"exited,omitempty"`
}

func (r writeProcessStdinResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wrote %d bytes to %s", r.BytesWritten, r.ID)
	if r.Closed {
		b.WriteString(" and closed its stdin")
	}
	if r.Matched != nil {
		if *r.Matched {
			fmt.Fprintf(&b, "; until matched %q", r.MatchedText)
		} else {
			b.WriteString("; until did not match")
		}
	}
	if r.Exited {
		fmt.Fprintf(&b, "; the process has ended (%s)", r.Status)
	}
	if r.Output != "" {
		fmt.Fprintf(&b, "\noutput:\n%s", r.Output)
	}
	if r.Stderr != "" {
		fmt.Fprintf(&b, "\nstderr:\n%s", r.Stderr)
	}
	if r.Screen != nil {
		fmt.Fprintf(&b, "\n%s", r.Screen.Text())
	}
	return b.String()
}

func init() {
	register("write_process_stdin", []string{SetProcess}, true, func(d *Deps) server.Tool {
		return server.NewTool("write_process_stdin",
			"Send text and keys to a background process, then wait (tty: 300 ms of quiet, or until a regex matches; ≤ 30 s). "+
				"Returns new output, escapes stripped, and a tty's screen.",
			server.Annotations{Title: "Write to background process stdin", DestructiveHint: true},
			func(ctx context.Context, call *server.Call, a writeProcessStdinArgs) (writeProcessStdinResult, error) {
				r, err := d.Processes.Interact(ctx, process.InteractRequest{
					ID: a.ID, Data: []byte(a.Data), Keys: a.Keys, Close: a.Close,
					Wait: time.Duration(a.WaitMs) * time.Millisecond, Until: a.Until,
				})
				if err != nil {
					return writeProcessStdinResult{}, err
				}
				out := writeProcessStdinResult{
					ID: a.ID, BytesWritten: r.BytesWritten, Closed: r.Closed, Status: r.Info.Status,
					Output: r.Output, Stderr: r.Stderr, Truncated: r.Truncated, Offset: r.Offset,
					MatchedText: r.MatchedText, Screen: r.Screen, Exited: r.Exited,
				}
				if a.Until != "" {
					out.Matched = &r.Matched
				}
				return out, nil
			})
	})
}
