package session

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAliasCheck runs the alias's setup in a plain bash: __sbx_ok accepts
// it as defined (so __sbx_post does not redefine it after every command)
// and rejects every way a command can break it.
func TestAliasCheck(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	for _, tc := range []struct {
		change string
		ok     bool
	}{
		{"", true},
		{"builtin alias ll='ls -l'", true}, // a user's own alias is no change to ours
		{"builtin unalias -a", false},
		{"builtin unalias @", false},
		{"builtin alias @=true", false},
		{"builtin alias @=\"$__sbx_F0\"", false},
		{"builtin alias @=\"$__sbx_A \"", false},
		{"builtin shopt -u expand_aliases", false},
	} {
		script := "__sbx_A=" + quote(aliasText) + "\n" + aliasSetup + "__sbx_a\n" + tc.change + "\n" +
			"__sbx_ok && echo ok || echo broken\n__sbx_a; __sbx_ok && echo ok || echo broken\n"
		out, err := exec.Command(bash, "--norc", "--noprofile", "-c", script).CombinedOutput()
		want := "broken\nok\n"
		if tc.ok {
			want = "ok\nok\n"
		}
		if err != nil || string(out) != want {
			t.Errorf("after %q: got %q (%v), want %q", tc.change, out, err, want)
		}
		if strings.Contains(string(out), "error") {
			t.Errorf("after %q: %s", tc.change, out)
		}
	}
}
