// Command sbx-mcp is an MCP server (stdio) that gives an agent an isolated
// Linux sandbox. See README.md.
package main

import (
	"context"
	"os"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

func main() {
	if isolation.InitMain(os.Args) { // the re-exec'd sandbox init; never returns
		return
	}
	prepareProcess()
	os.Exit(run(context.Background(), os.Stdin, os.Stdout, os.Stderr, os.Args[1:]))
}
