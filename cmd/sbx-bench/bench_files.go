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
	var ds []time.Duration
	for i := range b.n + 5 {
		args := map[string]any{"path": "bench-edit.go", "edits": []map[string]any{{"old_string": pair[i%2], "new_string": pair[1-i%2]}}}
		tr, d, err := s.timed(cctx, "edit_file", args)
		if err != nil {
			return nil, err
		}
		if _, err := structured[struct {
			SHA256 string `json:"sha256"`
		}](tr); err != nil {
			return nil, fmt.Errorf("edit_file: %v", err)
		}
		if i >= 5 {
			ds = append(ds, d)
		}
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

// searchFiles: search_files for a literal over 10,000 files / 100 MiB,
// warm, and rg through exec on the same tree in the same run.
func (b *bench) searchFiles(ctx context.Context, s *server) ([]row, error) {
	if err := s.need("search_files", "exec"); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	dir := filepath.Join(s.workdir, "bench-tree")
	if _, err := s.sh(cctx, fmt.Sprintf(treeScript, dir)); err != nil {
		return nil, err
	}
	iters := max(5, b.n/4)
	args := map[string]any{"path": dir, "pattern": "needle_xq7", "literal": true}
	var ds []time.Duration
	for i := range iters + 3 {
		tr, d, err := s.timed(cctx, "search_files", args)
		if err != nil {
			return nil, err
		}
		out, err := structured[struct {
			TotalMatches  int `json:"total_matches"`
			FilesSearched int `json:"files_searched"`
		}](tr)
		if err != nil {
			return nil, err
		}
		if out.TotalMatches != 20 || out.FilesSearched != 10000 {
			return nil, fmt.Errorf("search_files found %d matches in %d files, want 20 in 10000", out.TotalMatches, out.FilesSearched)
		}
		if i >= 3 {
			ds = append(ds, d)
		}
	}
	rows := []row{latencyRow("`search_files` literal, 10 000 files / 100 MiB (warm)", ds, 150*time.Millisecond)}

	// rg through exec, same tree, when the sandbox has it.
	probe, err := s.sh(cctx, "command -v rg || true")
	if err != nil || strings.TrimSpace(probe.Stdout) == "" {
		return append(rows, row{metric: "`rg -F` through `exec`, same tree", p50: "n/a (no rg in the sandbox)"}), nil
	}
	cmd := fmt.Sprintf("rg -F -n --no-heading needle_xq7 %q | wc -l", dir)
	var rds []time.Duration
	for i := range iters + 3 {
		tr, d, err := s.timed(cctx, "exec", map[string]any{"command": cmd})
		if err != nil {
			return nil, err
		}
		out, err := structured[execOut](tr)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(out.Stdout) != "20" {
			return nil, fmt.Errorf("rg found %q lines, want 20 (%s)", out.Stdout, out.Stderr)
		}
		if i >= 3 {
			rds = append(rds, d)
		}
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

// findFiles: find_files **/*.go over the 10,000-file tree.
func (b *bench) findFiles(ctx context.Context, s *server) ([]row, error) {
	if err := s.need("find_files", "exec"); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	dir := filepath.Join(s.workdir, "bench-tree")
	if _, err := s.sh(cctx, fmt.Sprintf(treeScript, dir)); err != nil {
		return nil, err
	}
	args := map[string]any{"path": dir, "pattern": "**/*.go", "max_results": 10}
	var ds []time.Duration
	for i := range b.n + 3 {
		tr, d, err := s.timed(cctx, "find_files", args)
		if err != nil {
			return nil, err
		}
		out, err := structured[struct {
			Total int `json:"total"`
		}](tr)
		if err != nil {
			return nil, err
		}
		if out.Total != 9000 {
			return nil, fmt.Errorf("find_files found %d, want 9000", out.Total)
		}
		if i >= 3 {
			ds = append(ds, d)
		}
	}
	return []row{latencyRow("`find_files` `**/*.go`, 10 000 files (newest first)", ds, 30*time.Millisecond)}, nil
}
