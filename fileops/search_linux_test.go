package fileops

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bmatcuk/doublestar/v4"
)

// makeBenchTree writes n/100 directories of 100 files of size bytes each
// (90% .go) with "needle_xq7" in every 500th.
func makeBenchTree(tb testing.TB, n, size int) string {
	dir := tb.TempDir()
	line := strings.Repeat("the quick brown fox jumps over the lazy dog ", 2) + "\n"
	body := strings.Repeat(line, size/len(line)+1)[:size]
	for d := range n / 100 {
		sub := fmt.Sprintf("%s/pkg%02d", dir, d)
		os.MkdirAll(sub, 0o755)
		for f := range 100 {
			ext := ".go"
			if f%10 == 9 {
				ext = ".txt"
			}
			c := body
			if (d*100+f)%500 == 7 {
				c = body[:size/2] + " needle_xq7\n" + body[size/2:]
			}
			os.WriteFile(fmt.Sprintf("%s/f%03d%s", sub, f, ext), []byte(c), 0o644)
		}
	}
	return dir
}

func TestSearchAndFindOps(t *testing.T) {
	dir := makeBenchTree(t, 1000, 2000)
	os.WriteFile(dir+"/.gitignore", []byte("pkg09/\n"), 0o644)
	ctx := context.Background()
	res, err := searchOp(ctx, SearchRequest{Root: dir, Pattern: "needle_xq7", Literal: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalMatches != 2 || res.FilesSearched != 901 || len(res.Matches) != 2 || res.Matches[0].Path != "pkg00/f007.go" {
		t.Fatalf("%+v", res)
	}
	fr, err := findOp(ctx, FindRequest{Root: dir, Pattern: "**/*.go", Sort: "path", MaxResults: 3})
	if err != nil {
		t.Fatal(err)
	}
	if fr.Total != 810 || len(fr.Files) != 3 || fr.Files[0].Path != "pkg00/f000.go" || !fr.Truncated {
		t.Fatalf("%+v", fr)
	}
	// Results do not depend on which worker finishes first: the first
	// max_results in walk order, every time.
	for range 20 {
		r, err := searchOp(ctx, SearchRequest{Root: dir, Pattern: "fox", Literal: true, MaxResults: 5, Mode: "files"})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Files) != 5 || r.Files[0] != "pkg00/f000.go" || r.Files[4] != "pkg00/f004.go" || r.TotalFiles != 900 {
			t.Fatalf("%v total %d", r.Files, r.TotalFiles)
		}
	}
}

func BenchmarkSearchOp10k(b *testing.B) {
	dir := makeBenchTree(b, 10000, 10240)
	for b.Loop() {
		if _, err := searchOp(context.Background(), SearchRequest{Root: dir, Pattern: "needle_xq7", Literal: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFindOp10k(b *testing.B) { benchFind(b, FindSortPath) }

func BenchmarkFindOp10kModified(b *testing.B) { benchFind(b, FindSortModified) }

// benchFind: find_files "**/*.go" over 10,000 files, 10 results.
func benchFind(b *testing.B, sort string) {
	dir := makeBenchTree(b, 10000, 0)
	for b.Loop() {
		res, err := findOp(context.Background(), FindRequest{Root: dir, Pattern: "**/*.go", Sort: sort, MaxResults: 10})
		if err != nil || res.Total != 9000 {
			b.Fatal(res.Total, err)
		}
	}
}

// findMatcher's base-name shortcut for "**/P" agrees with doublestar on
// the whole path.
func TestFindMatcherShortcut(t *testing.T) {
	paths := []string{"a.go", "x/a.go", "x/y/a.go", ".a.go", "x/.hidden/b.go", "a.go/b", "x/a.txt", "go", "x/y/test_a.py", "test_a.py", "a{b}.go", "x/B.GO"}
	for _, p := range []string{"**/*.go", "**/test_*.py", "**/*.{go,py}", "**/[ab].go", "**/a.go", "**/*", "**/?.go", "**/*.GO"} {
		match, ok := findMatcher(p)
		if !ok {
			t.Fatalf("%q rejected", p)
		}
		for _, rel := range paths {
			want, _ := doublestar.Match(p, rel)
			if got := match(rel); got != want {
				t.Errorf("%q on %q: %v, doublestar says %v", p, rel, got, want)
			}
		}
	}
}

func TestTopN(t *testing.T) {
	for _, n := range []int{0, 1, 3, 10, 50} {
		kept := topN[int]{n: n, less: func(a, b *int) bool { return *a < *b }}
		var all []int
		for i := range 40 {
			v := (i * 7919) % 41
			all = append(all, v)
			kept.push(v)
		}
		slices.Sort(all)
		if got, want := kept.sorted(), all[:min(n, len(all))]; !slices.Equal(got, want) {
			t.Errorf("n=%d: %v, want %v", n, got, want)
		}
	}
}

// Newest first, then by path; by path, the first max_results of all.
func TestFindOpOrders(t *testing.T) {
	dir := makeBenchTree(t, 300, 10)
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range []string{"pkg00/f000.go", "pkg00/f001.go", "pkg02/f050.go"} {
		os.Chtimes(dir+"/"+p, old, old)
	}
	os.MkdirAll(dir+"/pkg01/sub", 0o755)
	os.WriteFile(dir+"/pkg01/sub/new.go", nil, 0o644)
	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	os.Chtimes(dir+"/pkg01/sub/new.go", future, future)
	ctx := context.Background()
	paths := func(fs []FoundFile) []string {
		var ps []string
		for _, f := range fs {
			ps = append(ps, f.Path)
		}
		return ps
	}
	byPath, err := findOp(ctx, FindRequest{Root: dir, Pattern: "**/*.go", MaxResults: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pkg00/f000.go", "pkg00/f001.go", "pkg00/f002.go"}; !slices.Equal(paths(byPath.Files), want) || byPath.Total != 271 || !byPath.Truncated || byPath.Files[0].Type != FileTypeFile || !byPath.Files[0].ModTime.Equal(old) {
		t.Fatalf("by path: %+v total %d", byPath.Files, byPath.Total)
	}
	newest, err := findOp(ctx, FindRequest{Root: dir, Pattern: "**/*.go", Sort: FindSortModified, MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := len(newest.Files)
	if n != 271 || newest.Truncated || newest.Files[0].Path != "pkg01/sub/new.go" || !newest.Files[0].ModTime.Equal(future) ||
		!slices.Equal(paths(newest.Files[n-3:]), []string{"pkg00/f000.go", "pkg00/f001.go", "pkg02/f050.go"}) {
		t.Fatalf("newest first: %d files, first %+v, last %v", n, newest.Files[0], paths(newest.Files[n-3:]))
	}
	for i := 1; i < n-3; i++ {
		a, b := newest.Files[i-1], newest.Files[i]
		if a.ModTime.Before(b.ModTime) || a.ModTime.Equal(b.ModTime) && a.Path > b.Path {
			t.Fatalf("out of order at %d: %+v then %+v", i, a, b)
		}
	}
	dirs, err := findOp(ctx, FindRequest{Root: dir, Pattern: "pkg0?/sub", Directories: true, Sort: FindSortModified})
	if err != nil || dirs.Total != 1 || dirs.Files[0].Type != FileTypeDirectory || dirs.Files[0].ModTime.IsZero() {
		t.Fatalf("directories: %+v %v", dirs, err)
	}
}
