package schemas

import (
	"encoding/json"
	"fmt"
	"testing"
)

// strictKeywords are the schema keywords of the strictest common
// function-calling dialect: OpenAI strict function calling and Gemini's
// function declarations (an OpenAPI 3.0 subset) both accept these and
// reject much else (see doc.go).
var strictKeywords = map[string]bool{
	"type": true, "description": true, "properties": true, "required": true,
	"items": true, "enum": true, "additionalProperties": true,
	"minimum": true, "maximum": true,
}

// Every input schema is in the strict dialect: one type name per schema
// (no ["string","null"]), additionalProperties only as false, no
// composition, no $ref.
func TestInputSchemasStrictDialect(t *testing.T) {
	files, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		var f struct {
			InputSchema map[string]any `json:"inputSchema"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		for _, p := range strictProblems(f.InputSchema, "") {
			t.Errorf("%s: %s", name, p)
		}
	}
}

func strictProblems(s map[string]any, path string) []string {
	var out []string
	for k, v := range s {
		if !strictKeywords[k] {
			out = append(out, fmt.Sprintf("%s: keyword %q", path, k))
			continue
		}
		switch k {
		case "type":
			if _, ok := v.(string); !ok {
				out = append(out, fmt.Sprintf("%s: type %v is not one type name", path, v))
			}
		case "additionalProperties":
			if v != false {
				out = append(out, fmt.Sprintf("%s: additionalProperties %v (only false)", path, v))
			}
		case "items":
			m, _ := v.(map[string]any)
			out = append(out, strictProblems(m, path+"/items")...)
		case "properties":
			for name, p := range v.(map[string]any) {
				m, _ := p.(map[string]any)
				out = append(out, strictProblems(m, path+"/"+name)...)
			}
		}
	}
	if s["type"] == "object" && s["additionalProperties"] != false {
		out = append(out, fmt.Sprintf("%s: an object without additionalProperties false", path))
	}
	return out
}
