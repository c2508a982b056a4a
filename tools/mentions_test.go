package tools

import (
	"testing"

	"github.com/sbx-mcp/sbx-mcp/config"
)

// With any --toolsets (and --read-only), descriptions and input schemas
// name only tools that are exposed.
func TestDescriptionsMentionOnlyExposed(t *testing.T) {
	configs := []config.Config{{ReadOnly: true}}
	for _, set := range config.Toolsets {
		configs = append(configs, config.Config{Toolsets: []string{set}})
	}
	for _, cfg := range configs {
		list := All(&Deps{Config: cfg})
		exposed := map[string]bool{}
		for _, tool := range list {
			exposed[tool.Name] = true
		}
		for _, tool := range list {
			in, _ := tool.Schemas()
			for what, text := range map[string]string{"description": tool.Description, "input schema": string(in)} {
				for _, w := range toolNameRe().FindAllString(text, -1) {
					if Registered(w) && !exposed[w] {
						t.Errorf("toolsets %v read-only %v: %s's %s names %s, which is not exposed", cfg.Toolsets, cfg.ReadOnly, tool.Name, what, w)
					}
				}
			}
			if tool.Description == "" {
				t.Errorf("%v: %s has no description left", cfg.Toolsets, tool.Name)
			}
		}
	}
	// the full set is unchanged
	for _, tool := range All(&Deps{}) {
		for _, e := range entries {
			if e.name == tool.Name && e.build(&Deps{}).Description != tool.Description {
				t.Errorf("%s: description changed with every tool exposed", tool.Name)
			}
		}
	}
}

func TestOnlyExposed(t *testing.T) {
	exposed := map[string]bool{"exec": true, "start_process": true}
	in := "Run it. Use start_process for servers. Follow them with wait_for_process and kill_process. Limits: 60s timeout_ms."
	want := "Run it. Use start_process for servers. Limits: 60s timeout_ms."
	if got := OnlyExposed(in, exposed); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
