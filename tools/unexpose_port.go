package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/sbx-mcp/sbx-mcp/portfwd"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type unexposePortArgs struct {
	Port int `json:"port" jsonschema:"minimum=1,maximum=65535" jsonschema_description:"Sandbox port given to expose_port."`
}

type unexposePortResult struct {
	portfwd.Exposure
}

func (r unexposePortResult) Text() string {
	return fmt.Sprintf("sandbox port %d is no longer exposed (%s closed)", r.Port, r.URL)
}

func init() {
	register("unexpose_port", []string{SetProcess}, true, func(d *Deps) server.Tool {
		return server.NewTool("unexpose_port",
			"Stop exposing a port: closes its listener and connections.",
			server.Annotations{Title: "Unexpose a sandbox port", DestructiveHint: true},
			func(ctx context.Context, call *server.Call, a unexposePortArgs) (unexposePortResult, error) {
				ports, err := portsOf(d)
				if err != nil {
					return unexposePortResult{}, err
				}
				e, err := ports.Unexpose(a.Port)
				if errors.Is(err, portfwd.ErrNotExposed) {
					return unexposePortResult{}, fmt.Errorf("port %d is not exposed; list_exposed_ports shows the exposed ones", a.Port)
				}
				return unexposePortResult{e}, err
			})
	})
}
