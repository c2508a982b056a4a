package tools

import (
	"strings"
	"testing"
	"time"

	"github.com/sbx-mcp/sbx-mcp/fileops"
)

func TestEntryConv(t *testing.T) {
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("X", 3600))
	t2 := t1.Add(time.Second)
	var c entryConv
	tests := []struct {
		root string
		e    fileops.FileEntry
		want fileEntry
	}{
		{"/work", fileops.FileEntry{Rel: "a.txt", Type: "file", Size: 7, Mode: 0o100644, ModTime: t1},
			fileEntry{Name: "a.txt", Path: "/work/a.txt", RelativePath: "a.txt", Type: "file", Size: 7, Mode: "rw-r--r--", ModifiedAt: "2026-01-02T02:04:05Z"}},
		{"/work", fileops.FileEntry{Rel: "src/utils/x.js", Type: "file", Mode: 0o644, ModTime: t1},
			fileEntry{Name: "x.js", Path: "/work/src/utils/x.js", RelativePath: "src/utils/x.js", Type: "file", Mode: "rw-r--r--", ModifiedAt: "2026-01-02T02:04:05Z"}},
		{"/", fileops.FileEntry{Rel: "tmp", Type: "directory", Mode: 0o41777, ModTime: t2},
			fileEntry{Name: "tmp", Path: "/tmp", RelativePath: "tmp", Type: "directory", Mode: "rwxrwxrwt", ModifiedAt: "2026-01-02T02:04:06Z"}},
		{"/work", fileops.FileEntry{Rel: "l", Type: "symlink", Mode: 0o120777, ModTime: t1, Target: "../x"},
			fileEntry{Name: "l", Path: "/work/l", RelativePath: "l", Type: "symlink", Mode: "rwxrwxrwx", ModifiedAt: "2026-01-02T02:04:05Z", SymlinkTarget: "../x"}},
		{"/work", fileops.FileEntry{Rel: "", Type: "directory", Mode: 0o4755, ModTime: t1},
			fileEntry{Name: "work", Path: "/work", Type: "directory", Mode: "rwsr-xr-x", ModifiedAt: "2026-01-02T02:04:05Z"}},
		{"/", fileops.FileEntry{Rel: "", Type: "directory", Mode: 0o755, ModTime: t1},
			fileEntry{Name: "/", Path: "/", Type: "directory", Mode: "rwxr-xr-x", ModifiedAt: "2026-01-02T02:04:05Z"}},
	}
	for _, tt := range tests {
		if got := c.convert(tt.root, &tt.e); got != tt.want {
			t.Errorf("convert(%q, %+v) =\n %+v, want\n %+v", tt.root, tt.e, got, tt.want)
		}
		if got := toFileEntry(tt.root, &tt.e); got != tt.want {
			t.Errorf("toFileEntry(%q, %+v) = %+v", tt.root, tt.e, got)
		}
	}
}

func TestListFilesText(t *testing.T) {
	r := listFilesResult{Path: "/w", Truncated: true, Unreadable: []string{"locked"}, Entries: []fileEntry{
		{RelativePath: "d", Type: "directory", Mode: "rwxr-xr-x", Size: 4096, ModifiedAt: "T"},
		{RelativePath: "d/f", Type: "file", Mode: "rw-r--r--", Size: 12345678901, ModifiedAt: "T"},
		{RelativePath: "l", Type: "symlink", Mode: "rwxrwxrwx", Size: 3, ModifiedAt: "T", SymlinkTarget: "d/f"},
	}}
	want := "/w: 3 entries (truncated: raise max_entries, up to 10000, or list a subdirectory)\n" +
		"drwxr-xr-x       4096 T d/\n" +
		"-rw-r--r-- 12345678901 T d/f\n" +
		"lrwxrwxrwx          3 T l -> d/f\n" +
		"unreadable: locked/\n"
	if got := r.Text(); got != want {
		t.Errorf("Text() =\n%s\nwant\n%s", got, want)
	}
	if !strings.HasPrefix((listFilesResult{Path: "/e"}).Text(), "/e: 0 entries\n") {
		t.Error("empty listing text")
	}
}
