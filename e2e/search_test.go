package e2e_test

// search_files and find_files through the real binary.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sbx-mcp/sbx-mcp/e2e"
)

type searchOut struct {
	Matches []struct {
		Path   string   `json:"path"`
		Line   int      `json:"line"`
		Column int      `json:"column"`
		Text   string   `json:"text"`
		Before []string `json:"before"`
		After  []string `json:"after"`
	} `json:"matches"`
	Files  []string `json:"files"`
	Counts []struct {
		Path  string `json:"path"`
		Count int    `json:"count"`
	} `json:"counts"`
	TotalMatches  int  `json:"total_matches"`
	TotalFiles    int  `json:"total_files"`
	Truncated     bool `json:"truncated"`
	FilesSearched int  `json:"files_searched"`
	SkippedBinary int  `json:"skipped_binary"`
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSearchFiles(t *testing.T) {
	cs, dir := connectFiles(t)
	search := func(args map[string]any) (searchOut, string) {
		t.Helper()
		res := e2e.CallOK(t, cs, "search_files", args)
		var out searchOut
		e2e.Structured(t, res, &out)
		return out, e2e.Text(res)
	}
	writeTree(t, dir, map[string]string{
		"src/a.go":            "package a\n// a.b here\nvar axb = 1\n",
		"src/b.txt":           "nothing\n",
		".gitignore":          "build/\n*.log\n",
		"build/gen.go":        "// a.b generated\n",
		"debug.log":           "a.b in a log\n",
		"bin/tool":            "a.b\x00\x01binary",
		"ctx.txt":             "l1\nl2\nl3\nMATCH\nl5\nl6\nl7\n",
		"repo/.git/HEAD":      "ref: refs/heads/main\n",
		"repo/.gitignore":     "/sub/skip/\n",
		"repo/sub/skip/x.txt": "needle\n",
		"repo/sub/keep.txt":   "needle\n",
	})

	t.Run("literal vs regex", func(t *testing.T) {
		lit, _ := search(map[string]any{"pattern": "a.b", "literal": true, "path": "src"})
		re, text := search(map[string]any{"pattern": "a.b", "path": "src"})
		if lit.TotalMatches != 1 || re.TotalMatches != 2 {
			t.Fatalf("literal %d, regex %d matches:\n%s", lit.TotalMatches, re.TotalMatches, text)
		}
		if m := re.Matches[1]; m.Path != dir+"/src/a.go" || m.Line != 3 || m.Column != 5 || m.Text != "var axb = 1" {
			t.Fatalf("match %+v", m)
		}
		if !strings.Contains(text, dir+"/src/a.go:2:// a.b here\n") {
			t.Fatalf("text block:\n%s", text)
		}
		ci, _ := search(map[string]any{"pattern": "A.B", "literal": true, "case_insensitive": true, "path": "src"})
		if ci.TotalMatches != 1 {
			t.Fatalf("case-insensitive literal: %+v", ci)
		}
	})

	t.Run("gitignore and binary", func(t *testing.T) {
		def, text := search(map[string]any{"pattern": "a.b", "literal": true, "mode": "files"})
		if !slices.Equal(def.Files, []string{dir + "/src/a.go"}) || def.SkippedBinary != 1 {
			t.Fatalf("default search found %v (binary skipped %d):\n%s", def.Files, def.SkippedBinary, text)
		}
		all, _ := search(map[string]any{"pattern": "a.b", "literal": true, "mode": "files", "include_ignored": true})
		for _, want := range []string{dir + "/build/gen.go", dir + "/debug.log"} {
			if !slices.Contains(all.Files, want) {
				t.Errorf("include_ignored: %s missing from %v", want, all.Files)
			}
		}
		bin, _ := search(map[string]any{"pattern": "a.b", "literal": true, "mode": "files", "include_binary": true})
		if !slices.Contains(bin.Files, dir+"/bin/tool") {
			t.Errorf("include_binary: %v", bin.Files)
		}
		// A repository's root .gitignore applies to a search in a subdirectory.
		sub, _ := search(map[string]any{"pattern": "needle", "path": "repo/sub", "mode": "files"})
		if !slices.Equal(sub.Files, []string{dir + "/repo/sub/keep.txt"}) {
			t.Errorf("search below a repository root: %v", sub.Files)
		}
	})

	t.Run("max_results reports the total", func(t *testing.T) {
		var b strings.Builder
		for i := range 500 {
			fmt.Fprintf(&b, "hit %d\n", i)
		}
		writeTree(t, dir, map[string]string{"many/a.txt": b.String(), "many/b.txt": b.String()})
		out, text := search(map[string]any{"pattern": "hit", "path": "many", "max_results": 7})
		if len(out.Matches) != 7 || out.TotalMatches != 1000 || out.TotalFiles != 2 || !out.Truncated {
			t.Fatalf("%d matches of %d (%d files), truncated %v", len(out.Matches), out.TotalMatches, out.TotalFiles, out.Truncated)
		}
		if out.Matches[6].Path != dir+"/many/a.txt" || out.Matches[6].Line != 7 || !strings.Contains(text, "showing the first 7") {
			t.Fatalf("last match %+v\n%s", out.Matches[6], text)
		}
		cnt, _ := search(map[string]any{"pattern": "hit", "path": "many", "mode": "count"})
		if len(cnt.Counts) != 2 || cnt.Counts[0].Count != 500 || cnt.Counts[1].Path != dir+"/many/b.txt" {
			t.Fatalf("counts %+v", cnt.Counts)
		}
	})

	t.Run("catastrophic pattern is linear", func(t *testing.T) {
		writeTree(t, dir, map[string]string{"redos/x.txt": strings.Repeat("a", 200000) + "!\n"})
		out, _ := search(map[string]any{"pattern": "(a+)+$", "path": "redos"})
		if out.TotalMatches != 0 || out.FilesSearched != 1 {
			t.Fatalf("%+v", out)
		}
	})

	t.Run("context lines", func(t *testing.T) {
		out, text := search(map[string]any{"pattern": "MATCH", "path": "ctx.txt", "context_lines": 2})
		if len(out.Matches) != 1 {
			t.Fatalf("%+v", out)
		}
		m := out.Matches[0]
		if m.Path != dir+"/ctx.txt" || m.Line != 4 || !slices.Equal(m.Before, []string{"l2", "l3"}) || !slices.Equal(m.After, []string{"l5", "l6"}) {
			t.Fatalf("match %+v", m)
		}
		want := dir + "/ctx.txt-2-l2\n" + dir + "/ctx.txt-3-l3\n" + dir + "/ctx.txt:4:MATCH\n" + dir + "/ctx.txt-5-l5\n" + dir + "/ctx.txt-6-l6\n--\n"
		if !strings.HasPrefix(text, want) {
			t.Fatalf("text:\n%s\nwant prefix:\n%s", text, want)
		}
		// At the start and end of a file, context stops at the edge.
		edge, _ := search(map[string]any{"pattern": "^l(1|7)$", "path": "ctx.txt", "context_lines": 3})
		if len(edge.Matches) != 2 || len(edge.Matches[0].Before) != 0 || len(edge.Matches[0].After) != 3 ||
			!slices.Equal(edge.Matches[1].Before, []string{"MATCH", "l5", "l6"}) || len(edge.Matches[1].After) != 0 {
			t.Fatalf("edges %+v", edge.Matches)
		}
	})
}

func TestFindFiles(t *testing.T) {
	cs, dir := connectFiles(t)
	// 10,000 files: 100 directories of 90 .go and 10 .txt files.
	for d := range 100 {
		sub := fmt.Sprintf("%s/pkg%02d/inner", dir, d)
		os.MkdirAll(sub, 0o755)
		for f := range 100 {
			ext := ".go"
			if f%10 == 9 {
				ext = ".txt"
			}
			os.WriteFile(fmt.Sprintf("%s/f%03d%s", sub, f, ext), nil, 0o644)
		}
	}
	os.WriteFile(dir+"/.gitignore", []byte("pkg99/\n"), 0o644)
	type findOut struct {
		Files []struct {
			Path       string `json:"path"`
			Type       string `json:"type"`
			ModifiedAt string `json:"modified_at"`
		} `json:"files"`
		Total     int  `json:"total"`
		Truncated bool `json:"truncated"`
	}
	find := func(args map[string]any) findOut {
		t.Helper()
		var out findOut
		e2e.Structured(t, e2e.CallOK(t, cs, "find_files", args), &out)
		return out
	}
	out := find(map[string]any{"pattern": "**/*.go", "sort": "path", "max_results": 10000})
	if out.Total != 99*90 || len(out.Files) != 99*90 || out.Truncated {
		t.Fatalf("total %d, %d files, truncated %v", out.Total, len(out.Files), out.Truncated)
	}
	if out.Files[0].Path != dir+"/pkg00/inner/f000.go" || out.Files[1].Path != dir+"/pkg00/inner/f001.go" || out.Files[0].Type != "file" {
		t.Fatalf("first %+v", out.Files[:2])
	}
	// The default order is by path: the first 5 of all 9,000.
	all := find(map[string]any{"pattern": "**/*.go", "include_ignored": true, "max_results": 5})
	if all.Total != 100*90 || len(all.Files) != 5 || !all.Truncated || all.Files[4].Path != dir+"/pkg00/inner/f004.go" {
		t.Fatalf("include_ignored: total %d, files %+v", all.Total, all.Files)
	}
	// Newest first.
	os.WriteFile(dir+"/pkg05/inner/new.go", []byte("x"), 0o644)
	future := mustTime(t, "2100-01-01T00:00:00Z")
	os.Chtimes(dir+"/pkg05/inner/new.go", future, future)
	newest := find(map[string]any{"pattern": "pkg05/**/*.go", "sort": "modified", "max_results": 1})
	if len(newest.Files) != 1 || newest.Files[0].Path != dir+"/pkg05/inner/new.go" || newest.Files[0].ModifiedAt != "2100-01-01T00:00:00Z" || newest.Total != 91 {
		t.Fatalf("newest %+v total %d", newest.Files, newest.Total)
	}
	dirs := find(map[string]any{"pattern": "pkg0?/inner", "directories": true, "sort": "path"})
	if dirs.Total != 10 || dirs.Files[0].Type != "directory" {
		t.Fatalf("directories %+v", dirs)
	}
	wantToolError(t, e2e.Call(t, cs, "find_files", map[string]any{"pattern": "[", "path": "."}), "bad glob")
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
