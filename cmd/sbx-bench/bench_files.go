package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// editFile: edit_file on a 100 KiB file, one replacement near the middle,
// toggled back and forth.
func (b *bench) editFile(ctx context.Context, s *server) ([]row, error) {
	if err := s.need("edit_file", "write_file"); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var sb strings.Builder
	for i := 0; sb.Len() < 100<<10; i++ {
		fmt.Fprintf(&sb, "\tline %05d of a source file with some words in it: value = compute(%d)\n", i, i)
	}
	if _, _, err := s.tool(cctx, "write_file", map[string]any{"path": "bench-edit.go", "content": sb.String()}, nil); err != nil {
		return nil, err
	}
	pair := [2]string{"line 00700 of a source file", "line 00700 of an edited file"}
	args := func(i int) map[string]any {
		return map[string]any{"path": "bench-edit.go", "edits": []map[string]any{{"old_string": pair[i%2], "new_string": pair[1-i%2]}}}
	}
	ds, err := s.measure(cctx, "edit_file", 5, b.n, args, func(tr toolResult) error {
		_, err := structured[struct {
			SHA256 string `json:"sha256"`
		}](tr)
		return err
	})
	if err != nil {
		return nil, err
	}
	return []row{latencyRow("`edit_file` 100 KiB (one replacement)", ds, 2*time.Millisecond)}, nil
}

// treeScript writes 10,000 files of ~10 KiB (100 MiB; 90% .go, 10% .txt)
// in 100 directories under %[1]q, with the needle in 20 of them.
const treeScript = `test -f %[1]q/pkg99/f099.txt || python3 - <<'PYEOF'
import os, random
random.seed(1)
words = "the of and to in is you that it he was for on are as with his they at be this from have or by one had not but what all were when we there can an your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know".split()
root = %[1]q
for d in range(100):
    sub = os.path.join(root, "pkg%%02d" %% d)
    os.makedirs(sub, exist_ok=True)
    for f in range(100):
        ext = ".txt" if f %% 10 == 9 else ".go"
        lines = []
        size = 0
        while size < 10240:
            l = " ".join(random.choice(words) for _ in range(10))
            lines.append(l)
            size += len(l) + 1
        if (d * 100 + f) %% 500 == 7:
            lines[len(lines) // 2] += " needle_xq7"
        with open(os.path.join(sub, "f%%03d%%s" %% (f, ext)), "w") as fh:
            fh.write("\n".join(lines) + "\n")
PYEOF`

// benchTree checks that tool and exec are there, writes treeScript's tree
// (once per workdir) and returns its path, with ctx bounded to 10 minutes.
func benchTree(ctx context.Context, s *server, tool string) (context.Context, context.CancelFunc, string, error) {
	if err := s.need(tool, "exec"); err != nil {
		return ctx, func() {}, "", err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	dir := filepath.Join(s.workdir, "bench-tree")
	_, err := s.sh(cctx, fmt.Sprintf(treeScript, dir))
	return cctx, cancel, dir, err
}

// same returns a measure argument function giving args every time.
func same(args map[string]any) func(int) map[string]any {
	return func(int) map[string]any { return args }
}

// searchFiles: search_files for a literal over 10,000 files / 100 MiB,
// warm, and rg through exec on the same tree in the same run.
func (b *bench) searchFiles(ctx context.Context, s *server) ([]row, error) {
	cctx, cancel, dir, err := benchTree(ctx, s, "search_files")
	defer cancel()
	if err != nil {
		return nil, err
	}
	iters := max(5, b.n/4)
	ds, err := s.measure(cctx, "search_files", 3, iters, same(map[string]any{"path": dir, "pattern": "needle_xq7", "literal": true}), func(tr toolResult) error {
		out, err := structured[struct {
			TotalMatches  int `json:"total_matches"`
			FilesSearched int `json:"files_searched"`
		}](tr)
		if err == nil && (out.TotalMatches != 20 || out.FilesSearched != 10000) {
			err = fmt.Errorf("found %d matches in %d files, want 20 in 10000", out.TotalMatches, out.FilesSearched)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	rows := []row{latencyRow("`search_files` literal, 10 000 files / 100 MiB (warm)", ds, 150*time.Millisecond)}

	// rg through exec, same tree, when the sandbox has it.
	probe, err := s.sh(cctx, "command -v rg || true")
	if err != nil || strings.TrimSpace(probe.Stdout) == "" {
		return append(rows, row{metric: "`rg -F` through `exec`, same tree", p50: "n/a (no rg in the sandbox)"}), nil
	}
	cmd := fmt.Sprintf("rg -F -n --no-heading needle_xq7 %q | wc -l", dir)
	rds, err := s.measure(cctx, "exec", 3, iters, same(map[string]any{"command": cmd}), func(tr toolResult) error {
		out, err := structured[execOut](tr)
		if err == nil && strings.TrimSpace(out.Stdout) != "20" {
			err = fmt.Errorf("rg found %q lines, want 20 (%s)", out.Stdout, out.Stderr)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	rg := latencyRow("`rg -F` through `exec`, same tree", rds, 0)
	median := func(ds []time.Duration) time.Duration {
		c := slices.Clone(ds)
		slices.Sort(c)
		return pct(c, 0.5)
	}
	ratio := float64(median(ds)) / float64(median(rds))
	rg.budget = "search_files ≤ 1.5× rg"
	rg.met = yesNo(ratio <= 1.5)
	rg.note = fmt.Sprintf("search_files / rg = %.2f", ratio)
	return append(rows, rg), nil
}

// Rows of findFiles.
const (
	findMetric         = "`find_files` `**/*.go`, 10 000 files (by path, the default)"
	findModifiedMetric = "`find_files` `**/*.go`, 10 000 files (`sort: modified`, newest first)"
)

// findFiles: find_files **/*.go over the 10,000-file tree, 10 results, in
// each order (the sort is passed explicitly, so that older binaries, whose
// default was newest first, measure the same thing).
func (b *bench) findFiles(ctx context.Context, s *server) ([]row, error) {
	cctx, cancel, dir, err := benchTree(ctx, s, "find_files")
	defer cancel()
	if err != nil {
		return nil, err
	}
	check := func(tr toolResult) error {
		out, err := structured[struct {
			Total int `json:"total"`
		}](tr)
		if err == nil && out.Total != 9000 {
			err = fmt.Errorf("found %d, want 9000", out.Total)
		}
		return err
	}
	var rows []row
	for _, o := range []struct {
		sort, metric string
		budget       time.Duration
	}{{"path", findMetric, 30 * time.Millisecond}, {"modified", findModifiedMetric, 0}} {
		args := map[string]any{"path": dir, "pattern": "**/*.go", "max_results": 10, "sort": o.sort}
		ds, err := s.measure(cctx, "find_files", 3, b.n, same(args), check)
		if err != nil {
			return nil, err
		}
		rows = append(rows, latencyRow(o.metric, ds, o.budget))
	}
	return rows, nil
}
