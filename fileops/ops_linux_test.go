package fileops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// These tests call the op bodies in-process (the same code init runs).

func wantKind(t *testing.T, err error, kind string) {
	t.Helper()
	var oe *isolation.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v (%T), want *OpError of kind %s", err, err, kind)
	}
	if oe.Kind != kind {
		t.Fatalf("kind = %s (%v), want %s", oe.Kind, err, kind)
	}
	kindErr := map[string]error{
		isolation.KindNotFound: fs.ErrNotExist, isolation.KindPermission: fs.ErrPermission, isolation.KindExists: fs.ErrExist,
		isolation.KindInvalid: fs.ErrInvalid, isolation.KindIsDirectory: syscall.EISDIR, isolation.KindNotDirectory: syscall.ENOTDIR,
		isolation.KindNotRegular: isolation.ErrNotRegular,
	}[kind]
	if kindErr != nil && !errors.Is(err, kindErr) {
		t.Errorf("errors.Is(%v, %v) is false", err, kindErr)
	}
	if oe.Path == "" && kind != "invalid" {
		t.Errorf("error %q does not name the path", err)
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readCase is one read_file case: the bytes and metadata it must give, or
// the kind of error.
type readCase struct {
	name      string
	req       ReadFileRequest
	want      string
	truncated bool
	size      int64
	kind      string
}

// readCases makes the files of the read_file cases in dir.
func readCases(t *testing.T, dir string) []readCase {
	big := bytes.Repeat([]byte("0123456789abcdef"), (ReadFileMaxBytes/16)+10)
	writeTestFile(t, dir+"/a.txt", "héllo wörld\n")
	writeTestFile(t, dir+"/big", string(big))
	writeTestFile(t, dir+"/empty", "")
	if err := os.Symlink("a.txt", dir+"/link"); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(dir+"/fifo", 0o600); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(dir+"/sub", 0o755)
	return []readCase{
		{name: "text", req: ReadFileRequest{Path: dir + "/a.txt"}, want: "héllo wörld\n", size: 14},
		{name: "through symlink", req: ReadFileRequest{Path: dir + "/link"}, want: "héllo wörld\n", size: 14},
		{name: "offset length", req: ReadFileRequest{Path: dir + "/a.txt", Offset: 8, Length: 3}, want: "ör", truncated: true, size: 14},
		{name: "offset to end", req: ReadFileRequest{Path: dir + "/a.txt", Offset: 8, Length: 6}, want: "örld\n", size: 14},
		{name: "offset past end", req: ReadFileRequest{Path: dir + "/a.txt", Offset: 100}, want: "", size: 14},
		{name: "empty", req: ReadFileRequest{Path: dir + "/empty"}, want: "", size: 0},
		{name: "capped", req: ReadFileRequest{Path: dir + "/big"}, want: string(big[:ReadFileMaxBytes]), truncated: true, size: int64(len(big))},
		{name: "last page", req: ReadFileRequest{Path: dir + "/big", Offset: ReadFileMaxBytes}, want: string(big[ReadFileMaxBytes:]), size: int64(len(big))},
		{name: "proc file with size 0", req: ReadFileRequest{Path: "/proc/self/status"}, want: "Name:"},
		{name: "missing", req: ReadFileRequest{Path: dir + "/nope"}, kind: "not_found"},
		{name: "directory", req: ReadFileRequest{Path: dir + "/sub"}, kind: "is_directory"},
		{name: "fifo", req: ReadFileRequest{Path: dir + "/fifo"}, kind: "not_regular"},
		{name: "dev zero", req: ReadFileRequest{Path: "/dev/zero"}, kind: "not_regular"},
		{name: "dev null", req: ReadFileRequest{Path: "/dev/null"}, kind: "not_regular"},
		{name: "relative", req: ReadFileRequest{Path: "a.txt"}, kind: "invalid"},
		{name: "negative offset", req: ReadFileRequest{Path: dir + "/a.txt", Offset: -1}, kind: "invalid"},
		{name: "not a directory", req: ReadFileRequest{Path: dir + "/a.txt/x"}, kind: "not_directory"},
	}
}

// check compares what a read gave with the case.
func (tt readCase) check(t *testing.T, res ReadFileResult, data []byte, err error) {
	t.Helper()
	if tt.kind != "" {
		wantKind(t, err, tt.kind)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if tt.name == "proc file with size 0" {
		if !strings.HasPrefix(string(data), tt.want) || res.Size != int64(len(data)) {
			t.Fatalf("got %q size %d", data, res.Size)
		}
		return
	}
	if string(data) != tt.want || res.N != int64(len(data)) {
		t.Errorf("content = %d bytes %.40q, N %d; want %d bytes %.40q", len(data), data, res.N, len(tt.want), tt.want)
	}
	if res.Truncated != tt.truncated || res.Size != tt.size {
		t.Errorf("truncated %v size %d; want %v %d", res.Truncated, res.Size, tt.truncated, tt.size)
	}
	if tt.req.Offset > 0 && len(res.Head) == 0 && tt.size > 0 {
		t.Errorf("no head for offset read")
	}
}

func TestReadFileOp(t *testing.T) {
	for _, tt := range readCases(t, t.TempDir()) {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			res, err := readFileOp(context.Background(), tt.req, &buf)
			tt.check(t, res, buf.Bytes(), err)
		})
	}
}

// TestSandboxReadFile runs the cases through init: files on the work
// directory's filesystem come back as open files the server reads, /proc
// streams through a pipe; both must agree with the op.
func TestSandboxReadFile(t *testing.T) {
	dir := t.TempDir()
	cases := readCases(t, dir)
	s := startSandbox(t, dir)
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	t.Logf("work directory filesystem 0x%x, handed over: %v", fs.Type, passableFS[int64(fs.Type)])
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ReadFile(context.Background(), s, tt.req)
			tt.check(t, res, res.Data, err)
			res.Release()
			res.Release() // twice is harmless
		})
	}
}

func TestReadFileFIFOWithWriterDoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	fifo := dir + "/fifo"
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A reader+writer holder keeps the FIFO open: a plain open would succeed
	// and a read would block forever.
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done := make(chan error, 1)
	go func() {
		_, err := readFileOp(context.Background(), ReadFileRequest{Path: fifo}, &bytes.Buffer{})
		done <- err
	}()
	select {
	case err := <-done:
		wantKind(t, err, "not_regular")
	case <-time.After(10 * time.Second):
		t.Fatal("read_file of a FIFO blocked")
	}
}

func TestWriteFileOp(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, dir+"/exec.sh", "old")
	os.Chmod(dir+"/exec.sh", 0o750)
	writeTestFile(t, dir+"/log", "a\n")
	writeTestFile(t, dir+"/target", "old target")
	os.Symlink("target", dir+"/link")
	os.Symlink("link", dir+"/link2")
	os.Symlink("missing-target", dir+"/dangling")
	os.Mkdir(dir+"/sub", 0o755)
	unix.Mkfifo(dir+"/fifo", 0o600)
	writeTestFile(t, dir+"/file", "x")
	os.MkdirAll(dir+"/real/sub", 0o755)
	os.Symlink("real/sub", dir+"/alias")
	os.Symlink("../t", dir+"/real/sub/l") // via alias/l, ".." is real/, not dir/

	tests := []struct {
		name    string
		req     WriteFileRequest
		path    string // file to check (default req.Path)
		want    string
		mode    os.FileMode
		created bool
		kind    string
	}{
		{name: "new", req: WriteFileRequest{Path: dir + "/new.txt", Data: []byte("héllo")}, want: "héllo", mode: 0o644, created: true},
		{name: "parents", req: WriteFileRequest{Path: dir + "/a/b/c.txt", Data: []byte("deep")}, want: "deep", mode: 0o644, created: true},
		{name: "keeps mode", req: WriteFileRequest{Path: dir + "/exec.sh", Data: []byte("new")}, want: "new", mode: 0o750},
		{name: "sets mode", req: WriteFileRequest{Path: dir + "/m.sh", Data: []byte("#!/bin/sh\n"), Mode: 0o755, HasMode: true}, want: "#!/bin/sh\n", mode: 0o755, created: true},
		{name: "append", req: WriteFileRequest{Path: dir + "/log", Data: []byte("b\n"), Append: true}, want: "a\nb\n", mode: 0o644},
		{name: "append creates", req: WriteFileRequest{Path: dir + "/log2", Data: []byte("b\n"), Append: true}, want: "b\n", mode: 0o644, created: true},
		{name: "empty", req: WriteFileRequest{Path: dir + "/empty", Data: nil}, want: "", mode: 0o644, created: true},
		{name: "through symlinks", req: WriteFileRequest{Path: dir + "/link2", Data: []byte("via link")}, path: dir + "/target", want: "via link", mode: 0o644},
		{name: "dangling symlink creates target", req: WriteFileRequest{Path: dir + "/dangling", Data: []byte("t")}, path: dir + "/missing-target", want: "t", mode: 0o644, created: true},
		{name: "relative link under a symlinked dir", req: WriteFileRequest{Path: dir + "/alias/l", Data: []byte("phys")}, path: dir + "/real/t", want: "phys", mode: 0o644, created: true},
		{name: "directory", req: WriteFileRequest{Path: dir + "/sub", Data: []byte("x")}, kind: "is_directory"},
		{name: "fifo", req: WriteFileRequest{Path: dir + "/fifo", Data: []byte("x")}, kind: "not_regular"},
		{name: "fifo append", req: WriteFileRequest{Path: dir + "/fifo", Data: []byte("x"), Append: true}, kind: "not_regular"},
		{name: "parent is a file", req: WriteFileRequest{Path: dir + "/file/x", Data: []byte("x")}, kind: "not_directory"},
		{name: "relative", req: WriteFileRequest{Path: "x", Data: []byte("x")}, kind: "invalid"},
		{name: "bad mode", req: WriteFileRequest{Path: dir + "/bm", Mode: 0o17777, HasMode: true}, kind: "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Size = int64(len(tt.req.Data))
			res, err := writeFileOp(context.Background(), tt.req, bytes.NewReader(tt.req.Data))
			if tt.kind != "" {
				wantKind(t, err, tt.kind)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := tt.path
			if p == "" {
				p = tt.req.Path
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || res.BytesWritten != int64(len(tt.req.Data)) || res.Created != tt.created {
				t.Errorf("content %q written %d created %v; want %q %d %v", got, res.BytesWritten, res.Created, tt.want, len(tt.req.Data), tt.created)
			}
			fi, _ := os.Stat(p)
			if fi.Mode().Perm() != tt.mode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tt.mode)
			}
		})
	}
	// Links survive a write through them, and no temp files are left.
	if fi, err := os.Lstat(dir + "/link"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link replaced by the write: %v %v", fi.Mode(), err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".sbx-") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

func TestWriteFileShortStreamLeavesFileUnchanged(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, dir+"/f", "original")
	_, err := writeFileOp(context.Background(), WriteFileRequest{Path: dir + "/f", Size: 100}, strings.NewReader("partial"))
	wantKind(t, err, "io")
	got, _ := os.ReadFile(dir + "/f")
	if string(got) != "original" {
		t.Fatalf("file changed to %q", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("leftovers: %v", ents)
	}
}

// A symlink swapped between two targets while writing through it: every
// write lands whole in one of the targets, the link stays a link, nothing
// else appears.
func TestWriteFileSymlinkSwapRace(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"t1", "t2"} {
		writeTestFile(t, dir+"/"+n, "start")
	}
	os.Symlink("t1", dir+"/link")
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			tmp := dir + "/link.new"
			os.Symlink([]string{"t1", "t2"}[i%2], tmp)
			os.Rename(tmp, dir+"/link")
		}
	})
	payload := bytes.Repeat([]byte("payload "), 4096)
	for i := range 300 {
		data := fmt.Appendf(nil, "%d %s", i, payload)
		_, err := writeFileOp(context.Background(), WriteFileRequest{Path: dir + "/link", Data: data, Size: int64(len(data))}, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "link t1 t2" {
		t.Fatalf("directory holds %v", names)
	}
	for _, n := range []string{"t1", "t2"} {
		got, _ := os.ReadFile(dir + "/" + n)
		if string(got) != "start" && !bytes.HasSuffix(got, payload) {
			t.Errorf("%s holds a torn write (%d bytes)", n, len(got))
		}
	}
}

func TestListFilesOp(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, dir+"/src/utils/x.js", "x")
	writeTestFile(t, dir+"/src/main.js", "main")
	writeTestFile(t, dir+"/.hidden/secret", "s")
	writeTestFile(t, dir+"/README", "r")
	os.Symlink("src", dir+"/srclink")
	os.Chmod(dir+"/README", 0o600)

	list := func(req ListFilesRequest) (ListFilesResult, []FileEntry, error) {
		var buf bytes.Buffer
		res, err := listFilesOp(context.Background(), req, &buf)
		if err != nil {
			return res, nil, err
		}
		es, derr := decodeEntries(&buf)
		if derr != nil {
			t.Fatal(derr)
		}
		return res, es, nil
	}
	rels := func(es []FileEntry) string {
		var s []string
		for _, e := range es {
			s = append(s, e.Rel)
		}
		return strings.Join(s, " ")
	}

	tests := []struct {
		name      string
		req       ListFilesRequest
		want      string
		truncated bool
		kind      string
	}{
		{name: "top", req: ListFilesRequest{Path: dir}, want: "README src srclink"},
		{name: "hidden", req: ListFilesRequest{Path: dir, IncludeHidden: true}, want: ".hidden README src srclink"},
		{name: "recursive", req: ListFilesRequest{Path: dir, Recursive: true}, want: "README src srclink src/main.js src/utils src/utils/x.js"},
		{name: "recursive hidden", req: ListFilesRequest{Path: dir, Recursive: true, IncludeHidden: true}, want: ".hidden README src srclink .hidden/secret src/main.js src/utils src/utils/x.js"},
		{name: "hidden dir itself", req: ListFilesRequest{Path: dir + "/.hidden"}, want: "secret"},
		{name: "symlinked root is followed", req: ListFilesRequest{Path: dir + "/srclink"}, want: "main.js utils"},
		{name: "max entries", req: ListFilesRequest{Path: dir, Recursive: true, MaxEntries: 2}, want: "README src", truncated: true},
		{name: "exact max is not truncated", req: ListFilesRequest{Path: dir, MaxEntries: 3}, want: "README src srclink"},
		{name: "max bytes", req: ListFilesRequest{Path: dir, Recursive: true, MaxBytes: 1}, want: "", truncated: true},
		{name: "missing", req: ListFilesRequest{Path: dir + "/nope"}, kind: "not_found"},
		{name: "file", req: ListFilesRequest{Path: dir + "/README"}, kind: "not_directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, es, err := list(tt.req)
			if tt.kind != "" {
				wantKind(t, err, tt.kind)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rels(es); got != tt.want || res.Truncated != tt.truncated {
				t.Errorf("got %q truncated %v, want %q %v", got, res.Truncated, tt.want, tt.truncated)
			}
		})
	}

	_, es, _ := list(ListFilesRequest{Path: dir})
	byRel := map[string]FileEntry{}
	for _, e := range es {
		byRel[e.Rel] = e
	}
	if e := byRel["srclink"]; e.Type != FileTypeSymlink || e.Target != "src" {
		t.Errorf("symlink entry %+v", e)
	}
	if e := byRel["README"]; e.Type != FileTypeFile || e.Size != 1 || e.Mode != 0o600 || time.Since(e.ModTime) > time.Hour {
		t.Errorf("file entry %+v", e)
	}
	if e := byRel["src"]; e.Type != FileTypeDirectory {
		t.Errorf("dir entry %+v", e)
	}
}

func TestFileInfoMkdirDeleteOps(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	writeTestFile(t, dir+"/f", "abc")
	os.Symlink("f", dir+"/l")

	for _, p := range []string{dir + "/missing", dir + "/f/under-a-file"} {
		res, err := fileInfoOp(ctx, FileInfoRequest{Path: p})
		if err != nil || res.Exists {
			t.Errorf("file_info %s: %+v %v; want exists false", p, res, err)
		}
	}
	res, err := fileInfoOp(ctx, FileInfoRequest{Path: dir + "/l"})
	if err != nil || !res.Exists || res.Entry.Type != FileTypeSymlink || res.Entry.Target != "f" {
		t.Errorf("file_info link: %+v %v", res, err)
	}
	res, err = fileInfoOp(ctx, FileInfoRequest{Path: dir + "/f"})
	if err != nil || res.Entry.Type != FileTypeFile || res.Entry.Size != 3 {
		t.Errorf("file_info file: %+v %v", res, err)
	}

	// mkdir
	_, err = mkdirOp(ctx, MkdirRequest{Path: dir + "/a/b"})
	wantKind(t, err, "not_found")
	if m, err := mkdirOp(ctx, MkdirRequest{Path: dir + "/a/b", Recursive: true}); err != nil || !m.Created {
		t.Fatalf("mkdir -p: %+v %v", m, err)
	}
	if m, err := mkdirOp(ctx, MkdirRequest{Path: dir + "/a/b", Recursive: true}); err != nil || m.Created {
		t.Fatalf("mkdir -p existing: %+v %v", m, err)
	}
	_, err = mkdirOp(ctx, MkdirRequest{Path: dir + "/a/b"})
	wantKind(t, err, "exists")
	_, err = mkdirOp(ctx, MkdirRequest{Path: dir + "/f", Recursive: true})
	wantKind(t, err, "exists")
	_, err = mkdirOp(ctx, MkdirRequest{Path: dir + "/f/x", Recursive: true})
	wantKind(t, err, "not_directory")

	// delete
	writeTestFile(t, dir+"/a/b/c", "c")
	_, err = deleteFileOp(ctx, DeleteFileRequest{Path: dir + "/a"})
	wantKind(t, err, "is_directory")
	if _, err := os.Stat(dir + "/a/b/c"); err != nil {
		t.Fatalf("refused delete removed something: %v", err)
	}
	if d, err := deleteFileOp(ctx, DeleteFileRequest{Path: dir + "/l"}); err != nil || d.Type != FileTypeSymlink {
		t.Fatalf("delete link: %+v %v", d, err)
	}
	if _, err := os.Stat(dir + "/f"); err != nil {
		t.Fatalf("deleting a link removed its target: %v", err)
	}
	if d, err := deleteFileOp(ctx, DeleteFileRequest{Path: dir + "/a", Recursive: true}); err != nil || d.Type != FileTypeDirectory {
		t.Fatalf("delete -r: %+v %v", d, err)
	}
	if _, err := os.Lstat(dir + "/a"); !os.IsNotExist(err) {
		t.Fatalf("still there: %v", err)
	}
	_, err = deleteFileOp(ctx, DeleteFileRequest{Path: dir + "/a"})
	wantKind(t, err, "not_found")
	_, err = deleteFileOp(ctx, DeleteFileRequest{Path: "/", Recursive: true})
	wantKind(t, err, "invalid")
}

func TestMoveFileOp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeTestFile(t, dir+"/a/f", "f")
	writeTestFile(t, dir+"/a/g", "g")
	writeTestFile(t, dir+"/d/x", "x")

	if _, err := moveFileOp(ctx, MoveFileRequest{Source: dir + "/a/f", Destination: dir + "/b/c/f2"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dir + "/b/c/f2"); string(got) != "f" {
		t.Fatalf("moved content %q", got)
	}
	if _, err := os.Lstat(dir + "/a/f"); !os.IsNotExist(err) {
		t.Fatal("source still there")
	}
	_, err := moveFileOp(ctx, MoveFileRequest{Source: dir + "/a/g", Destination: dir + "/b/c/f2"})
	wantKind(t, err, "exists")
	if got, _ := os.ReadFile(dir + "/b/c/f2"); string(got) != "f" {
		t.Fatalf("refused move changed destination to %q", got)
	}
	if _, err := moveFileOp(ctx, MoveFileRequest{Source: dir + "/a/g", Destination: dir + "/b/c/f2", Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dir + "/b/c/f2"); string(got) != "g" {
		t.Fatalf("overwritten content %q", got)
	}
	_, err = moveFileOp(ctx, MoveFileRequest{Source: dir + "/nope", Destination: dir + "/x"})
	wantKind(t, err, "not_found")
	_, err = moveFileOp(ctx, MoveFileRequest{Source: dir + "/b/c/f2", Destination: dir + "/d", Overwrite: true})
	wantKind(t, err, "is_directory")
	_, err = moveFileOp(ctx, MoveFileRequest{Source: dir + "/d", Destination: dir + "/d/inside"})
	wantKind(t, err, "invalid")
	if r, err := moveFileOp(ctx, MoveFileRequest{Source: dir + "/d", Destination: dir + "/e"}); err != nil || r.Type != FileTypeDirectory {
		t.Fatalf("move dir: %+v %v", r, err)
	}
}

func TestMoveFileAcrossFilesystems(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	other, err := os.MkdirTemp("/dev/shm", "sbx-move-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(other) })
	var s1, s2 unix.Stat_t
	unix.Stat(src, &s1)
	unix.Stat(other, &s2)
	if s1.Dev == s2.Dev {
		t.Skip("/dev/shm is on the same filesystem as the temp dir")
	}
	writeTestFile(t, src+"/tree/a.sh", "#!/bin/sh\n")
	os.Chmod(src+"/tree/a.sh", 0o751)
	writeTestFile(t, src+"/tree/sub/b", "b")
	os.Symlink("sub/b", src+"/tree/lb")
	r, err := moveFileOp(ctx, MoveFileRequest{Source: src + "/tree", Destination: other + "/moved"})
	if err != nil || !r.Copied {
		t.Fatalf("move across: %+v %v", r, err)
	}
	if _, err := os.Lstat(src + "/tree"); !os.IsNotExist(err) {
		t.Fatal("source still there")
	}
	fi, err := os.Stat(other + "/moved/a.sh")
	if err != nil || fi.Mode().Perm() != 0o751 {
		t.Fatalf("a.sh: %v %v", fi, err)
	}
	if got, _ := os.ReadFile(other + "/moved/lb"); string(got) != "b" {
		t.Fatalf("symlink in tree: %q", got)
	}
	writeTestFile(t, src+"/f", "new")
	writeTestFile(t, other+"/f", "old")
	_, err = moveFileOp(ctx, MoveFileRequest{Source: src + "/f", Destination: other + "/f"})
	wantKind(t, err, "exists")
	if _, err := moveFileOp(ctx, MoveFileRequest{Source: src + "/f", Destination: other + "/f", Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(other + "/f"); string(got) != "new" {
		t.Fatalf("got %q", got)
	}
	ents, _ := os.ReadDir(other)
	if len(ents) != 2 {
		t.Fatalf("leftovers in destination: %v", ents)
	}
}

func BenchmarkListFilesOp10k(b *testing.B) {
	dir := b.TempDir()
	for i := range 100 {
		d := fmt.Sprintf("%s/d%03d", dir, i)
		os.Mkdir(d, 0o755)
		for j := range 99 {
			os.WriteFile(fmt.Sprintf("%s/f%03d.txt", d, j), nil, 0o644)
		}
	}
	for b.Loop() {
		var buf bytes.Buffer
		if _, err := listFilesOp(context.Background(), ListFilesRequest{Path: dir, Recursive: true}, &buf); err != nil {
			b.Fatal(err)
		}
		es, _ := decodeEntries(&buf)
		if len(es) != 10000 {
			b.Fatal(len(es))
		}
	}
}

func BenchmarkReadFileOp1MiB(b *testing.B) {
	p := b.TempDir() + "/1m"
	os.WriteFile(p, bytes.Repeat([]byte("abcdefghijklmno\n"), 1<<16), 0o644)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if _, err := readFileOp(context.Background(), ReadFileRequest{Path: p}, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(1 << 20)
}

func BenchmarkWriteFileOp1MiB(b *testing.B) {
	p := b.TempDir() + "/1m"
	data := bytes.Repeat([]byte("abcdefghijklmno\n"), 1<<16)
	for b.Loop() {
		req := WriteFileRequest{Path: p, Size: int64(len(data))}
		if _, err := writeFileOp(context.Background(), req, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(1 << 20)
}
