package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sbx-mcp/sbx-mcp/interp"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type runCodeArgs struct {
	Code      string `json:"code" jsonschema_description:"Cell source. The value of a final expression is the main result."`
	Language  string `json:"language,omitempty" jsonschema:"enum=python,enum=javascript" jsonschema_description:"python (default) or javascript; may be omitted when context is given."`
	Context   string `json:"context,omitempty" jsonschema_description:"Code context id (default: the language's default context). Make others with create_code_context."`
	TimeoutMs int    `json:"timeout_ms,omitempty" jsonschema_description:"Interrupt the cell after this many ms (default 60000); variables survive."`
	YieldMs   int    `json:"yield_ms,omitempty" jsonschema_description:"Return after this many ms if the cell still runs, with the output so far, running: true and a cell id for wait_code; the context stays busy (later cells wait)."`
}

type runCodeResult struct {
	interp.Result
	Running bool   `json:"running,omitempty" jsonschema_description:"The cell still runs (yield_ms): wait_code with id returns the rest."`
	ID      string `json:"id,omitempty" jsonschema_description:"Cell id for wait_code (yield_ms)."`
}

func (r runCodeResult) Images() []server.Content {
	out := make([]server.Content, 0, len(r.Result.Images))
	for _, im := range r.Result.Images {
		out = append(out, server.Content{Type: "image", Data: im.Data, MimeType: im.MimeType})
	}
	return out
}

func (r runCodeResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%d] %s context %q, %dms", r.ExecutionCount, r.Language, r.Context, r.DurationMs)
	if r.TimedOut {
		b.WriteString("  TIMED OUT (interrupted)")
	}
	if r.StateLost {
		b.WriteString("  STATE LOST (interpreter restarted)")
	}
	if r.Running {
		fmt.Fprintf(&b, "  RUNNING as cell %s: wait_code {\"id\":%q} returns the rest; later cells on this context wait", r.ID, r.ID)
	}
	b.WriteByte('\n')
	section := func(name, s string) {
		if s == "" {
			return
		}
		fmt.Fprintf(&b, "--- %s ---\n%s", name, s)
		if !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	enc := func(s, e string) string {
		if e == "base64" {
			return "(not valid UTF-8, base64 in structuredContent)"
		}
		return s
	}
	section("stdout", enc(r.Stdout, r.StdoutEncoding))
	section("stderr", enc(r.Stderr, r.StderrEncoding))
	for i, o := range r.Results {
		name := fmt.Sprintf("display %d", i)
		if o.IsMainResult {
			name = "result"
		}
		var kinds []string
		for _, k := range []struct{ n, v string }{{"html", o.HTML}, {"markdown", o.Markdown}, {"svg", o.SVG}, {"png", o.PNG}, {"jpeg", o.JPEG}, {"latex", o.LaTeX}} {
			if k.v != "" {
				kinds = append(kinds, k.n)
			}
		}
		if len(o.JSON) > 0 {
			kinds = append(kinds, "json")
		}
		if len(kinds) > 0 {
			name += " (also " + strings.Join(kinds, ", ") + ")"
		}
		text := o.Text
		if text == "" && o.Markdown != "" {
			text = o.Markdown
		}
		if text == "" {
			text = "(see structuredContent / image block)"
		}
		section(name, text)
	}
	if r.Error != nil {
		tb := r.Error.Traceback
		if tb == "" {
			tb = r.Error.Name + ": " + r.Error.Value
		}
		section("error "+r.Error.Name, tb)
	}
	return b.String()
}

func init() {
	register("run_code", []string{SetCore, SetCode}, true, func(d *Deps) server.Tool {
		return server.NewTool("run_code",
			"Run a cell in a persistent python (default) or javascript context. "+
				"Limits: timeout 60s by default (interrupts, keeps state), one cell at a time per context, output capped. "+
				"The final expression is the main result; figures and PNG/JPEG come back as image blocks (png/jpeg: \"image:N\"), DataFrames as html. "+
				"Exceptions are data.",
			server.Annotations{Title: "Run code", DestructiveHint: true, OpenWorldHint: true},
			func(ctx context.Context, call *server.Call, a runCodeArgs) (runCodeResult, error) {
				if strings.TrimSpace(a.Code) == "" {
					return runCodeResult{}, fmt.Errorf("code is empty")
				}
				if a.TimeoutMs < 0 || time.Duration(a.TimeoutMs)*time.Millisecond > maxTimeout {
					return runCodeResult{}, fmt.Errorf("timeout_ms must be between 1 and %d", maxTimeout.Milliseconds())
				}
				if a.YieldMs < 0 || time.Duration(a.YieldMs)*time.Millisecond > maxTimeout {
					return runCodeResult{}, fmt.Errorf("yield_ms must be between 1 and %d", maxTimeout.Milliseconds())
				}
				req := interp.RunRequest{Code: a.Code, Language: a.Language, Context: a.Context, Timeout: time.Duration(a.TimeoutMs) * time.Millisecond}
				if call.WantsProgress() || call.WantsOutput() {
					req.Progress = call.Progress
				}
				if a.YieldMs > 0 {
					return runYield(ctx, call, d, req, time.Duration(a.YieldMs)*time.Millisecond)
				}
				r, err := d.Interp.Run(ctx, req)
				if err != nil {
					return runCodeResult{}, err
				}
				return runCodeResult{Result: *r}, nil
			}).WithTasks().WithKey(codeKey)
	})
}
