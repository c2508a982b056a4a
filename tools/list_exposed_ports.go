package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/sbx-mcp/sbx-mcp/portfwd"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type listExposedPortsArgs struct{}

type listExposedPortsResult struct {
	Ports []portfwd.Exposure `json:"ports"`
}

func (r listExposedPortsResult) Text() string {
	if len(r.Ports) == 0 {
		return "no exposed ports"
	}
	var b strings.Builder
	for _, e := range r.Ports {
		fmt.Fprintf(&b, "sandbox port %d -> %s  (%d connections, %d open)\n", e.Port, e.URL, e.Connections, e.Active)
	}
	return b.String()
}

func init() {
	register("list_exposed_ports", []string{SetProcess}, false, func(d *Deps) server.Tool {
		return server.NewTool("list_exposed_ports",
			"List the sandbox ports exposed to the host and their urls.",
			server.Annotations{Title: "List exposed ports", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, _ listExposedPortsArgs) (listExposedPortsResult, error) {
				ports, err := portsOf(d)
				if err != nil {
					return listExposedPortsResult{}, err
				}
				return listExposedPortsResult{Ports: ports.List()}, nil
			})
	})
}
