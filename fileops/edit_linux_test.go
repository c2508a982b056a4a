package fileops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

func TestEditFileOp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := dir + "/f.txt"
	writeTestFile(t, p, "one\r\ntwo\r\nthree\r\n")
	os.Chmod(p, 0o751)
	os.Symlink("f.txt", dir+"/link")

	res, err := editFileOp(ctx, EditFileRequest{Path: dir + "/link", Edits: []Edit{{OldString: "two\nthree", NewString: "2\n3"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "one\r\n2\r\n3\r\n" || !res.CRLF {
		t.Fatalf("CRLF file became %q (crlf %v)", got, res.CRLF)
	}
	if fi, _ := os.Lstat(dir + "/link"); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("symlink replaced")
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o751 {
		t.Fatalf("mode %v", fi.Mode())
	}
	sum := sha256.Sum256(got)
	if res.SHA256 != hex.EncodeToString(sum[:]) || res.Target != p {
		t.Fatalf("sha %s target %s", res.SHA256, res.Target)
	}
	if !strings.Contains(res.Diff, "-two\n-three\n+2\n+3\n") {
		t.Fatalf("diff %q", res.Diff)
	}

	// if_sha256: the old one is refused, the current one works.
	_, err = editFileOp(ctx, EditFileRequest{Path: p, IfSHA256: res.OldSHA256, Edits: []Edit{{OldString: "one", NewString: "1"}}})
	wantKind(t, err, KindStale)
	dry, err := editFileOp(ctx, EditFileRequest{Path: p, IfSHA256: res.SHA256, DryRun: true, Edits: []Edit{{OldString: "one", NewString: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(p); string(after) != string(got) {
		t.Fatal("dry run wrote")
	}
	if dry.SHA256 == res.SHA256 || !strings.Contains(dry.Diff, "+1\n") {
		t.Fatalf("dry run result %+v", dry)
	}

	writeTestFile(t, dir+"/bin", "ok\xff\xfe")
	_, err = editFileOp(ctx, EditFileRequest{Path: dir + "/bin", Edits: []Edit{{OldString: "ok", NewString: "no"}}})
	wantKind(t, err, "invalid")
	_, err = editFileOp(ctx, EditFileRequest{Path: dir + "/missing", Edits: []Edit{{OldString: "a", NewString: "b"}}})
	wantKind(t, err, "not_found")
	_, err = editFileOp(ctx, EditFileRequest{Path: dir, Edits: []Edit{{OldString: "a", NewString: "b"}}})
	wantKind(t, err, "is_directory")
}

func benchEdit(b *testing.B, size int) {
	dir := b.TempDir()
	var sb strings.Builder
	for sb.Len() < size {
		sb.WriteString("some line of a large file, with words in it\n")
	}
	sb.WriteString("the unique last line\n")
	os.WriteFile(dir+"/f", []byte(sb.String()), 0o644)
	i := 0
	for b.Loop() {
		old, new := "the unique last line", "edited"
		if i%2 == 1 {
			old, new = new, old
		}
		i++
		if _, err := editFileOp(context.Background(), EditFileRequest{Path: dir + "/f", Edits: []Edit{{OldString: old, NewString: new}}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEditFileOp100KiB: the in-process op on a 100 KiB file.
func BenchmarkEditFileOp100KiB(b *testing.B) { benchEdit(b, 100<<10) }

// BenchmarkEditFileOp5MiB: the in-process op on a 5 MiB file.
func BenchmarkEditFileOp5MiB(b *testing.B) { benchEdit(b, 5<<20) }
