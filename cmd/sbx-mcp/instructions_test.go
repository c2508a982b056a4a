package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sbx-mcp/sbx-mcp/config"
	"github.com/sbx-mcp/sbx-mcp/tools"
)

// The instructions name only exposed tools, whatever --toolsets says.
func TestInstructionsMentionOnlyExposed(t *testing.T) {
	word := regexp.MustCompile(`\b[a-z]+(?:_[a-z]+)+\b`)
	for _, sets := range [][]string{{"core"}, {"exec"}, {"process"}, {"files"}, {"code"}, {"all"}} {
		cfg := config.Config{Toolsets: sets, Workdir: "/w", Timeout: 60e9}
		list := tools.All(&tools.Deps{Config: cfg})
		have := map[string]bool{}
		for _, tl := range list {
			have[tl.Name] = true
		}
		text := instructions(list, "full", cfg)
		for _, w := range word.FindAllString(text, -1) {
			if tools.Registered(w) && !have[w] {
				t.Errorf("--toolsets %v: instructions name %s, which is not exposed:\n%s", sets, w, text)
			}
		}
		if have["start_process"] && !strings.Contains(text, "start_process") {
			t.Errorf("--toolsets %v: start_process is exposed but not in the instructions:\n%s", sets, text)
		}
	}
}
