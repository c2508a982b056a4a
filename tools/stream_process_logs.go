package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type streamProcessLogsArgs struct {
	ID        string `json:"id" jsonschema_description:"Process id from start_process."`
	TimeoutMs int    `json:"timeout_ms,omitempty" jsonschema_description:"Stop streaming after this many ms (default 30000, max 3600000); the process keeps running."`
}

type streamProcessLogsResult struct {
	process.Info
	TimedOut     bool  `json:"timed_out" jsonschema_description:"the timeout passed before the process ended"`
	StdoutOffset int64 `json:"stdout_offset" jsonschema_description:"where get_process_logs can continue"`
	StderrOffset int64 `json:"stderr_offset"`
	// Without a progressToken nothing was streamed: the result carries the
	// last part of each stream instead.
	Stdout         string `json:"stdout,omitempty"`
	StdoutEncoding string `json:"stdout_encoding,omitempty"`
	Stderr         string `json:"stderr,omitempty"`
	StderrEncoding string `json:"stderr_encoding,omitempty"`
}

func (r streamProcessLogsResult) Text() string {
	s := processLine(r.Info)
	if r.TimedOut {
		s += "\nstreaming timed out; the process is still running"
	}
	if r.Stdout != "" {
		s += "\n--- stdout (" + r.StdoutEncoding + ") ---\n" + r.Stdout
	}
	if r.Stderr != "" {
		s += "\n--- stderr (" + r.StderrEncoding + ") ---\n" + r.Stderr
	}
	return s
}

func init() {
	register("stream_process_logs", []string{SetProcess}, false, func(d *Deps) server.Tool {
		return server.NewTool("stream_process_logs",
			"Replay a background process's output, then stream new output as progress notifications until it exits or timeout_ms (default 30000). "+
				"Without a progressToken the result carries the last 16 KiB per stream.",
			server.Annotations{Title: "Stream background process logs", ReadOnlyHint: true},
			func(ctx context.Context, call *server.Call, a streamProcessLogsArgs) (streamProcessLogsResult, error) {
				if a.TimeoutMs < 0 || a.TimeoutMs > 3600000 {
					return streamProcessLogsResult{}, fmt.Errorf("timeout_ms must be between 1 and 3600000")
				}
				timeout := 30 * time.Second
				if a.TimeoutMs > 0 {
					timeout = time.Duration(a.TimeoutMs) * time.Millisecond
				}
				var total int64
				emit := func(c process.Chunk) {
					if !call.WantsProgress() {
						return
					}
					total += int64(c.Bytes) + c.Skipped
					meta := map[string]any{"stream": c.Stream}
					if c.Encoding != "utf-8" {
						meta["encoding"] = c.Encoding
					}
					if c.Skipped > 0 {
						meta["skipped"] = c.Skipped
					}
					call.Progress(float64(total), c.Text, meta)
				}
				r, err := d.Processes.Stream(ctx, a.ID, timeout, emit)
				if err != nil {
					return streamProcessLogsResult{}, err
				}
				res := streamProcessLogsResult{Info: r.Info, TimedOut: r.TimedOut, StdoutOffset: r.StdoutOffset, StderrOffset: r.StderrOffset}
				if !call.WantsProgress() {
					tail := 1 << 30
					if l, err := d.Processes.Logs(process.LogsRequest{ID: a.ID, Tail: &tail}); err == nil {
						res.Stdout, res.StdoutEncoding = l.Stdout.Text, l.Stdout.Encoding
						res.Stderr, res.StderrEncoding = l.Stderr.Text, l.Stderr.Encoding
					}
				}
				return res, nil
			})
	})
}
