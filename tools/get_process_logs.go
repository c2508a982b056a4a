package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type getProcessLogsArgs struct {
	ID       string `json:"id" jsonschema_description:"Process id from start_process."`
	Stream   string `json:"stream,omitempty" jsonschema:"enum=stdout,enum=stderr,enum=both" jsonschema_description:"Which output (default both)."`
	Offset   *int64 `json:"offset,omitempty" jsonschema_description:"Byte offset to read from (pass the returned stdout_offset/stderr_offset to page; with both streams it applies to each). Default 0."`
	Tail     *int   `json:"tail,omitempty" jsonschema_description:"Instead of offset: the last N lines."`
	MaxBytes int    `json:"max_bytes,omitempty" jsonschema_description:"Bytes per stream (default 16384, max 1048576)."`
	Raw      bool   `json:"raw,omitempty" jsonschema_description:"Return output that is not valid UTF-8 as base64 (exact bytes) instead of text with invalid bytes replaced."`
}

type getProcessLogsResult struct {
	ID     string `json:"id"`
	Status string `json:"status"`

	Stdout          string `json:"stdout"`
	StdoutEncoding  string `json:"stdout_encoding" jsonschema:"enum=utf-8,enum=utf-8-lossy,enum=base64"`
	StdoutReplaced  int    `json:"stdout_replaced_bytes,omitempty" jsonschema_description:"utf-8-lossy: invalid bytes shown as U+FFFD"`
	StdoutOffset    int64  `json:"stdout_offset" jsonschema_description:"offset to pass next time"`
	StdoutStart     int64  `json:"stdout_start" jsonschema_description:"offset of the first byte returned"`
	StdoutSkipped   int64  `json:"stdout_skipped" jsonschema_description:"bytes not kept (dropped between head and tail) before the returned ones"`
	StdoutBytes     int64  `json:"stdout_bytes" jsonschema_description:"bytes produced so far"`
	StdoutTruncated bool   `json:"stdout_truncated" jsonschema_description:"more is available after stdout_offset"`

	Stderr          string `json:"stderr"`
	StderrEncoding  string `json:"stderr_encoding" jsonschema:"enum=utf-8,enum=utf-8-lossy,enum=base64"`
	StderrReplaced  int    `json:"stderr_replaced_bytes,omitempty" jsonschema_description:"utf-8-lossy: invalid bytes shown as U+FFFD"`
	StderrOffset    int64  `json:"stderr_offset"`
	StderrStart     int64  `json:"stderr_start"`
	StderrSkipped   int64  `json:"stderr_skipped"`
	StderrBytes     int64  `json:"stderr_bytes"`
	StderrTruncated bool   `json:"stderr_truncated"`

	ExitCode *int   `json:"exit_code,omitempty"`
	Signal   string `json:"signal,omitempty"`
}

func logsResult(l process.Logs) getProcessLogsResult {
	r := getProcessLogsResult{ID: l.ID, Status: l.Status, ExitCode: l.ExitCode, Signal: l.Signal}
	p := l.Stdout
	r.Stdout, r.StdoutEncoding, r.StdoutOffset, r.StdoutStart, r.StdoutSkipped, r.StdoutBytes, r.StdoutTruncated =
		p.Text, p.Encoding, p.Next, p.Start, p.Skipped, p.Total, p.Truncated
	r.StdoutReplaced = p.Replaced
	p = l.Stderr
	r.Stderr, r.StderrEncoding, r.StderrOffset, r.StderrStart, r.StderrSkipped, r.StderrBytes, r.StderrTruncated =
		p.Text, p.Encoding, p.Next, p.Start, p.Skipped, p.Total, p.Truncated
	r.StderrReplaced = p.Replaced
	return r
}

func (r getProcessLogsResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "process %s: %s", r.ID, r.Status)
	if r.ExitCode != nil {
		fmt.Fprintf(&b, " (exit %d)", *r.ExitCode)
	} else if r.Signal != "" {
		fmt.Fprintf(&b, " (%s)", r.Signal)
	}
	b.WriteByte('\n')
	stream := func(name, text, enc string, replaced int, start, next, skipped, total int64, more bool) {
		fmt.Fprintf(&b, "--- %s bytes %d-%d of %d", name, start, next, total)
		switch enc {
		case "base64":
			b.WriteString(" (base64: not valid UTF-8)")
		case "utf-8-lossy":
			fmt.Fprintf(&b, " (%d invalid UTF-8 bytes shown as U+FFFD; raw: true gives the exact bytes)", replaced)
		}
		if skipped > 0 {
			fmt.Fprintf(&b, " (%d earlier bytes were not kept)", skipped)
		}
		if more {
			fmt.Fprintf(&b, " (more: pass offset %d)", next)
		}
		b.WriteString(" ---\n")
		b.WriteString(text)
		if text != "" && !strings.HasSuffix(text, "\n") {
			b.WriteByte('\n')
		}
	}
	stream("stdout", r.Stdout, r.StdoutEncoding, r.StdoutReplaced, r.StdoutStart, r.StdoutOffset, r.StdoutSkipped, r.StdoutBytes, r.StdoutTruncated)
	stream("stderr", r.Stderr, r.StderrEncoding, r.StderrReplaced, r.StderrStart, r.StderrOffset, r.StderrSkipped, r.StderrBytes, r.StderrTruncated)
	return b.String()
}

func init() {
	register("get_process_logs", []string{SetProcess}, false, func(d *Deps) server.Tool {
		return server.NewTool("get_process_logs",
			"Read a background process's output, also after it exited. Max 1 MiB per stream per call; page with the returned offsets, or tail N lines. "+
				"Very long logs keep head and tail only (the gap is reported).",
			server.Annotations{Title: "Get background process logs", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a getProcessLogsArgs) (getProcessLogsResult, error) {
				if a.Offset == nil && a.Tail == nil && (a.Stream == "" || a.Stream == "both") {
					// an exec that yielded: go on after the output already returned
					if l, ok, err := d.unread(a.ID, a.MaxBytes, a.Raw); ok {
						if err != nil {
							return getProcessLogsResult{}, err
						}
						return logsResult(l), nil
					}
				}
				l, err := d.Processes.Logs(process.LogsRequest{ID: a.ID, Stream: a.Stream, Offset: a.Offset, Tail: a.Tail, MaxBytes: a.MaxBytes, Raw: a.Raw})
				if err != nil {
					return getProcessLogsResult{}, err
				}
				return logsResult(l), nil
			})
	})
}
