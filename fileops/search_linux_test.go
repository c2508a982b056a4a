package fileops

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
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

func BenchmarkFindOp10k(b *testing.B) {
	dir := makeBenchTree(b, 10000, 0)
	for b.Loop() {
		if _, err := findOp(context.Background(), FindRequest{Root: dir, Pattern: "**/*.go", MaxResults: 10}); err != nil {
			b.Fatal(err)
		}
	}
}
