package tools

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type listProcessesArgs struct {
	Session string `json:"session,omitempty" jsonschema_description:"Only processes started from this session."`
	Status  string `json:"status,omitempty" jsonschema:"enum=running,enum=completed,enum=failed,enum=killed,enum=error" jsonschema_description:"Only processes with this status."`
}

type listProcessesResult struct {
	Processes []process.Info `json:"processes"`
}

func (r listProcessesResult) Text() string {
	if len(r.Processes) == 0 {
		return "no processes"
	}
	var b strings.Builder
	for _, p := range r.Processes {
		b.WriteString(processLine(p))
		b.WriteByte('\n')
	}
	return b.String()
}

// processLine is one process in a readable line.
func processLine(p process.Info) string {
	s := fmt.Sprintf("%s  pid %d  %s", p.ID, p.Pid, p.Status)
	switch {
	case p.ExitCode != nil:
		s += fmt.Sprintf(" (exit %d)", *p.ExitCode)
	case p.Signal != "":
		s += " (" + p.Signal + ")"
	}
	s += fmt.Sprintf("  %dms  session %s  out %dB err %dB  $ %s", p.DurationMs, p.Session, p.StdoutBytes, p.StderrBytes, oneLine(p.Command, 120))
	if p.Error != "" {
		s += "  error: " + p.Error
	}
	for i, lp := range p.ListeningPorts {
		if i == 0 {
			s += "  listening:"
		}
		s += fmt.Sprintf(" %s", net.JoinHostPort(lp.Addr, strconv.Itoa(lp.Port)))
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func init() {
	register("list_processes", []string{SetProcess}, false, func(d *Deps) server.Tool {
		return server.NewTool("list_processes",
			"List background processes (running and the last 1000 finished): id, pid, status, exit_code, signal, times, bytes of output, listening ports.",
			server.Annotations{Title: "List background processes", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a listProcessesArgs) (listProcessesResult, error) {
				ps, err := d.Processes.List(a.Session, a.Status)
				if err == nil {
					ps = d.Processes.WithPorts(ctx, ps)
				}
				return listProcessesResult{Processes: ps}, err
			})
	})
}
