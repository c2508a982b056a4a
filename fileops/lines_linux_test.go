package fileops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestReadLinesOp(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	writeTestFile(t, dir+"/ten", b.String())
	writeTestFile(t, dir+"/nonl", "a\nb")
	writeTestFile(t, dir+"/empty", "")
	long := strings.Repeat("x", ReadFileMaxBytes+100) + "\nshort\n"
	writeTestFile(t, dir+"/long", long)
	mib := strings.Repeat("y", 1<<20-1) + "\n"
	writeTestFile(t, dir+"/big3", mib+mib+mib)
	sum := sha256.Sum256([]byte(b.String()))
	for _, tc := range []struct {
		name              string
		req               ReadLinesRequest
		want              string
		total, start, end int64
		offset            int64
		truncated, cut    bool
	}{
		{"all", ReadLinesRequest{Path: dir + "/ten"}, b.String(), 10, 1, 10, 0, false, false},
		{"page", ReadLinesRequest{Path: dir + "/ten", StartLine: 3, MaxLines: 2}, "line 3\nline 4\n", 10, 3, 4, 14, true, false},
		{"tail", ReadLinesRequest{Path: dir + "/ten", StartLine: 9, MaxLines: 5}, "line 9\nline 10\n", 10, 9, 10, 56, false, false},
		{"past the end", ReadLinesRequest{Path: dir + "/ten", StartLine: 20}, "", 10, 20, 19, 71, false, false},
		{"no final newline", ReadLinesRequest{Path: dir + "/nonl", StartLine: 2}, "b", 2, 2, 2, 2, false, false},
		{"empty", ReadLinesRequest{Path: dir + "/empty"}, "", 0, 1, 0, 0, false, false},
		{"cap between lines", ReadLinesRequest{Path: dir + "/big3"}, mib + mib, 3, 1, 2, 0, true, false},
		{"line over the cap", ReadLinesRequest{Path: dir + "/long"}, long[:ReadFileMaxBytes], 2, 1, 1, 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := readLinesOp(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Data) != tc.want || res.TotalLines != tc.total || res.StartLine != tc.start || res.EndLine != tc.end ||
				res.ByteOffset != tc.offset || res.Truncated != tc.truncated || res.LineCut != tc.cut || res.N != int64(len(tc.want)) {
				t.Fatalf("got %.40q total %d lines %d-%d offset %d truncated %v cut %v",
					res.Data, res.TotalLines, res.StartLine, res.EndLine, res.ByteOffset, res.Truncated, res.LineCut)
			}
		})
	}
	res, _ := readLinesOp(context.Background(), ReadLinesRequest{Path: dir + "/ten", StartLine: 2, MaxLines: 1})
	if res.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("sha256 %s", res.SHA256)
	}
	_, err := readLinesOp(context.Background(), ReadLinesRequest{Path: dir})
	wantKind(t, err, "is_directory")
	if _, err := os.Stat(dir + "/ten"); err != nil {
		t.Fatal(err)
	}
}
