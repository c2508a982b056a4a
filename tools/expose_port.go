package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/sbx-mcp/sbx-mcp/isolation"
	"github.com/sbx-mcp/sbx-mcp/portfwd"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type exposePortArgs struct {
	Port     int `json:"port" jsonschema:"minimum=1,maximum=65535" jsonschema_description:"TCP port a program listens on inside the sandbox (on 127.0.0.1, ::1 or all addresses)."`
	HostPort int `json:"host_port,omitempty" jsonschema:"minimum=0,maximum=65535" jsonschema_description:"Port on the host's 127.0.0.1 (default: a free one)."`
}

type exposePortResult struct {
	portfwd.Exposure
	Note string `json:"note,omitempty" jsonschema_description:"Set when there is nothing to forward (network mode host)."`
}

func (r exposePortResult) Text() string {
	if r.Note != "" {
		return r.Note
	}
	return fmt.Sprintf("sandbox port %d is reachable at %s (host 127.0.0.1:%d)", r.Port, r.URL, r.HostPort)
}

// portsOf returns the port forwarder, or a model-readable error.
func portsOf(d *Deps) (*portfwd.Manager, error) {
	if d.Ports == nil || d.CurrentSandbox() == nil {
		if d.SandboxErr != nil {
			return nil, fmt.Errorf("the sandbox is not running: %v", d.SandboxErr)
		}
		return nil, errors.New("the sandbox is not running")
	}
	return d.Ports, nil
}

func init() {
	register("expose_port", []string{SetProcess}, true, func(d *Deps) server.Tool {
		return server.NewTool("expose_port",
			"Make a sandbox TCP port reachable from the host at url http://127.0.0.1:N (host_port or a free port). Network mode host: nothing to forward.",
			server.Annotations{Title: "Expose a sandbox port", IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a exposePortArgs) (exposePortResult, error) {
				if a.Port < 1 || a.Port > 65535 || a.HostPort < 0 || a.HostPort > 65535 {
					return exposePortResult{}, errors.New("port must be 1-65535 and host_port 0-65535")
				}
				ports, err := portsOf(d)
				if err != nil {
					return exposePortResult{}, err
				}
				if sb := d.CurrentSandbox(); sb != nil && sb.NetworkMode() == isolation.NetworkHost {
					return exposePortResult{
						Exposure: portfwd.Exposure{Port: a.Port, HostPort: a.Port, URL: fmt.Sprintf("http://127.0.0.1:%d", a.Port)},
						Note:     fmt.Sprintf("nothing to forward: the sandbox shares the host's network (mode host), so port %d is reachable at http://127.0.0.1:%d directly", a.Port, a.Port),
					}, nil
				}
				e, err := ports.Expose(a.Port, a.HostPort)
				return exposePortResult{Exposure: e}, err
			})
	})
}
