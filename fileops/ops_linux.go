package fileops

// Op bodies of the file operations (see client_linux.go). They are plain
// functions of a request and a stream, so tests call them in-process; in
// production they run inside the sandbox's init.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// ---- read_file

func readFileOp(ctx context.Context, req ReadFileRequest, w io.Writer) (ReadFileResult, error) {
	const op = opReadFile
	var res ReadFileResult
	f, st, length, err := openForRead(req)
	if err != nil {
		return res, err
	}
	defer f.Close()
	path := req.Path
	if req.Offset > 0 {
		head := make([]byte, 512)
		n, err := f.ReadAt(head, 0)
		if err != nil && err != io.EOF {
			return res, fileOpError(op, path, err)
		}
		res.Head = head[:n]
	}
	// Regular files in /proc and /sys report size 0 but have content: read
	// until EOF rather than trusting st_size.
	n, err := copyRange(ctx, f, req.Offset, length, w)
	res.N = n
	if err != nil {
		return res, err
	}
	off := req.Offset + n
	if res.N == length {
		var one [1]byte
		if n, _ := f.ReadAt(one[:], off); n > 0 {
			res.Truncated = true
		}
	}
	res.Size = st.Size
	if res.N > 0 && off > res.Size {
		res.Size = off // /proc-like files report size 0
	}
	return res, nil
}

// openForRead opens req.Path for read_file: a regular file only, checked
// before the open (a device is never opened) and after it (a swap in
// between is caught). It returns the length to read.
func openForRead(req ReadFileRequest) (*os.File, unix.Stat_t, int64, error) {
	const op = opReadFile
	var st unix.Stat_t
	path := req.Path
	if err := checkAbs(op, path); err != nil {
		return nil, st, 0, err
	}
	if req.Offset < 0 || req.Length < 0 {
		return nil, st, 0, &isolation.OpError{Op: op, Path: path, Kind: "invalid", Msg: "offset and length must not be negative"}
	}
	length := req.Length
	if length == 0 || length > ReadFileMaxBytes {
		length = ReadFileMaxBytes
	}
	if err := unix.Stat(path, &st); err != nil {
		return nil, st, 0, fileOpError(op, path, err)
	}
	if err := readableRegular(op, path, st.Mode); err != nil {
		return nil, st, 0, err
	}
	// O_NONBLOCK keeps the open of a FIFO swapped in from blocking;
	// regular files ignore it.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, st, 0, fileOpError(op, path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, st, 0, fileOpError(op, path, err)
	}
	if err := readableRegular(op, path, st.Mode); err != nil {
		f.Close()
		return nil, st, 0, err
	}
	return f, st, length, nil
}

// openReadOp opens a file for read_file and, when its filesystem is one
// whose reads do not depend on who reads, hands the open file to the
// server, which reads it without another hop. Elsewhere (procfs, sysfs,
// FUSE: reads there may check the reader's credentials or be served by a
// sandboxed daemon that would see the server) it answers Stream, and the
// server asks for the bytes through the read_file op instead.
func openReadOp(ctx context.Context, req ReadFileRequest) (any, error) {
	f, st, _, err := openForRead(req)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil || !passableFS[int64(fs.Type)] {
		return openReadResult{Stream: true}, nil
	}
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, fileOpError(opReadFile, req.Path, err)
	}
	return isolation.FileResult{Value: openReadResult{Size: st.Size}, Fds: []int{fd}}, nil
}

// passableFS are the filesystems whose open files init may hand to the
// server: disk and memory filesystems, whose reads check nothing beyond
// the open done inside the sandbox.
var passableFS = map[int64]bool{
	unix.EXT4_SUPER_MAGIC: true, unix.XFS_SUPER_MAGIC: true, unix.BTRFS_SUPER_MAGIC: true,
	unix.TMPFS_MAGIC: true, unix.RAMFS_MAGIC: true, unix.OVERLAYFS_SUPER_MAGIC: true,
	unix.F2FS_SUPER_MAGIC: true, unix.SQUASHFS_MAGIC: true, unix.EROFS_SUPER_MAGIC_V1: true,
}

// copyRange sends up to length bytes of f from off to w, stopping early at
// EOF. When w is a pipe the bytes are spliced (the page cache's pages go
// into the pipe without a copy through user space); otherwise, or where
// f's filesystem cannot splice, they are read into a buffer and written.
func copyRange(ctx context.Context, f *os.File, off, length int64, w io.Writer) (int64, error) {
	const op = opReadFile
	n, err := spliceRange(ctx, f, off, length, w)
	if err != nil || n == length {
		return n, err
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for n < length {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		chunk := buf[:min(int64(len(buf)), length-n)]
		k, err := f.ReadAt(chunk, off+n)
		if k > 0 {
			if _, werr := w.Write(chunk[:k]); werr != nil {
				return n, &isolation.OpError{Op: op, Path: f.Name(), Kind: "io", Msg: "stream to server: " + werr.Error()}
			}
			n += int64(k)
		}
		if err == io.EOF || (k == 0 && err == nil) {
			break
		}
		if err != nil {
			return n, fileOpError(op, f.Name(), err)
		}
	}
	return n, nil
}

// copyBufs holds copyRange's buffers.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// spliceRange splices up to length bytes of f from off into w when w is a
// pipe. It returns early, with what it moved, at EOF or where splicing
// does not apply (EINVAL: w is not a pipe or f's filesystem cannot
// splice); copyRange carries on from there.
func spliceRange(ctx context.Context, f *os.File, off, length int64, w io.Writer) (int64, error) {
	const op = opReadFile
	pw, ok := w.(*os.File)
	if !ok {
		return 0, nil
	}
	rc, err := pw.SyscallConn()
	if err != nil {
		return 0, nil
	}
	src := int(f.Fd())
	var n int64
	for n < length {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var k int64
		var serr error
		pos := off + n
		werr := rc.Write(func(fd uintptr) bool {
			k, serr = unix.Splice(src, &pos, int(fd), nil, int(length-n), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			return serr != unix.EAGAIN
		})
		switch {
		case werr != nil:
			return n, &isolation.OpError{Op: op, Path: f.Name(), Kind: "io", Msg: "stream to server: " + werr.Error()}
		case serr == unix.EINVAL:
			return n, nil
		case serr == unix.EPIPE:
			return n, &isolation.OpError{Op: op, Path: f.Name(), Kind: "io", Msg: "stream to server: " + serr.Error()}
		case serr != nil:
			return n, fileOpError(op, f.Name(), serr)
		case k == 0:
			return n, nil // EOF
		}
		n += k
	}
	return n, nil
}

func readableRegular(op, path string, mode uint32) error {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return nil
	case unix.S_IFDIR:
		return &isolation.OpError{Op: op, Path: path, Kind: isolation.KindIsDirectory, Msg: "is a directory", Errno: unix.EISDIR}
	}
	return &isolation.OpError{Op: op, Path: path, Kind: "not_regular", Msg: "is " + describeType(mode) + ", not a regular file; only regular files can be read"}
}

// ---- write_file

// resolveFinal follows symlinks at the last component of path until it
// names something that is not a symlink (or does not exist) and returns that
// path with its lstat (ok false when it does not exist).
func resolveFinal(op, path string) (string, unix.Stat_t, bool, error) {
	var st unix.Stat_t
	p := path
	for range 40 {
		err := unix.Lstat(p, &st)
		if err == unix.ENOENT {
			return p, st, false, nil
		}
		if err != nil {
			return p, st, false, fileOpError(op, path, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			return p, st, true, nil
		}
		t, err := os.Readlink(p)
		if err != nil {
			return p, st, false, fileOpError(op, path, err)
		}
		if !filepath.IsAbs(t) {
			// Not filepath.Join: ".." in t must be resolved by the kernel
			// against the real parent, which may itself be a symlink.
			t = splitDir(p) + "/" + t
		}
		p = t
	}
	return p, st, false, fileOpError(op, path, unix.ELOOP)
}

// splitDir returns the directory part of the absolute path p without
// cleaning it lexically ("/" for a top-level name).
func splitDir(p string) string {
	i := strings.LastIndexByte(strings.TrimRight(p, "/"), '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

func writeFileOp(ctx context.Context, req WriteFileRequest, r io.Reader) (WriteFileResult, error) {
	const op = opWriteFile
	var res WriteFileResult
	path := req.Path
	if err := checkAbs(op, path); err != nil {
		return res, err
	}
	if req.HasMode && req.Mode&^07777 != 0 {
		return res, &isolation.OpError{Op: op, Path: path, Kind: "invalid", Msg: fmt.Sprintf("mode %#o has bits outside 07777", req.Mode)}
	}
	final, st, exists, err := resolveFinal(op, path)
	if err != nil {
		return res, err
	}
	if final != path {
		res.Target = final
		if d, err := filepath.EvalSymlinks(splitDir(final)); err == nil {
			res.Target = filepath.Join(d, filepath.Base(final))
		}
	}
	if exists {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
		case unix.S_IFDIR:
			return res, &isolation.OpError{Op: op, Path: path, Kind: isolation.KindIsDirectory, Msg: "is a directory", Errno: unix.EISDIR}
		default:
			return res, &isolation.OpError{Op: op, Path: path, Kind: "not_regular", Msg: "is " + describeType(st.Mode) + ", not a regular file; refusing to write to it"}
		}
	}
	if err := mkdirParents(op, path, splitDir(final)); err != nil {
		return res, err
	}
	res.Created = !exists
	mode := uint32(0o644)
	switch {
	case req.HasMode:
		mode = req.Mode
	case exists:
		mode = st.Mode & 07777
	}
	if req.Append {
		n, err := appendFile(ctx, op, path, final, mode, req, r)
		res.BytesWritten = n
		return res, err
	}
	n, err := replaceFile(ctx, op, path, final, mode, exists, &st, req.Size, r)
	res.BytesWritten = n
	return res, err
}

// mkdirParents creates dir and its parents (mode 0755) for a write to path.
func mkdirParents(op, path, dir string) error {
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EEXIST) {
		return &isolation.OpError{Op: op, Path: path, Kind: "not_directory", Msg: "a parent of the path exists and is not a directory"}
	}
	return fileOpError(op, path, err)
}

func appendFile(ctx context.Context, op, path, final string, mode uint32, req WriteFileRequest, r io.Reader) (int64, error) {
	fd, err := unix.Open(final, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		if err == unix.ELOOP || err == unix.ENXIO {
			return 0, &isolation.OpError{Op: op, Path: path, Kind: "invalid", Msg: "changed while being opened (symlink swapped in or FIFO); retry"}
		}
		return 0, fileOpError(op, path, err)
	}
	f := os.NewFile(uintptr(fd), final)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fileOpError(op, path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, &isolation.OpError{Op: op, Path: path, Kind: "not_regular", Msg: "is " + describeType(st.Mode) + ", not a regular file; refusing to write to it"}
	}
	if req.HasMode {
		if err := unix.Fchmod(fd, req.Mode); err != nil {
			return 0, fileOpError(op, path, err)
		}
	}
	// A short stream (the server gave up) is appended as far as it got; an
	// append cannot be made atomic without rewriting the file.
	n, err := copyCtx(ctx, f, r)
	if err != nil {
		return n, fileOpError(op, path, err)
	}
	if n != req.Size {
		return n, &isolation.OpError{Op: op, Path: path, Kind: "io", Msg: fmt.Sprintf("stream ended after %d of %d bytes (cancelled?); %d bytes were appended", n, req.Size, n)}
	}
	return n, nil
}

func replaceFile(ctx context.Context, op, path, final string, mode uint32, exists bool, old *unix.Stat_t, size int64, r io.Reader) (int64, error) {
	dir := splitDir(final)
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := dir + "/." + filepath.Base(final) + ".sbx-" + hex.EncodeToString(rnd[:]) + ".tmp"
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return 0, fileOpError(op, path, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	committed := false
	defer func() {
		f.Close()
		if !committed {
			unix.Unlink(tmp)
		}
	}()
	n, err := copyCtx(ctx, f, r)
	if err != nil {
		return 0, fileOpError(op, path, err)
	}
	if n != size {
		return 0, &isolation.OpError{Op: op, Path: path, Kind: "io", Msg: fmt.Sprintf("stream ended after %d of %d bytes (cancelled?); the file was left unchanged", n, size)}
	}
	if exists {
		// Keep the owner of the file being replaced (best effort: needs
		// CAP_CHOWN for another user's file).
		_ = unix.Fchown(fd, int(old.Uid), int(old.Gid))
	}
	if err := unix.Fchmod(fd, mode); err != nil {
		return 0, fileOpError(op, path, err)
	}
	if err := f.Close(); err != nil {
		return 0, fileOpError(op, path, err)
	}
	if err := unix.Rename(tmp, final); err != nil {
		return 0, fileOpError(op, path, err)
	}
	committed = true
	return n, nil
}

// copyCtx copies r to w, checking ctx between chunks.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := r.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// ---- list_files

// Entry records on the list_files stream, one after another:
//
//	uvarint len(rel) | rel | type byte | varint size | uvarint mode |
//	varint mtime sec | uvarint mtime nsec | uvarint len(target) | target
var typeCodes = map[string]byte{FileTypeFile: 'f', FileTypeDirectory: 'd', FileTypeSymlink: 'l', FileTypeOther: 'o'}

func appendEntry(b []byte, e *FileEntry) []byte {
	b = binary.AppendUvarint(b, uint64(len(e.Rel)))
	b = append(b, e.Rel...)
	b = append(b, typeCodes[e.Type])
	b = binary.AppendVarint(b, e.Size)
	b = binary.AppendUvarint(b, uint64(e.Mode))
	b = binary.AppendVarint(b, e.ModTime.Unix())
	b = binary.AppendUvarint(b, uint64(e.ModTime.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(len(e.Target)))
	b = append(b, e.Target...)
	return b
}

func decodeEntries(r io.Reader) ([]FileEntry, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []FileEntry
	str := func() (string, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return "", err
		}
		if n > 1<<20 {
			return "", errors.New("corrupt entry stream")
		}
		b := make([]byte, n)
		_, err = io.ReadFull(br, b)
		return string(b), err
	}
	for {
		rel, err := str()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		var e FileEntry
		e.Rel = rel
		t, err := br.ReadByte()
		if err != nil {
			return out, noEOF(err)
		}
		switch t {
		case 'f':
			e.Type = FileTypeFile
		case 'd':
			e.Type = FileTypeDirectory
		case 'l':
			e.Type = FileTypeSymlink
		default:
			e.Type = FileTypeOther
		}
		if e.Size, err = binary.ReadVarint(br); err != nil {
			return out, noEOF(err)
		}
		mode, err := binary.ReadUvarint(br)
		if err != nil {
			return out, noEOF(err)
		}
		e.Mode = uint32(mode)
		sec, err := binary.ReadVarint(br)
		if err != nil {
			return out, noEOF(err)
		}
		nsec, err := binary.ReadUvarint(br)
		if err != nil {
			return out, noEOF(err)
		}
		e.ModTime = time.Unix(sec, int64(nsec)).UTC()
		if e.Target, err = str(); err != nil {
			return out, noEOF(err)
		}
		out = append(out, e)
	}
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// listEntryCost estimates the bytes one entry adds to a result (its paths
// appear several times there, plus fixed metadata).
func listEntryCost(root string, e *FileEntry) int {
	return len(root) + 3*len(e.Rel) + len(e.Target) + 160
}

func listFilesOp(ctx context.Context, req ListFilesRequest, w io.Writer) (ListFilesResult, error) {
	const op = opListFiles
	var res ListFilesResult
	root := req.Path
	if err := checkAbs(op, root); err != nil {
		return res, err
	}
	maxEntries := req.MaxEntries
	if maxEntries <= 0 || maxEntries > ListFilesMaxEntries {
		maxEntries = ListFilesMaxEntries
	}
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err != nil {
		if err == unix.ENOENT {
			return res, &isolation.OpError{Op: op, Path: root, Kind: isolation.KindNotFound, Msg: "no such directory", Errno: unix.ENOENT}
		}
		return res, fileOpError(op, root, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return res, &isolation.OpError{Op: op, Path: root, Kind: "not_directory", Msg: "is " + describeOrFile(st.Mode) + ", not a directory", Errno: unix.ENOTDIR}
	}

	bw := bufio.NewWriterSize(w, 64<<10)
	var rec []byte
	count, cost := 0, 0
	queue := []string{""} // breadth-first: directories still to read, relative to root
	for len(queue) > 0 && !res.Truncated {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		relDir := queue[0]
		queue = queue[1:]
		dirPath := root
		flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
		if relDir != "" {
			dirPath = root + "/" + relDir
			flags |= unix.O_NOFOLLOW // never follow a symlink swapped in for a subdirectory
		}
		fd, err := unix.Open(dirPath, flags, 0)
		if err != nil {
			if relDir == "" {
				return res, fileOpError(op, root, err)
			}
			res.Unreadable = append(res.Unreadable, relDir)
			continue
		}
		d := os.NewFile(uintptr(fd), dirPath)
		names, err := d.Readdirnames(-1)
		if err != nil {
			d.Close()
			if relDir == "" {
				return res, fileOpError(op, root, err)
			}
			res.Unreadable = append(res.Unreadable, relDir)
			continue
		}
		slices.Sort(names)
		if !req.IncludeHidden {
			names = slices.DeleteFunc(names, func(n string) bool { return n[0] == '.' })
		}
		// Stat no more than can be listed (one extra to tell truncation).
		names = names[:min(len(names), maxEntries-count+1)]
		stats, statErrs := statNames(fd, names)
		for i, name := range names {
			if statErrs[i] != nil {
				continue // vanished since readdir
			}
			est := &stats[i]
			rel := name
			if relDir != "" {
				rel = relDir + "/" + name
			}
			e := entryFromStat(rel, est)
			if e.Type == FileTypeSymlink {
				e.Target = readlinkat(fd, name)
			}
			c := listEntryCost(root, &e)
			if count == maxEntries || (req.MaxBytes > 0 && cost+c > req.MaxBytes) {
				res.Truncated = true
				break
			}
			count++
			cost += c
			rec = appendEntry(rec[:0], &e)
			if _, err := bw.Write(rec); err != nil {
				d.Close()
				return res, &isolation.OpError{Op: op, Path: root, Kind: "io", Msg: "stream to server: " + err.Error()}
			}
			if req.Recursive && e.Type == FileTypeDirectory {
				queue = append(queue, rel)
			}
		}
		d.Close()
	}
	if err := bw.Flush(); err != nil {
		return res, &isolation.OpError{Op: op, Path: root, Kind: "io", Msg: "stream to server: " + err.Error()}
	}
	return res, nil
}

// statNames lstats names in the directory dirfd, in parallel for large
// directories (a syscall costs microseconds on a VM; this halves a big walk).
func statNames(dirfd int, names []string) ([]unix.Stat_t, []error) {
	stats := make([]unix.Stat_t, len(names))
	errs := make([]error, len(names))
	stat := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			errs[i] = unix.Fstatat(dirfd, names[i], &stats[i], unix.AT_SYMLINK_NOFOLLOW)
		}
	}
	workers := min(runtime.NumCPU(), 4, len(names)/32)
	if workers < 2 {
		stat(0, len(names))
		return stats, errs
	}
	var wg sync.WaitGroup
	chunk := (len(names) + workers - 1) / workers
	for lo := 0; lo < len(names); lo += chunk {
		wg.Go(func() { stat(lo, min(lo+chunk, len(names))) })
	}
	wg.Wait()
	return stats, errs
}

func describeOrFile(mode uint32) string {
	if mode&unix.S_IFMT == unix.S_IFREG {
		return "a file"
	}
	return describeType(mode)
}

func readlinkat(dirfd int, name string) string {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return ""
		}
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// ---- file_info

func fileInfoOp(ctx context.Context, req FileInfoRequest) (FileInfoResult, error) {
	const op = opFileInfo
	var res FileInfoResult
	if err := checkAbs(op, req.Path); err != nil {
		return res, err
	}
	var st unix.Stat_t
	if err := unix.Lstat(req.Path, &st); err != nil {
		if err == unix.ENOENT || err == unix.ENOTDIR {
			return res, nil
		}
		return res, fileOpError(op, req.Path, err)
	}
	res.Exists = true
	res.Entry = entryFromStat("", &st)
	if res.Entry.Type == FileTypeSymlink {
		res.Entry.Target, _ = os.Readlink(req.Path)
	}
	return res, nil
}

// ---- mkdir

func mkdirOp(ctx context.Context, req MkdirRequest) (MkdirResult, error) {
	const op = opMkdir
	var res MkdirResult
	path := req.Path
	if err := checkAbs(op, path); err != nil {
		return res, err
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err == nil {
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return res, &isolation.OpError{Op: op, Path: path, Kind: "exists", Msg: "already exists and is " + describeOrFile(st.Mode) + ", not a directory"}
		}
		if !req.Recursive {
			return res, &isolation.OpError{Op: op, Path: path, Kind: isolation.KindExists, Msg: "directory already exists", Errno: unix.EEXIST}
		}
		return res, nil
	}
	if req.Recursive {
		if err := mkdirParents(op, path, path); err != nil {
			return res, err
		}
		res.Created = true
		return res, nil
	}
	if err := unix.Mkdir(path, 0o755); err != nil {
		if err == unix.ENOENT {
			return res, &isolation.OpError{Op: op, Path: path, Kind: isolation.KindNotFound, Msg: "parent directory does not exist", Errno: unix.ENOENT}
		}
		return res, fileOpError(op, path, err)
	}
	res.Created = true
	return res, nil
}

// ---- delete_file

func deleteFileOp(ctx context.Context, req DeleteFileRequest) (DeleteFileResult, error) {
	const op = opDeleteFile
	var res DeleteFileResult
	path := req.Path
	if err := checkAbs(op, path); err != nil {
		return res, err
	}
	if filepath.Clean(path) == "/" {
		return res, &isolation.OpError{Op: op, Path: path, Kind: "invalid", Msg: "refusing to delete the root directory"}
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return res, fileOpError(op, path, err)
	}
	res.Type = fileType(st.Mode)
	if res.Type == FileTypeDirectory {
		if !req.Recursive {
			return res, &isolation.OpError{Op: op, Path: path, Kind: isolation.KindIsDirectory, Msg: "is a directory; nothing was deleted", Errno: unix.EISDIR}
		}
		if err := os.RemoveAll(path); err != nil {
			return res, fileOpError(op, path, err)
		}
		return res, nil
	}
	if err := unix.Unlink(path); err != nil {
		return res, fileOpError(op, path, err)
	}
	return res, nil
}

// ---- move_file

func moveFileOp(ctx context.Context, req MoveFileRequest) (MoveFileResult, error) {
	const op = opMoveFile
	var res MoveFileResult
	src, dst := req.Source, req.Destination
	if err := checkAbs(op, src); err != nil {
		return res, err
	}
	if err := checkAbs(op, dst); err != nil {
		return res, err
	}
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		if err == unix.ENOENT {
			return res, &isolation.OpError{Op: op, Path: src, Kind: isolation.KindNotFound, Msg: "source does not exist", Errno: unix.ENOENT}
		}
		return res, fileOpError(op, src, err)
	}
	res.Type = fileType(st.Mode)
	if filepath.Clean(src) == filepath.Clean(dst) {
		return res, &isolation.OpError{Op: op, Path: src, Kind: "invalid", Msg: "source and destination are the same path"}
	}
	if err := mkdirParents(op, dst, filepath.Dir(dst)); err != nil {
		return res, err
	}
	err := renameNoReplace(src, dst, req.Overwrite)
	if err == unix.EXDEV {
		res.Copied = true
		err = moveAcross(ctx, src, dst, req.Overwrite)
	}
	if err != nil {
		return res, moveError(src, dst, err)
	}
	return res, nil
}

func moveError(src, dst string, err error) error {
	var errno syscall.Errno
	errors.As(err, &errno)
	switch errno {
	case unix.EEXIST:
		return &isolation.OpError{Op: opMoveFile, Path: dst, Kind: isolation.KindExists, Msg: "destination already exists", Errno: errno}
	case unix.ENOTEMPTY:
		return &isolation.OpError{Op: opMoveFile, Path: dst, Kind: isolation.KindExists, Msg: "destination is a directory that is not empty", Errno: errno}
	case unix.EISDIR:
		return &isolation.OpError{Op: opMoveFile, Path: dst, Kind: isolation.KindIsDirectory, Msg: "destination is a directory", Errno: errno}
	case unix.ENOTDIR:
		return &isolation.OpError{Op: opMoveFile, Path: dst, Kind: isolation.KindNotDirectory, Msg: "cannot replace a non-directory with a directory (or a parent is not a directory)", Errno: errno}
	case unix.EINVAL:
		return &isolation.OpError{Op: opMoveFile, Path: src, Kind: isolation.KindInvalid, Msg: "cannot move a directory into itself (destination " + dst + ")", Errno: errno}
	}
	return fileOpError(opMoveFile, src, err)
}

// renameNoReplace renames atomically, refusing an existing destination
// unless overwrite (renameat2 RENAME_NOREPLACE; a check first on
// filesystems without it).
func renameNoReplace(src, dst string, overwrite bool) error {
	if overwrite {
		return unix.Rename(src, dst)
	}
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if err != unix.EINVAL && err != unix.ENOSYS {
		return err
	}
	var st unix.Stat_t
	if unix.Lstat(dst, &st) == nil {
		return unix.EEXIST
	}
	return unix.Rename(src, dst)
}

// moveAcross copies src next to dst under a temporary name, renames it into
// place and then deletes src.
func moveAcross(ctx context.Context, src, dst string, overwrite bool) error {
	var st unix.Stat_t
	if !overwrite && unix.Lstat(dst, &st) == nil {
		return unix.EEXIST
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".sbx-"+hex.EncodeToString(rnd[:])+".tmp")
	if err := copyTree(ctx, src, tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := renameNoReplace(tmp, dst, overwrite); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return os.RemoveAll(src)
}

// copyTree copies src to dst (which must not exist), keeping modes, mtimes
// and symlinks as symlinks.
func copyTree(ctx context.Context, src, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		t, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(t, dst)
	case unix.S_IFDIR:
		if err := unix.Mkdir(dst, 0o700); err != nil {
			return err
		}
		names, err := readNames(src)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := copyTree(ctx, src+"/"+n, dst+"/"+n); err != nil {
				return err
			}
		}
		if err := unix.Chmod(dst, st.Mode&07777); err != nil {
			return err
		}
	case unix.S_IFREG:
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		if err := unix.Fchmod(int(out.Fd()), st.Mode&07777); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	default:
		return &isolation.OpError{Op: opMoveFile, Path: src, Kind: "not_regular", Msg: "is " + describeType(st.Mode) + "; it cannot be copied to another filesystem"}
	}
	_ = unix.Lchown(dst, int(st.Uid), int(st.Gid))
	ts := []unix.Timespec{st.Atim, st.Mtim}
	_ = unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW)
	return nil
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
