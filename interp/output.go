package interp

import (
	"fmt"
	"unicode/utf8"
)

// capText cuts s to at most limit bytes (on a rune boundary) with a marker.
func capText(s string, limit int) (string, bool) {
	if limit <= 0 || len(s) <= limit {
		return s, false
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n[... %d bytes truncated ...]", len(s)-cut), true
}
