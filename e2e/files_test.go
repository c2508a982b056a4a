package e2e_test

// End-to-end tests of the file tools through the real binary and the
// official Go SDK client. The workdir is the same path inside the sandbox
// and outside, so the test prepares and inspects files directly.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/e2e"
)

const png1x1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

type readResult struct {
	Content    string `json:"content"`
	Encoding   string `json:"encoding"`
	MimeType   string `json:"mime_type"`
	Size       int64  `json:"size"`
	IsBinary   bool   `json:"is_binary"`
	Truncated  bool   `json:"truncated"`
	NextOffset int64  `json:"next_offset"`
}

type entry struct {
	Name          string `json:"name"`
	Path          string `json:"path"`
	RelativePath  string `json:"relative_path"`
	Type          string `json:"type"`
	Size          int64  `json:"size"`
	Mode          string `json:"mode"`
	ModifiedAt    string `json:"modified_at"`
	SymlinkTarget string `json:"symlink_target"`
}

type listResult struct {
	Path      string  `json:"path"`
	Entries   []entry `json:"entries"`
	Truncated bool    `json:"truncated"`
}

func connectFiles(t testing.TB, flags ...string) (*mcp.ClientSession, string) {
	t.Helper()
	dir := t.TempDir()
	return e2e.Connect(t, append([]string{"--workdir=" + dir}, flags...)...), dir
}

func readFile(t testing.TB, cs *mcp.ClientSession, args map[string]any) (readResult, *mcp.CallToolResult) {
	t.Helper()
	res := e2e.CallOK(t, cs, "read_file", args)
	var r readResult
	e2e.Structured(t, res, &r)
	return r, res
}

func wantToolError(t *testing.T, res *mcp.CallToolResult, parts ...string) {
	t.Helper()
	if !res.IsError {
		t.Fatalf("want isError, got %s", e2e.Text(res))
	}
	text := e2e.Text(res)
	for _, p := range parts {
		if !strings.Contains(text, p) {
			t.Errorf("error %q does not contain %q", text, p)
		}
	}
}

func TestFilesRoundTrip(t *testing.T) {
	cs, dir := connectFiles(t)

	t.Run("unicode", func(t *testing.T) {
		text := "héllo wörld 🌍 — 日本語\nzweite Zeile\t✓\n"
		res := e2e.CallOK(t, cs, "write_file", map[string]any{"path": "uni/dir/ü.txt", "content": text})
		var w struct {
			Path         string `json:"path"`
			BytesWritten int64  `json:"bytes_written"`
		}
		e2e.Structured(t, res, &w)
		if w.Path != filepath.Join(dir, "uni/dir/ü.txt") || w.BytesWritten != int64(len(text)) {
			t.Errorf("write result %+v", w)
		}
		if got, err := os.ReadFile(filepath.Join(dir, "uni/dir/ü.txt")); err != nil || string(got) != text {
			t.Fatalf("on disk: %q %v", got, err)
		}
		r, res := readFile(t, cs, map[string]any{"path": "uni/dir/ü.txt"})
		if r.Content != text || r.Encoding != "utf-8" || r.IsBinary || r.Truncated || r.Size != int64(len(text)) || r.MimeType != "text/plain" {
			t.Errorf("read %+v", r)
		}
		if e2e.Text(res) != text {
			t.Errorf("text block %q", e2e.Text(res))
		}
	})

	t.Run("png", func(t *testing.T) {
		e2e.CallOK(t, cs, "write_file", map[string]any{"path": dir + "/img/dot.png", "content": png1x1, "encoding": "base64"})
		want, _ := base64.StdEncoding.DecodeString(png1x1)
		if got, _ := os.ReadFile(dir + "/img/dot.png"); !bytes.Equal(got, want) {
			t.Fatalf("on disk %x", got)
		}
		r, res := readFile(t, cs, map[string]any{"path": "img/dot.png"})
		if r.Content != png1x1 || r.Encoding != "base64" || r.MimeType != "image/png" || !r.IsBinary {
			t.Errorf("read %+v", r)
		}
		var img *mcp.ImageContent
		for _, c := range res.Content {
			if ic, ok := c.(*mcp.ImageContent); ok {
				img = ic
			}
		}
		if img == nil || img.MIMEType != "image/png" || !bytes.Equal(img.Data, want) {
			t.Errorf("image block %+v", img)
		}
	})

	t.Run("append and mode", func(t *testing.T) {
		e2e.CallOK(t, cs, "write_file", map[string]any{"path": "log.txt", "content": "a\n", "mode": "0600"})
		e2e.CallOK(t, cs, "write_file", map[string]any{"path": "log.txt", "content": "b\n", "append": true})
		r, _ := readFile(t, cs, map[string]any{"path": "log.txt"})
		if r.Content != "a\nb\n" {
			t.Errorf("content %q", r.Content)
		}
		e2e.CallOK(t, cs, "write_file", map[string]any{"path": "log.txt", "content": "replaced"})
		fi, err := os.Stat(dir + "/log.txt")
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("mode after replace: %v %v", fi.Mode(), err)
		}
	})

	t.Run("invalid input", func(t *testing.T) {
		wantToolError(t, e2e.Call(t, cs, "write_file", map[string]any{"path": "x.bin", "content": "not base64!", "encoding": "base64"}), "not valid base64")
		wantToolError(t, e2e.Call(t, cs, "write_file", map[string]any{"path": "x.txt", "content": "x", "mode": "rw-r--r--"}), `"0644"`)
		if _, err := os.Lstat(dir + "/x.bin"); !os.IsNotExist(err) {
			t.Errorf("a refused write created the file")
		}
	})

	t.Run("paging", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789"), 300_000) // 3 MB: more than one page
		os.WriteFile(dir+"/big.txt", big, 0o644)
		var got []byte
		offset := int64(0)
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			// pages of the largest length (the default is 32 KiB)
			r, _ := readFile(t, cs, map[string]any{"path": "big.txt", "offset": offset, "length": 2 << 20})
			got = append(got, r.Content...)
			if !r.Truncated {
				break
			}
			offset = r.NextOffset
		}
		if !bytes.Equal(got, big) {
			t.Errorf("paged read differs: %d bytes, want %d", len(got), len(big))
		}
	})

	t.Run("errors", func(t *testing.T) {
		wantToolError(t, e2e.Call(t, cs, "read_file", map[string]any{"path": "nope.txt"}), dir+"/nope.txt", "no such file")
		os.Mkdir(dir+"/adir", 0o755)
		wantToolError(t, e2e.Call(t, cs, "read_file", map[string]any{"path": "adir"}), "list_files")
		os.WriteFile(dir+"/bin.dat", []byte{0xff, 0xfe, 0x00}, 0o644)
		wantToolError(t, e2e.Call(t, cs, "read_file", map[string]any{"path": "bin.dat", "encoding": "utf-8"}), "base64")
		wantToolError(t, e2e.Call(t, cs, "list_files", map[string]any{"path": "nope"}), "no such directory")
		wantToolError(t, e2e.Call(t, cs, "list_files", map[string]any{"path": "log.txt"}), "not a directory")
	})
}

// FIFOs and devices are refused at once; "does not hang" limits only.
func TestFilesSpecialFilesDoNotBlock(t *testing.T) {
	cs, dir := connectFiles(t)
	if err := unix.Mkfifo(dir+"/fifo", 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{dir + "/fifo", "FIFO"},
		{"/dev/zero", "character device"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": tc.path}})
		cancel()
		if err != nil {
			t.Fatalf("read_file %s: %v", tc.path, err)
		}
		wantToolError(t, res, tc.path, tc.want, "not a regular file")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "write_file", Arguments: map[string]any{"path": "fifo", "content": "x", "append": true}})
	if err != nil {
		t.Fatal(err)
	}
	wantToolError(t, res, "not a regular file")
}

func TestFilesListing(t *testing.T) {
	cs, dir := connectFiles(t)
	for p, c := range map[string]string{"src/utils/x.js": "x", "src/main.js": "main", ".git/config": "[core]", "README.md": "# hi", ".env": "A=1"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644)
	}
	os.Symlink("src", dir+"/srclink")
	os.Symlink(".", dir+"/src/loop")

	list := func(args map[string]any) listResult {
		t.Helper()
		var r listResult
		e2e.Structured(t, e2e.CallOK(t, cs, "list_files", args), &r)
		return r
	}
	rels := func(r listResult) []string {
		var out []string
		for _, e := range r.Entries {
			out = append(out, e.RelativePath)
		}
		slices.Sort(out)
		return out
	}

	r := list(map[string]any{"path": ".", "recursive": true})
	want := []string{"README.md", "src", "src/loop", "src/main.js", "src/utils", "src/utils/x.js", "srclink"}
	if got := rels(r); !slices.Equal(got, want) {
		t.Errorf("recursive: %v, want %v", got, want)
	}
	if r.Path != dir || r.Truncated {
		t.Errorf("path %q truncated %v", r.Path, r.Truncated)
	}
	for _, e := range r.Entries {
		switch e.RelativePath {
		case "src/utils/x.js":
			if e.Name != "x.js" || e.Path != dir+"/src/utils/x.js" || e.Type != "file" || e.Size != 1 || e.Mode != "rw-r--r--" {
				t.Errorf("x.js entry %+v", e)
			}
			if mt, err := time.Parse(time.RFC3339, e.ModifiedAt); err != nil || time.Since(mt) > time.Hour {
				t.Errorf("modified_at %q: %v", e.ModifiedAt, err)
			}
		case "srclink":
			if e.Type != "symlink" || e.SymlinkTarget != "src" {
				t.Errorf("symlink entry %+v", e)
			}
		case "src/utils":
			if e.Type != "directory" {
				t.Errorf("dir entry %+v", e)
			}
		}
	}

	r = list(map[string]any{"recursive": true, "include_hidden": true})
	if got := rels(r); !slices.Contains(got, ".git/config") || !slices.Contains(got, ".env") {
		t.Errorf("include_hidden: %v", got)
	}
	if got := rels(list(map[string]any{"path": ".git"})); !slices.Equal(got, []string{"config"}) {
		t.Errorf("hidden dir itself: %v", got)
	}
	if r := list(map[string]any{"path": ".", "recursive": true, "max_entries": 2}); len(r.Entries) != 2 || !r.Truncated {
		t.Errorf("max_entries 2: %d entries, truncated %v", len(r.Entries), r.Truncated)
	}
}

func TestFilesManage(t *testing.T) {
	cs, dir := connectFiles(t)
	os.MkdirAll(dir+"/tree/sub", 0o755)
	os.WriteFile(dir+"/tree/sub/f", []byte("f"), 0o644)
	os.WriteFile(dir+"/a.txt", []byte("a"), 0o644)

	wantToolError(t, e2e.Call(t, cs, "delete_file", map[string]any{"path": "tree"}), "recursive")
	if _, err := os.Stat(dir + "/tree/sub/f"); err != nil {
		t.Fatalf("refused delete removed something: %v", err)
	}

	e2e.CallOK(t, cs, "move_file", map[string]any{"source": "a.txt", "destination": "moved/deep/b.txt"})
	if got, _ := os.ReadFile(dir + "/moved/deep/b.txt"); string(got) != "a" {
		t.Errorf("moved content %q", got)
	}
	os.WriteFile(dir+"/c.txt", []byte("c"), 0o644)
	wantToolError(t, e2e.Call(t, cs, "move_file", map[string]any{"source": "c.txt", "destination": "moved/deep/b.txt"}), "overwrite")
	e2e.CallOK(t, cs, "move_file", map[string]any{"source": "c.txt", "destination": "moved/deep/b.txt", "overwrite": true})
	if got, _ := os.ReadFile(dir + "/moved/deep/b.txt"); string(got) != "c" {
		t.Errorf("overwritten content %q", got)
	}

	// Across filesystems (the workdir and /dev/shm's tmpfs on a usual host):
	// a tree goes over and back intact.
	os.MkdirAll(dir+"/xfs/sub", 0o755)
	os.WriteFile(dir+"/xfs/sub/f", []byte("cross"), 0o640)
	shm := fmt.Sprintf("/dev/shm/sbx-e2e-files-%d", time.Now().UnixNano())
	t.Cleanup(func() { os.RemoveAll(shm) })
	var mv struct {
		Copied bool `json:"copied"`
	}
	e2e.Structured(t, e2e.CallOK(t, cs, "move_file", map[string]any{"source": "xfs", "destination": shm + "/xfs"}), &mv)
	t.Logf("move to /dev/shm copied=%v", mv.Copied)
	e2e.CallOK(t, cs, "move_file", map[string]any{"source": shm + "/xfs", "destination": "xfs-back"})
	if got, err := os.ReadFile(dir + "/xfs-back/sub/f"); err != nil || string(got) != "cross" {
		t.Errorf("tree moved across and back: %q %v", got, err)
	}
	if fi, err := os.Stat(dir + "/xfs-back/sub/f"); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after moving across: %v", err)
	}

	var info struct {
		Exists bool   `json:"exists"`
		Path   string `json:"path"`
		Type   string `json:"type"`
		Size   int64  `json:"size"`
		Mode   string `json:"mode"`
	}
	res := e2e.CallOK(t, cs, "file_info", map[string]any{"path": "missing/thing"})
	e2e.Structured(t, res, &info)
	if info.Exists || info.Path != dir+"/missing/thing" {
		t.Errorf("file_info missing: %+v", info)
	}
	e2e.Structured(t, e2e.CallOK(t, cs, "file_info", map[string]any{"path": "moved/deep/b.txt"}), &info)
	if !info.Exists || info.Type != "file" || info.Size != 1 || info.Mode != "rw-r--r--" {
		t.Errorf("file_info: %+v", info)
	}

	e2e.CallOK(t, cs, "mkdir", map[string]any{"path": "m/n/o", "recursive": true})
	wantToolError(t, e2e.Call(t, cs, "mkdir", map[string]any{"path": "p/q"}), "recursive")
	if fi, err := os.Stat(dir + "/m/n/o"); err != nil || !fi.IsDir() {
		t.Errorf("mkdir: %v", err)
	}
	e2e.CallOK(t, cs, "delete_file", map[string]any{"path": "tree", "recursive": true})
	if _, err := os.Lstat(dir + "/tree"); !os.IsNotExist(err) {
		t.Errorf("tree still there: %v", err)
	}
	wantToolError(t, e2e.Call(t, cs, "delete_file", map[string]any{"path": "tree"}), dir+"/tree", "no such file")
}

// Relative paths follow the session's cwd, changed by cd in exec.
func TestFilesRelativeToSessionCwd(t *testing.T) {
	cs, dir := connectFiles(t)
	e2e.CallOK(t, cs, "exec", map[string]any{"command": "mkdir -p work/here && cd work/here"})
	e2e.CallOK(t, cs, "write_file", map[string]any{"path": "rel.txt", "content": "r"})
	if got, err := os.ReadFile(dir + "/work/here/rel.txt"); err != nil || string(got) != "r" {
		t.Fatalf("relative write after cd: %q %v", got, err)
	}
	e2e.CallOK(t, cs, "create_session", map[string]any{"id": "other"})
	r, _ := readFile(t, cs, map[string]any{"path": "work/here/rel.txt", "session": "other"})
	if r.Content != "r" {
		t.Errorf("other session read %q", r.Content)
	}
	wantToolError(t, e2e.Call(t, cs, "read_file", map[string]any{"path": "x", "session": "no-such-session"}), "create_session")
}

// read_file runs inside the sandbox: /proc/self is the sandbox's, and the
// server's environment never shows there.
func TestFilesProcIsTheSandboxes(t *testing.T) {
	const canary = "sbx-files-canary-5f2e9c"
	t.Setenv("SBX_FILES_CANARY", canary)
	cs, _ := connectFiles(t)
	for _, p := range []string{"/proc/self/environ", "/proc/1/environ"} {
		r, _ := readFile(t, cs, map[string]any{"path": p, "encoding": "base64"})
		env, err := base64.StdEncoding.DecodeString(r.Content)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(env, []byte(canary)) {
			t.Errorf("%s shows the server's environment: %q", p, env)
		}
		t.Logf("%s in the sandbox: %q", p, env)
	}
	// The op runs in the sandbox's init: PID 1 of its PID namespace.
	var info struct {
		Level string `json:"level"`
	}
	e2e.Structured(t, e2e.CallOK(t, cs, "sandbox_info", nil), &info)
	t.Logf("isolation level %s", info.Level)
	if info.Level == "full" || info.Level == "userns" {
		st, _ := readFile(t, cs, map[string]any{"path": "/proc/self/status"})
		if !strings.Contains(st.Content, "\nPid:\t1\n") {
			t.Errorf("/proc/self/status is not the sandbox init's:\n%s", st.Content)
		}
	}
	// The server's own environ holds the canary: a read done in the server's
	// process would have shown it, so the check above can fail. Run
	// unprivileged, the server is non-dumpable and its environ is root's to
	// read: then rely on the server inheriting this process's environment.
	found, readable := serverEnvHas(t, canary)
	switch {
	case readable && !found:
		t.Fatal("canary not found in the server's /proc/<pid>/environ")
	case !readable:
		t.Logf("the server's environ is not readable by uid %d (non-dumpable server)", os.Geteuid())
		if os.Getenv("SBX_FILES_CANARY") != canary {
			t.Fatal("canary not in the environment the server inherits")
		}
	}
}

// serverEnvHas reports whether an sbx-mcp child of this test process has s
// in its initial environment, and whether any child's environ was readable.
func serverEnvHas(t *testing.T, s string) (found, readable bool) {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		var state string
		var ppid int
		if _, err := fmt.Sscan(rest, &state, &ppid); err != nil || ppid != os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		readable = true
		if bytes.Contains(env, []byte(s)) {
			return true, true
		}
	}
	return false, readable
}

// A symlink swapped between two targets while writing through it: every
// write lands whole in one of them, the link stays a link and no stray
// file appears.
func TestFilesSymlinkSwapRace(t *testing.T) {
	cs, dir := connectFiles(t)
	ws := dir + "/race"
	os.Mkdir(ws, 0o755)
	for _, n := range []string{"t1", "t2"} {
		os.WriteFile(ws+"/"+n, []byte("start"), 0o644)
	}
	os.Symlink("t1", ws+"/link")
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			os.Symlink([]string{"t1", "t2"}[i%2], ws+"/link.new")
			os.Rename(ws+"/link.new", ws+"/link")
		}
	})
	payload := strings.Repeat("payload ", 8192)
	for i := range 100 {
		res := e2e.Call(t, cs, "write_file", map[string]any{"path": "race/link", "content": fmt.Sprintf("%d %s", i, payload)})
		if res.IsError {
			t.Errorf("write %d: %s", i, e2e.Text(res))
		}
	}
	stop.Store(true)
	wg.Wait()
	ents, _ := os.ReadDir(ws)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "link t1 t2" {
		t.Errorf("race dir holds %v", names)
	}
	if fi, err := os.Lstat(ws + "/link"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link was replaced: %v", err)
	}
	for _, n := range []string{"t1", "t2"} {
		got, _ := os.ReadFile(ws + "/" + n)
		if string(got) != "start" && !strings.HasSuffix(string(got), payload) {
			t.Errorf("%s holds a torn write (%d bytes)", n, len(got))
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("workdir holds more than race/: %v", ents)
	}
}

func TestFilesReadOnly(t *testing.T) {
	cs, _ := connectFiles(t, "--read-only")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lt, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, tl := range lt.Tools {
		have[tl.Name] = true
	}
	for _, n := range []string{"list_files", "read_file", "file_info"} {
		if !have[n] {
			t.Errorf("--read-only hides %s", n)
		}
	}
	for _, n := range []string{"write_file", "mkdir", "delete_file", "move_file"} {
		if have[n] {
			t.Errorf("--read-only still offers %s", n)
		}
	}
}

// Benchmarks through the real binary (DESIGN §6: read_file 1 MiB p50 ≤ 3 ms,
// write_file 1 MiB p50 ≤ 5 ms, list_files 10 000 entries ≤ 50 ms).

func BenchmarkReadFile1MiB(b *testing.B) {
	cs, dir := connectFiles(b)
	os.WriteFile(dir+"/1m.txt", bytes.Repeat([]byte("abcdefghijklmno\n"), 1<<16), 0o644)
	args := map[string]any{"path": "1m.txt"}
	for b.Loop() {
		if res := e2e.Call(b, cs, "read_file", args); res.IsError {
			b.Fatal(e2e.Text(res))
		}
	}
	b.SetBytes(1 << 20)
}

func BenchmarkWriteFile1MiB(b *testing.B) {
	cs, _ := connectFiles(b)
	args := map[string]any{"path": "1m.txt", "content": strings.Repeat("abcdefghijklmno\n", 1<<16)}
	for b.Loop() {
		if res := e2e.Call(b, cs, "write_file", args); res.IsError {
			b.Fatal(e2e.Text(res))
		}
	}
	b.SetBytes(1 << 20)
}

func BenchmarkListFiles10k(b *testing.B) {
	cs, dir := connectFiles(b)
	for i := range 100 {
		d := fmt.Sprintf("%s/tree/d%03d", dir, i)
		os.MkdirAll(d, 0o755)
		for j := range 99 {
			os.WriteFile(fmt.Sprintf("%s/f%03d.txt", d, j), nil, 0o644)
		}
	}
	args := map[string]any{"path": "tree", "recursive": true, "max_entries": 10000}
	for b.Loop() {
		res := e2e.Call(b, cs, "list_files", args)
		if res.IsError {
			b.Fatal(e2e.Text(res))
		}
	}
}

// Raw variants: the same calls as single JSON-RPC lines over the stdio pipe,
// the response decoded into a struct (no SDK client in the measurement).

func rawCall(b *testing.B, r *e2e.Raw, id int, tool string, args map[string]any, out any) {
	b.Helper()
	line, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{"name": tool, "arguments": args}})
	r.Send(b, string(line))
	var resp struct {
		Result struct {
			IsError           bool            `json:"isError"`
			StructuredContent json.RawMessage `json:"structuredContent"`
		} `json:"result"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(r.Recv(b, time.Minute), &resp); err != nil || resp.Error != nil || resp.Result.IsError {
		b.Fatalf("%s: %v %s", tool, err, resp.Error)
	}
	if err := json.Unmarshal(resp.Result.StructuredContent, out); err != nil {
		b.Fatal(err)
	}
}

func startRawFiles(b *testing.B) (*e2e.Raw, string) {
	dir := b.TempDir()
	r := e2e.StartRaw(b, "--workdir="+dir)
	r.Initialize(b, "2025-11-25")
	return r, dir
}

func BenchmarkRawReadFile1MiB(b *testing.B) {
	r, dir := startRawFiles(b)
	os.WriteFile(dir+"/1m.txt", bytes.Repeat([]byte("abcdefghijklmno\n"), 1<<16), 0o644)
	args := map[string]any{"path": dir + "/1m.txt"}
	id := 1
	for b.Loop() {
		var out readResult
		rawCall(b, r, id, "read_file", args, &out)
		id++
	}
	b.SetBytes(1 << 20)
}

func BenchmarkRawWriteFile1MiB(b *testing.B) {
	r, dir := startRawFiles(b)
	args := map[string]any{"path": dir + "/1m.txt", "content": strings.Repeat("abcdefghijklmno\n", 1<<16)}
	id := 1
	for b.Loop() {
		var out struct {
			BytesWritten int64 `json:"bytes_written"`
		}
		rawCall(b, r, id, "write_file", args, &out)
		id++
	}
	b.SetBytes(1 << 20)
}

func BenchmarkRawListFiles10k(b *testing.B) {
	r, dir := startRawFiles(b)
	for i := range 100 {
		d := fmt.Sprintf("%s/tree/d%03d", dir, i)
		os.MkdirAll(d, 0o755)
		for j := range 99 {
			os.WriteFile(fmt.Sprintf("%s/f%03d.txt", d, j), nil, 0o644)
		}
	}
	args := map[string]any{"path": dir + "/tree", "recursive": true, "max_entries": 10000}
	id := 1
	for b.Loop() {
		var out listResult
		rawCall(b, r, id, "list_files", args, &out)
		if len(out.Entries) != 10000 {
			b.Fatalf("%d entries", len(out.Entries))
		}
		id++
	}
}

// A default read_file result stays under ~80 KB however big the file;
// length asks for more.
func TestFilesDefaultReadSmall(t *testing.T) {
	cs, dir := connectFiles(t)
	os.WriteFile(dir+"/big.txt", bytes.Repeat([]byte("0123456789abcde\n"), 64<<10), 0o644) // 1 MiB
	res := e2e.CallOK(t, cs, "read_file", map[string]any{"path": "big.txt"})
	raw, _ := json.Marshal(res)
	var r struct {
		Truncated  bool  `json:"truncated"`
		NextOffset int64 `json:"next_offset"`
	}
	e2e.Structured(t, res, &r)
	if len(raw) > 80_000 || !r.Truncated || r.NextOffset <= 0 {
		t.Fatalf("default read: %d bytes on the wire, truncated %v, next %d", len(raw), r.Truncated, r.NextOffset)
	}
	if full, _ := readFile(t, cs, map[string]any{"path": "big.txt", "length": 2 << 20}); len(full.Content) != 1<<20 {
		t.Fatalf("read with length: %d bytes", len(full.Content))
	}
}
