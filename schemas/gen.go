//go:build ignore

// gen writes schemas/<tool>.json for every registered tool and removes
// files of tools that no longer exist. Run: go generate ./schemas
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sbx-mcp/sbx-mcp/schemas"
)

func main() {
	files, err := schemas.Render()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	old, _ := filepath.Glob("*.json")
	for _, f := range old {
		if _, ok := files[f]; !ok {
			os.Remove(f)
		}
	}
	for name, b := range files {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("wrote %d schema files\n", len(files))
}
