package session

import (
	"regexp"
	"strings"
	"testing"
)

// The regexps ValidID and validEnvKey replace (they compiled at every start
// of the binary); the loops must agree with them on every input.
var (
	idRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)
	envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		in      string
		id, env bool
	}{
		{"", false, false},
		{"a", true, true},
		{"s1", true, true},
		{"1s", true, false},
		{"_x", true, true},
		{"-x", true, false},
		{"a-b_C9", true, false},
		{"a b", false, false},
		{"a.b", false, false},
		{"é", false, false},
		{"a\n", false, false},
		{"a\x00", false, false},
		{strings.Repeat("a", 63), true, true},
		{strings.Repeat("a", 64), false, true},
	} {
		if got := ValidID(tc.in); got != tc.id {
			t.Errorf("ValidID(%q) = %v, want %v", tc.in, got, tc.id)
		}
		if got := validEnvKey(tc.in); got != tc.env {
			t.Errorf("validEnvKey(%q) = %v, want %v", tc.in, got, tc.env)
		}
	}
}

func FuzzValidID(f *testing.F) {
	for _, s := range []string{"", "a", "1", "_", "-", "a-b", strings.Repeat("z", 64), "ä"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidID(s), idRE.MatchString(s); got != want {
			t.Errorf("ValidID(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := validEnvKey(s), envKeyRE.MatchString(s); got != want {
			t.Errorf("validEnvKey(%q) = %v, regexp says %v", s, got, want)
		}
	})
}
