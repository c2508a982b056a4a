package fileops

import (
	"strings"
	"testing"
)

// The expectations were checked against git itself (git check-ignore
// --no-index with the ignore text in <domain>/.gitignore and the path
// created as a file or directory).
func TestIgnored(t *testing.T) {
	for _, tc := range []struct {
		ignore, domain, path string
		dir, want            bool
	}{
		{"*.log", "", "debug.log", false, true},
		{"*.log", "", "a/b/debug.log", false, true},
		{"*.log", "", "debug.logx", false, false},
		{"build/", "", "build", true, true},
		{"build/", "", "build", false, false},
		{"build/", "", "src/build", true, true},
		{"build/", "", "build/x.go", false, true},
		{"/build", "", "src/build", true, false},
		{"/build", "", "build", false, true},
		{"/build", "", "build/x.go", false, true},
		{"doc/*.txt", "", "doc/a.txt", false, true},
		{"doc/*.txt", "", "doc/x/a.txt", false, false},
		{"doc/*.txt", "", "x/doc/a.txt", false, false},
		{"**/foo", "", "a/b/foo", false, true},
		{"**/foo", "", "foo", false, true},
		{"**/foo/bar", "", "x/foo/bar", false, true},
		{"a/**/b", "", "a/b", true, true},
		{"a/**/b", "", "a/x/y/b", true, true},
		{"a/**/b", "", "a/x/y/c", true, false},
		{"a/**/b/c", "", "a/b/x/b/c", false, true},
		{"abc/**", "", "abc", true, false},
		{"abc/**", "", "abc/x", false, true},
		{"abc/**", "", "abc/x/y", false, true},
		{"*.log\n!keep.log", "", "keep.log", false, false},
		{"*.log\n!keep.log", "", "other.log", false, true},
		{"[!a]*.txt", "", "b.txt", false, true},
		{"[!a]*.txt", "", "a.txt", false, false},
		{"[a-c]x", "", "bx", false, true},
		{"[a-c]x", "", "dx", false, false},
		{"a?c", "", "abc", false, true},
		{"a?c", "", "ac", false, false},
		{"foo  ", "", "foo", false, true},
		{"a\\ ", "", "a ", false, true},
		{"\\#x", "", "#x", false, true},
		{"#x", "", "#x", false, false},
		{"\\!x", "", "!x", false, true},
		{"*", "", "any/thing", false, true},
		{"/x", "sub", "sub/x", false, true},
		{"/x", "sub", "x", false, false},
		{"/x", "sub", "sub/y/x", false, false},
		{"x", "sub", "sub/y/x", false, true},
		{"x", "sub", "other/x", false, false},
		{"d/\n!d/", "", "d", true, false},
		{"a**b", "", "axyb", false, true},
		{"/sub/skip/", "", "sub/skip/x.txt", false, true},
		{"/sub/skip/", "", "sub/keep.txt", false, false},
		{"*.go\r", "", "x.go", false, true},
		{"   ", "", "   ", false, false},
	} {
		var domain []string
		if tc.domain != "" {
			domain = strings.Split(tc.domain, "/")
		}
		var ps []ignorePattern
		for _, line := range strings.Split(tc.ignore, "\n") {
			if p, ok := parseIgnore(line, domain); ok {
				ps = append(ps, p)
			}
		}
		if got := ignored(ps, strings.Split(tc.path, "/"), tc.dir); got != tc.want {
			t.Errorf("%q in %q/.gitignore, path %q (dir %v): ignored = %v, git says %v", tc.ignore, tc.domain, tc.path, tc.dir, got, tc.want)
		}
	}
}

func TestGitClass(t *testing.T) {
	for in, want := range map[string]string{
		"abc":      "abc",
		"[!a]":     "[^a]",
		`\[!a]`:    `\[!a]`,
		"[[!]x":    "[[!]x",
		"[!a][!b]": "[^a][^b]",
	} {
		if got := gitClass(in); got != want {
			t.Errorf("gitClass(%q) = %q, want %q", in, got, want)
		}
	}
}
