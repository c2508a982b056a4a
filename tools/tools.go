// Package tools is the glue between the MCP server and the sandbox: one file
// per tool, each with an args struct, a result struct, a handler and one
// register line.
package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/rs/zerolog"

	"github.com/sbx-mcp/sbx-mcp/config"
	"github.com/sbx-mcp/sbx-mcp/egress"
	"github.com/sbx-mcp/sbx-mcp/interp"
	"github.com/sbx-mcp/sbx-mcp/isolation"
	"github.com/sbx-mcp/sbx-mcp/portfwd"
	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
	"github.com/sbx-mcp/sbx-mcp/session"
)

// Deps is what tool handlers need; built once by main.
type Deps struct {
	Config    config.Config
	Sandbox   *isolation.Sandbox
	Log       zerolog.Logger
	Sessions  *session.Manager
	Processes *process.Manager
	Interp    *interp.Manager
	Egress    *egress.Proxy    // the proxy of network mode allow
	Ports     *portfwd.Manager // expose_port

	// SandboxErr is why Sandbox is nil (the server still serves).
	SandboxErr error

	// mu guards Sandbox and SandboxErr once Supervise runs (it replaces a
	// dead sandbox) and the restart count.
	mu       sync.Mutex
	replaced chan struct{} // closed and renewed by each replacement
	restarts int
	lastLoss error

	yields yieldCursors // exec calls that yielded to the background (yield.go)
	cells  cellRegistry // run_code cells that yielded (wait_code.go)
}

// NewDeps returns Deps for cfg; main fills in the sandbox and managers.
func NewDeps(cfg config.Config, log zerolog.Logger) *Deps {
	return &Deps{Config: cfg, Log: log, replaced: make(chan struct{})}
}

// Toolset names a tool belongs to (for --toolsets).
const (
	SetCore    = "core"
	SetExec    = "exec"
	SetProcess = "process"
	SetFiles   = "files"
	SetCode    = "code"
)

// entry is one registered tool constructor.
type entry struct {
	name   string
	sets   []string // toolsets besides "all"
	writes bool     // hidden by --read-only (writes files or executes code)
	build  func(d *Deps) server.Tool
}

var entries []entry

// register adds a tool constructor; call it from an init() in the tool's file.
// It panics on a duplicate name.
func register(name string, sets []string, writes bool, build func(d *Deps) server.Tool) {
	for _, e := range entries {
		if e.name == name {
			panic("tools: duplicate tool " + name)
		}
	}
	entries = append(entries, entry{name: name, sets: sets, writes: writes, build: build})
}

// All builds the tools d.Config selects: those in any of --toolsets ("all"
// or none given: every tool), minus the ones that write or execute when
// --read-only is set. Sorted by name.
func All(d *Deps) []server.Tool {
	want := map[string]bool{}
	for _, s := range d.Config.Toolsets {
		want[s] = true
	}
	all := len(want) == 0 || want["all"]
	var out []server.Tool
	for _, e := range entries {
		if d.Config.ReadOnly && e.writes {
			continue
		}
		ok := all
		for _, s := range e.sets {
			ok = ok || want[s]
		}
		if ok {
			t := e.build(d)
			t.Handle = refuseNUL(t.Name, t.Handle)
			if t.Name != "sandbox_info" {
				t.Handle = needSandbox(d, t.Name, t.Handle)
			}
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	exposed := map[string]bool{}
	for _, t := range out {
		exposed[t.Name] = true
	}
	for i := range out {
		out[i] = out[i].WithDescriptions(func(s string) string { return OnlyExposed(s, exposed) })
	}
	return out
}

// needSandbox wraps a tool's handler so that, when the sandbox failed to
// start, the call is an isError result naming the cause instead of
// reaching code that needs the sandbox. d.Sandbox is set before the server
// lets any call through (server.Options.Ready).
func needSandbox(d *Deps, tool string, h func(context.Context, *server.Call, json.RawMessage) *server.Result) func(context.Context, *server.Call, json.RawMessage) *server.Result {
	return func(ctx context.Context, call *server.Call, raw json.RawMessage) *server.Result {
		if d.current(ctx) == nil {
			d.mu.Lock()
			cause := "unknown cause"
			if d.SandboxErr != nil {
				cause = d.SandboxErr.Error()
			}
			d.mu.Unlock()
			return server.ErrorResult(fmt.Sprintf("%s cannot run: the sandbox failed to start (%s). sandbox_info shows what was tried; fix the cause (privileges, limits, flags) and restart sbx-mcp", tool, cause))
		}
		return h(ctx, call, raw)
	}
}
