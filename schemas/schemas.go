package schemas

//go:generate go run gen.go

import (
	"bytes"
	"encoding/json"

	"github.com/sbx-mcp/sbx-mcp/config"
	"github.com/sbx-mcp/sbx-mcp/tools"
)

// file is the content of one schema file.
type file struct {
	Name         string          `json:"name"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
}

// Render returns the expected content of every schema file, by file name.
func Render() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, t := range tools.All(&tools.Deps{Config: config.Config{Toolsets: []string{"all"}}}) {
		inSchema, outSchema := t.Schemas()
		b, err := json.Marshal(file{Name: t.Name, InputSchema: inSchema, OutputSchema: outSchema})
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			return nil, err
		}
		buf.WriteByte('\n')
		out[t.Name+".json"] = buf.Bytes()
	}
	return out, nil
}
