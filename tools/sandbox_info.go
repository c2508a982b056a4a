package tools

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/sbx-mcp/sbx-mcp/config"
	"github.com/sbx-mcp/sbx-mcp/isolation"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type sandboxInfoArgs struct{}

type sandboxInfoResult struct {
	Version string `json:"version" jsonschema_description:"sbx-mcp version."`
	Commit  string `json:"commit,omitempty" jsonschema_description:"VCS commit of the build."`
	isolation.Info
}

func (r sandboxInfoResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sbx-mcp %s", r.Version)
	if r.Commit != "" {
		fmt.Fprintf(&b, " (%s)", r.Commit)
	}
	fmt.Fprintf(&b, "\nisolation level: %s\nworkdir: %s\nkernel: %s  root: %v\n", r.Level, r.Workdir, r.Kernel, r.Root)
	names := make([]string, 0, len(r.Layers))
	for k := range r.Layers {
		names = append(names, k)
	}
	sort.Strings(names)
	var on, off []string
	for _, k := range names {
		if r.Layers[k] {
			on = append(on, k)
		} else {
			off = append(off, k)
		}
	}
	fmt.Fprintf(&b, "layers on: %s\nlayers off: %s\n", list(on), list(off))
	lim := func(n int64, unit string) string {
		if n == 0 {
			return "none"
		}
		return fmt.Sprintf("%d%s", n, unit)
	}
	cpus := "none"
	if r.Limits.CPUs > 0 {
		cpus = fmt.Sprintf("%g", r.Limits.CPUs)
	}
	fmt.Fprintf(&b, "limits: pids %s, memory %s, cpus %s\n", lim(int64(r.Limits.Pids), ""), lim(r.Limits.MemoryBytes, " bytes"), cpus)
	for _, reason := range r.Reasons {
		fmt.Fprintf(&b, "- %s\n", reason)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// kernelRelease reads the running kernel's release.
func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func init() {
	register("sandbox_info", nil, false, func(d *Deps) server.Tool {
		return server.NewTool("sandbox_info",
			"Report the sandbox: isolation level (full, userns, none), which layers are on (namespaces, fresh /proc, capabilities, seccomp, cgroup limits) with the reason for each gap, resource limits, workdir, kernel and sbx-mcp version. Read-only.",
			server.Annotations{Title: "Sandbox info", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, _ sandboxInfoArgs) (sandboxInfoResult, error) {
				v, c := config.VersionInfo()
				r := sandboxInfoResult{Version: v, Commit: c}
				if d.Sandbox != nil {
					r.Info = d.Sandbox.Info()
				} else {
					r.Info = isolation.Info{
						Level:   isolation.LevelNone,
						Layers:  map[string]bool{},
						Reasons: []string{"the sandbox failed to start (see the server log); tools that run code are unavailable"},
						Workdir: d.Config.Workdir,
						Limits:  isolation.Limits{Pids: d.Config.Pids, MemoryBytes: d.Config.MemoryBytes, CPUs: d.Config.CPUs},
					}
					if d.SandboxErr != nil {
						r.Reasons[0] = "the sandbox failed to start: " + d.SandboxErr.Error()
					}
				}
				if r.Kernel == "" {
					r.Kernel = kernelRelease()
				}
				if !r.Root {
					r.Root = os.Geteuid() == 0
				}
				if r.Layers == nil {
					r.Layers = map[string]bool{}
				}
				if r.Reasons == nil {
					r.Reasons = []string{}
				}
				return r, nil
			})
	})
}
