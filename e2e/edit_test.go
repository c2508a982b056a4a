package e2e_test

// edit_file through the real binary: exact replacements, diffs, the errors
// a model fixes its call from, and what the write keeps.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sbx-mcp/sbx-mcp/e2e"
)

type editResult struct {
	Path         string `json:"path"`
	Written      bool   `json:"written"`
	Replacements int    `json:"replacements"`
	Diff         string `json:"diff"`
	ChangedLines []struct {
		Start int `json:"start"`
		End   int `json:"end"`
	} `json:"changed_lines"`
	SHA256      string `json:"sha256"`
	LineEndings string `json:"line_endings"`
	Target      string `json:"target"`
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestEditFile(t *testing.T) {
	cs, dir := connectFiles(t)
	edit := func(args map[string]any) editResult {
		t.Helper()
		var r editResult
		e2e.Structured(t, e2e.CallOK(t, cs, "edit_file", args), &r)
		return r
	}
	one := func(old, new string) []map[string]any {
		return []map[string]any{{"old_string": old, "new_string": new}}
	}

	t.Run("one replacement, diff exact", func(t *testing.T) {
		os.WriteFile(dir+"/a.go", []byte("package a\n\nfunc f() int {\n\treturn 1\n}\n\nfunc g() {}\n"), 0o644)
		r := edit(map[string]any{"path": "a.go", "edits": one("\treturn 1\n", "\treturn 2\n")})
		want := "--- " + dir + "/a.go\n+++ " + dir + "/a.go\n@@ -1,7 +1,7 @@\n package a\n \n func f() int {\n-\treturn 1\n+\treturn 2\n }\n \n func g() {}\n"
		if r.Diff != want {
			t.Fatalf("diff:\n%s\nwant:\n%s", r.Diff, want)
		}
		got, _ := os.ReadFile(dir + "/a.go")
		if !strings.Contains(string(got), "return 2") || r.SHA256 != sha(got) || r.Replacements != 1 || !r.Written {
			t.Fatalf("file %q result %+v", got, r)
		}
		if len(r.ChangedLines) != 1 || r.ChangedLines[0].Start != 4 || r.ChangedLines[0].End != 4 {
			t.Fatalf("changed lines %+v", r.ChangedLines)
		}
	})

	t.Run("replace_all of 3", func(t *testing.T) {
		os.WriteFile(dir+"/b.txt", []byte("x y x z x\n"), 0o644)
		wantToolError(t, e2e.Call(t, cs, "edit_file", map[string]any{"path": "b.txt", "edits": one("x", "w")}),
			"matches 3 times (at lines 1, 1, 1), expected 1", "replace_all")
		r := edit(map[string]any{"path": "b.txt", "edits": []map[string]any{{"old_string": "x", "new_string": "w", "replace_all": true}}})
		if got, _ := os.ReadFile(dir + "/b.txt"); string(got) != "w y w z w\n" || r.Replacements != 3 {
			t.Fatalf("got %q, %d replacements", got, r.Replacements)
		}
	})

	t.Run("second edit fails, file untouched", func(t *testing.T) {
		orig := []byte("alpha\nbeta\n")
		os.WriteFile(dir+"/c.txt", orig, 0o644)
		res := e2e.Call(t, cs, "edit_file", map[string]any{"path": "c.txt", "edits": []map[string]any{
			{"old_string": "alpha", "new_string": "ALPHA"}, {"old_string": "gamma", "new_string": "G"}}})
		wantToolError(t, res, "edit 2", "not found", "Nothing was written")
		if got, _ := os.ReadFile(dir + "/c.txt"); !bytes.Equal(got, orig) {
			t.Fatalf("file changed to %q", got)
		}
	})

	t.Run("whitespace mismatch names the closest region", func(t *testing.T) {
		os.WriteFile(dir+"/d.py", []byte("def f():\n    if x:\n        return 1\n    return 2\n"), 0o644)
		res := e2e.Call(t, cs, "edit_file", map[string]any{"path": "d.py", "edits": one("if x:\n    return 1\n", "if y:\n    return 1\n")})
		wantToolError(t, res, "lines 2-3", "indentation on lines 2, 3", "4 spaces", "no indentation", "     2\t    if x:")
	})

	t.Run("if_sha256 mismatch refused", func(t *testing.T) {
		os.WriteFile(dir+"/e.txt", []byte("v1\n"), 0o644)
		var rr struct {
			SHA256 string `json:"sha256"`
		}
		e2e.Structured(t, e2e.CallOK(t, cs, "read_file", map[string]any{"path": "e.txt"}), &rr)
		if rr.SHA256 != sha([]byte("v1\n")) {
			t.Fatalf("read_file sha256 %q", rr.SHA256)
		}
		os.WriteFile(dir+"/e.txt", []byte("v2\n"), 0o644)
		res := e2e.Call(t, cs, "edit_file", map[string]any{"path": "e.txt", "if_sha256": rr.SHA256, "edits": one("v2", "v3")})
		wantToolError(t, res, "changed since it was read", "read the file again")
		if got, _ := os.ReadFile(dir + "/e.txt"); string(got) != "v2\n" {
			t.Fatalf("file %q", got)
		}
		r := edit(map[string]any{"path": "e.txt", "if_sha256": sha([]byte("v2\n")), "edits": one("v2", "v3")})
		if r.SHA256 != sha([]byte("v3\n")) {
			t.Fatalf("sha %s", r.SHA256)
		}
	})

	t.Run("CRLF stays CRLF", func(t *testing.T) {
		os.WriteFile(dir+"/f.txt", []byte("a\r\nb\r\nc\r\n"), 0o644)
		r := edit(map[string]any{"path": "f.txt", "edits": one("b\nc", "B\nC\nD")})
		if got, _ := os.ReadFile(dir + "/f.txt"); string(got) != "a\r\nB\r\nC\r\nD\r\n" || r.LineEndings != "crlf" {
			t.Fatalf("got %q (%s)", got, r.LineEndings)
		}
	})

	t.Run("through a symlink the target is edited", func(t *testing.T) {
		os.MkdirAll(dir+"/real", 0o755)
		os.WriteFile(dir+"/real/g.txt", []byte("hello\n"), 0o640)
		os.Symlink("real/g.txt", dir+"/g-link")
		r := edit(map[string]any{"path": "g-link", "edits": one("hello", "bye")})
		if got, _ := os.ReadFile(dir + "/real/g.txt"); string(got) != "bye\n" || r.Target != dir+"/real/g.txt" {
			t.Fatalf("target %q, result %+v", got, r)
		}
		if fi, err := os.Lstat(dir + "/g-link"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatal("the link was replaced")
		}
		if fi, _ := os.Stat(dir + "/real/g.txt"); fi.Mode().Perm() != 0o640 {
			t.Fatalf("mode %v", fi.Mode())
		}
	})

	t.Run("5 MiB file", func(t *testing.T) {
		var b bytes.Buffer
		for b.Len() < 5<<20 {
			b.WriteString("some line of a large file, with words in it\n")
		}
		b.WriteString("the unique last line\n")
		os.WriteFile(dir+"/big.txt", b.Bytes(), 0o644)
		r := edit(map[string]any{"path": "big.txt", "edits": one("the unique last line", "edited")})
		got, _ := os.ReadFile(dir + "/big.txt")
		if !bytes.HasSuffix(got, []byte("\nedited\n")) || len(got) != b.Len()-len("the unique last line")+len("edited") || r.SHA256 != sha(got) {
			t.Fatalf("big edit: %d bytes, result %+v", len(got), r)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		os.WriteFile(dir+"/h.txt", []byte("h\n"), 0o644)
		wantToolError(t, e2e.Call(t, cs, "edit_file", map[string]any{"path": "h.txt", "edits": one("h", "h")}), "the same")
		wantToolError(t, e2e.Call(t, cs, "edit_file", map[string]any{"path": "h.txt", "edits": one("", "x")}), "empty")
		os.WriteFile(dir+"/i.bin", []byte("a\xffb"), 0o644)
		wantToolError(t, e2e.Call(t, cs, "edit_file", map[string]any{"path": "i.bin", "edits": one("a", "b")}), "not valid UTF-8")
		wantToolError(t, e2e.Call(t, cs, "edit_file", map[string]any{"path": "nope.txt", "edits": one("a", "b")}), "write_file")
	})
}

// read_file by lines: pages with totals, and the sha256 round trip.
func TestReadFileLines(t *testing.T) {
	cs, dir := connectFiles(t)
	var b strings.Builder
	for i := 1; i <= 5000; i++ {
		b.WriteString("line " + strings.Repeat("x", i%7) + "\n")
	}
	os.WriteFile(dir+"/l.txt", []byte(b.String()), 0o644)
	type linesOut struct {
		Content       string `json:"content"`
		TotalLines    *int64 `json:"total_lines"`
		StartLine     int64  `json:"start_line"`
		EndLine       int64  `json:"end_line"`
		NextStartLine int64  `json:"next_start_line"`
		Truncated     bool   `json:"truncated"`
		SHA256        string `json:"sha256"`
	}
	lines := strings.SplitAfter(b.String(), "\n")
	var got strings.Builder
	start, pages := int64(1), 0
	for start > 0 {
		res := e2e.CallOK(t, cs, "read_file", map[string]any{"path": "l.txt", "start_line": start})
		var out linesOut
		e2e.Structured(t, res, &out)
		if out.TotalLines == nil || *out.TotalLines != 5000 || out.StartLine != start || out.SHA256 != sha([]byte(b.String())) {
			t.Fatalf("page at %d: %+v", start, out)
		}
		if want := strings.Join(lines[start-1:out.EndLine], ""); out.Content != want {
			t.Fatalf("page %d-%d content differs", out.StartLine, out.EndLine)
		}
		if out.Truncated && !strings.Contains(e2e.Text(res), fmt.Sprintf("start_line=%d", out.NextStartLine)) {
			t.Fatalf("text block does not say how to go on: %.200q", e2e.Text(res)[len(e2e.Text(res))-200:])
		}
		got.WriteString(out.Content)
		start = out.NextStartLine
		pages++
	}
	if got.String() != b.String() || pages != 3 {
		t.Fatalf("%d pages, %d bytes, want 3 pages of the %d-byte file", pages, got.Len(), b.Len())
	}
	var one linesOut
	e2e.Structured(t, e2e.CallOK(t, cs, "read_file", map[string]any{"path": "l.txt", "start_line": 4999, "max_lines": 10}), &one)
	if one.Content != lines[4998]+lines[4999] || one.Truncated || one.EndLine != 5000 {
		t.Fatalf("tail: %+v", one)
	}
	// Long lines: the default page stops at 32 KiB of whole lines; an
	// explicit max_lines reads past it.
	long := strings.Repeat(strings.Repeat("y", 199)+"\n", 1000)
	os.WriteFile(dir+"/long.txt", []byte(long), 0o644)
	var page linesOut
	e2e.Structured(t, e2e.CallOK(t, cs, "read_file", map[string]any{"path": "long.txt", "start_line": 1}), &page)
	if n := len(page.Content); n > 32<<10 || n < 32<<10-200 || n%200 != 0 || !page.Truncated || page.NextStartLine != page.EndLine+1 {
		t.Fatalf("default page of long lines: %d bytes, end %d, next %d, truncated %v", n, page.EndLine, page.NextStartLine, page.Truncated)
	}
	var all linesOut
	e2e.Structured(t, e2e.CallOK(t, cs, "read_file", map[string]any{"path": "long.txt", "start_line": 1, "max_lines": 1000}), &all)
	if all.Content != long || all.Truncated {
		t.Fatalf("max_lines 1000 of long lines: %d bytes, truncated %v", len(all.Content), all.Truncated)
	}
	wantToolError(t, e2e.Call(t, cs, "read_file", map[string]any{"path": "l.txt", "start_line": 2, "offset": 10}), "not both")
	os.WriteFile(dir+"/bin", []byte("a\x00b\n"), 0o644)
	wantToolError(t, e2e.Call(t, cs, "read_file", map[string]any{"path": "bin", "start_line": 1}), "not UTF-8 text")
}
