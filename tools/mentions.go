package tools

import (
	"regexp"
	"strings"
	"sync"
)

// toolNameRe matches words that may be tool names. Compiled on first use,
// not at package init, which every start of this binary pays (the sandbox's
// init too).
var toolNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b[a-z]+(?:_[a-z]+)+\b`) })

// Registered reports whether name is a registered tool (exposed or not).
func Registered(name string) bool {
	for _, e := range entries {
		if e.name == name {
			return true
		}
	}
	return false
}

// OnlyExposed drops from text every sentence that names a registered tool
// not in exposed, so that descriptions and instructions never point the
// model at a tool that --toolsets or --read-only took away. Sentences end
// with ". " (or the text's end); write a mention of another tool in a
// sentence of its own when the rest of the text must survive without it.
func OnlyExposed(text string, exposed map[string]bool) string {
	if !mentionsHidden(text, exposed) {
		return text
	}
	var kept []string
	for _, s := range strings.SplitAfter(text, ". ") {
		if !mentionsHidden(s, exposed) {
			kept = append(kept, s)
		}
	}
	return strings.TrimSpace(strings.Join(kept, ""))
}

func mentionsHidden(s string, exposed map[string]bool) bool {
	for _, w := range toolNameRe().FindAllString(s, -1) {
		if !exposed[w] && Registered(w) {
			return true
		}
	}
	return false
}
