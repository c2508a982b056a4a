package tools

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/invopop/jsonschema"
)

// Env is an env argument. Its schema is a list of "NAME=value" strings, a
// form every function-calling dialect accepts (OpenAI strict mode and
// Gemini's function declarations reject map-style additionalProperties and
// type arrays such as ["string","null"]); a separate unset_env list of
// names unsets variables. The object form of earlier versions,
// {"NAME": "value", "OTHER": null} (null unsets), still decodes: the
// validator accepts it (server.AltSchemaer) but tools/list does not show it.
// A nil value in the map unsets the name.
type Env map[string]*string

// JSONSchema is the advertised form.
func (Env) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "array", Items: &jsonschema.Schema{Type: "string"}}
}

// JSONSchemaAlternative is the legacy object form.
func (Env) JSONSchemaAlternative() map[string]any {
	return map[string]any{"type": "object", "additionalProperties": map[string]any{"type": []any{"string", "null"}}}
}

// UnmarshalJSON decodes either form.
func (e *Env) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == 'n':
		*e = nil
		return nil
	case len(b) > 0 && b[0] == '{':
		var m map[string]*string
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("want an object of strings or null: %v", err)
		}
		*e = m
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf(`want a list of "NAME=value" strings`)
	}
	m := make(map[string]*string, len(list))
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf(`entry %q is not NAME=value (unset_env lists names to unset)`, kv)
		}
		m[k] = &v
	}
	*e = m
	return nil
}

// withUnset returns e with every name of unset mapped to nil (unset).
func (e Env) withUnset(unset []string) map[string]*string {
	if len(unset) == 0 {
		return e
	}
	m := make(map[string]*string, len(e)+len(unset))
	for k, v := range e {
		m[k] = v
	}
	for _, k := range unset {
		m[k] = nil
	}
	return m
}

// values returns e as plain values, for an environment built from scratch
// (create_session, create_code_context), where unsetting means leaving out.
func (e Env) values() map[string]string {
	if e == nil {
		return nil
	}
	m := make(map[string]string, len(e))
	for k, v := range e {
		if v != nil {
			m[k] = *v
		}
	}
	return m
}
