package schemas

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const refresh = "run `go generate ./schemas` and commit the result"

// TestSchemasFresh fails when a schemas/*.json file differs from what the
// registered tools generate, is missing, or belongs to no tool.
func TestSchemasFresh(t *testing.T) {
	want, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("no tools registered")
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		got, err := os.ReadFile(n)
		if err != nil {
			t.Errorf("schemas/%s missing: %s", n, refresh)
			continue
		}
		if !bytes.Equal(got, want[n]) {
			t.Errorf("schemas/%s is stale: %s", n, refresh)
		}
	}
	files, _ := filepath.Glob("*.json")
	for _, f := range files {
		if _, ok := want[f]; !ok {
			t.Errorf("schemas/%s belongs to no registered tool: %s", f, refresh)
		}
	}
}

// TestSchemasClientSafe checks what MCP clients require of every tool's
// schemas: a root {"type":"object"}, no $ref/$defs, no boolean subschemas.
func TestSchemasClientSafe(t *testing.T) {
	files, _ := Render()
	for name, b := range files {
		var f struct {
			InputSchema  map[string]any `json:"inputSchema"`
			OutputSchema map[string]any `json:"outputSchema"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for kind, s := range map[string]map[string]any{"input": f.InputSchema, "output": f.OutputSchema} {
			if s == nil {
				if kind == "input" {
					t.Errorf("%s: no input schema", name)
				}
				continue
			}
			if s["type"] != "object" {
				t.Errorf("%s %s schema: root type %v", name, kind, s["type"])
			}
			check(t, name+" "+kind, s)
		}
	}
}

func check(t *testing.T, path string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if strings.HasPrefix(k, "$") || k == "definitions" {
				t.Errorf("%s: has %s", path, k)
			}
			switch k {
			case "properties", "patternProperties":
				if props, ok := c.(map[string]any); ok {
					for pn, ps := range props {
						if _, isBool := ps.(bool); isBool {
							t.Errorf("%s/%s/%s: boolean subschema", path, k, pn)
						}
						check(t, path+"/"+k+"/"+pn, ps)
					}
				}
				continue
			case "items", "additionalProperties", "not":
				if b, isBool := c.(bool); isBool && (k != "additionalProperties" || b) {
					t.Errorf("%s/%s: boolean subschema", path, k)
				}
			}
			check(t, path+"/"+k, c)
		}
	case []any:
		for _, c := range x {
			check(t, path+"[]", c)
		}
	}
}
