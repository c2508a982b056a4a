package fileops

// Client side: typed functions the tools call with the sandbox.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/freelist"
	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// ReadFileMaxBytes is the most raw bytes one read_file returns; larger files
// are read in pages with Offset/Length. Base64 and the duplicated text block
// keep a result of this size around 6 MiB, far below the 10 MiB clients take.
const ReadFileMaxBytes = 2 << 20

// ListFilesMaxEntries is the most entries one list_files returns.
const ListFilesMaxEntries = 10000

// Op names of the file operations.
const (
	opReadFile   = "read_file"
	opOpenRead   = "read_file.open"
	opWriteFile  = "write_file"
	opListFiles  = "list_files"
	opMkdir      = "mkdir"
	opDeleteFile = "delete_file"
	opMoveFile   = "move_file"
	opFileInfo   = "file_info"
)

// File types reported in FileEntry.Type.
const (
	FileTypeFile      = "file"
	FileTypeDirectory = "directory"
	FileTypeSymlink   = "symlink"
	FileTypeOther     = "other"
)

// FileEntry describes one file as lstat(2) sees it.
type FileEntry struct {
	Rel     string    `json:"rel"`  // path relative to the listed directory ("" for file_info)
	Type    string    `json:"type"` // file, directory, symlink, other
	Size    int64     `json:"size"`
	Mode    uint32    `json:"mode"` // permission bits plus setuid/setgid/sticky (07777)
	ModTime time.Time `json:"mtime"`
	Target  string    `json:"target,omitempty"` // symlink target, as stored
}

// ReadFileRequest asks for up to Length bytes (0 or more than
// ReadFileMaxBytes means ReadFileMaxBytes) of Path from Offset.
type ReadFileRequest struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
}

// openReadResult is the answer of opOpenRead: the open file comes with it,
// unless Stream says to read through opReadFile.
type openReadResult struct {
	Size   int64 `json:"size"`
	Stream bool  `json:"stream"`
}

// ReadFileResult is what ReadFile returns.
type ReadFileResult struct {
	Size      int64  `json:"size"`      // file size (for /proc-like files: bytes seen)
	Truncated bool   `json:"truncated"` // more bytes follow Offset+len(Data)
	Head      []byte `json:"head"`      // first 512 bytes of the file when Offset > 0 (for sniffing)
	N         int64  `json:"n"`         // bytes streamed
	Data      []byte `json:"-"`         // the bytes read (filled by the client)

	release func()        // gives Data's buffer back (Release); shared by copies
	sha256  func() string // see SHA256
}

// SHA256 is the hex sha256 of the whole file: given when the read covers
// it, or when the file is at most EditMaxBytes on a filesystem whose open
// file init hands over ("" otherwise). It is computed while the caller
// encodes Data and waits for that; call it before Release.
func (r *ReadFileResult) SHA256() string {
	if r.sha256 == nil {
		return ""
	}
	return r.sha256()
}

// Release gives Data's buffer back for later reads. Data, and anything
// made from it without a copy, must not be used afterwards. Calling it is
// optional; calling it again, or on a copy, does nothing.
func (r *ReadFileResult) Release() {
	if r.release != nil {
		r.release()
	}
}

// WriteFileRequest writes Data to Path, creating parent directories. Without
// Append it replaces the file atomically (temp file in the same directory,
// then rename); the existing mode and owner are kept unless Mode is set.
type WriteFileRequest struct {
	Path    string `json:"path"`
	Append  bool   `json:"append"`
	Mode    uint32 `json:"mode"` // permission bits, used when HasMode
	HasMode bool   `json:"has_mode"`
	Size    int64  `json:"size"` // len(Data); a shorter stream is an aborted write
	Data    []byte `json:"-"`
}

// WriteFileResult is what WriteFile returns.
type WriteFileResult struct {
	BytesWritten int64 `json:"bytes_written"`
	Created      bool  `json:"created"`
	// Target is the file actually written when Path is a symlink.
	Target string `json:"target,omitempty"`
}

// ListFilesRequest lists Path (following it when it is a symlink).
type ListFilesRequest struct {
	Path          string `json:"path"`
	Recursive     bool   `json:"recursive"`
	IncludeHidden bool   `json:"include_hidden"`
	MaxEntries    int    `json:"max_entries"` // 0 or > ListFilesMaxEntries: ListFilesMaxEntries
	// MaxBytes bounds the listing's size (roughly the bytes of paths and
	// metadata it returns); 0 means no bound besides MaxEntries.
	MaxBytes int `json:"max_bytes"`
}

// ListFilesResult is what ListFiles returns. Entries are in breadth-first
// order, sorted by name within each directory.
type ListFilesResult struct {
	Truncated  bool        `json:"truncated"`
	Unreadable []string    `json:"unreadable,omitempty"` // subdirectories that could not be read
	Entries    []FileEntry `json:"-"`                    // filled by the client from the stream
}

// FileInfoRequest asks about Path itself (not following a final symlink).
type FileInfoRequest struct {
	Path string `json:"path"`
}

// FileInfoResult is what FileInfo returns; a missing path is Exists false.
type FileInfoResult struct {
	Exists bool      `json:"exists"`
	Entry  FileEntry `json:"entry"`
}

// MkdirRequest creates a directory (and its parents when Recursive).
type MkdirRequest struct {
	Path      string `json:"path"`
	Recursive bool   `json:"recursive"`
}

// MkdirResult is what Mkdir returns.
type MkdirResult struct {
	Created bool `json:"created"` // false: it already existed (Recursive only)
}

// DeleteFileRequest deletes a file, a symlink (not its target), or with
// Recursive a directory tree.
type DeleteFileRequest struct {
	Path      string `json:"path"`
	Recursive bool   `json:"recursive"`
}

// DeleteFileResult is what DeleteFile returns.
type DeleteFileResult struct {
	Type string `json:"type"` // what was deleted
}

// MoveFileRequest renames Source to Destination (the new path, not a
// directory to move into), creating Destination's parents; across
// filesystems it copies then deletes the source.
type MoveFileRequest struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Overwrite   bool   `json:"overwrite"`
}

// MoveFileResult is what MoveFile returns.
type MoveFileResult struct {
	Type   string `json:"type"`
	Copied bool   `json:"copied"` // crossed filesystems: copied, then deleted the source
}

// ----------------------------------------------------------------------------
// Client side: typed methods on *Sandbox.

// ReadFile reads a file inside the sandbox. Init opens it there and, on a
// disk or memory filesystem, hands the open file back for the server to
// read; elsewhere (procfs, sysfs, FUSE) init reads it and the bytes arrive
// through a pipe.
func ReadFile(ctx context.Context, s *isolation.Sandbox, req ReadFileRequest) (ReadFileResult, error) {
	var opened openReadResult
	files, err := s.DoFiles(ctx, opOpenRead, req, &opened)
	if err != nil {
		return ReadFileResult{}, err
	}
	if len(files) == 1 && !opened.Stream {
		defer files[0].Close()
		return readOpened(files[0], req, opened.Size)
	}
	closeFiles(files)
	return streamFile(ctx, s, req)
}

// readOpened reads what req asks for from f, a regular file init opened,
// into a recycled buffer.
func readOpened(f *os.File, req ReadFileRequest, size int64) (ReadFileResult, error) {
	res := ReadFileResult{Size: size}
	length := req.Length
	if length <= 0 || length > ReadFileMaxBytes {
		length = ReadFileMaxBytes
	}
	if req.Offset > 0 {
		head := make([]byte, 512)
		n, err := f.ReadAt(head, 0)
		if err != nil && err != io.EOF {
			return res, fileOpError(opReadFile, req.Path, err)
		}
		res.Head = head[:n]
	}
	// Sizes on these filesystems are exact: read what the size promises,
	// plus one byte to tell whether more follow (the file may have grown).
	want := min(length, max(size-req.Offset, 0))
	buf := slices.Grow(readBufs.Get(), int(want)+1)
	for int64(len(buf)) <= want {
		n, err := f.ReadAt(buf[len(buf):want+1], req.Offset+int64(len(buf)))
		buf = buf[:len(buf)+n]
		if err == io.EOF || (n == 0 && err == nil) {
			break
		}
		if err != nil {
			readBufs.Put(buf)
			return res, fileOpError(opReadFile, req.Path, err)
		}
	}
	if int64(len(buf)) > want {
		res.Truncated = true
		buf = buf[:want]
	}
	res.N = int64(len(buf))
	if end := req.Offset + res.N; res.N > 0 && end > res.Size {
		res.Size = end // grew since init's fstat
	}
	res.Data = buf
	// The hash runs on another core while the caller encodes the bytes.
	var sum string
	done := make(chan struct{})
	switch {
	case req.Offset == 0 && !res.Truncated:
		go func() {
			h := sha256.Sum256(buf)
			sum = hex.EncodeToString(h[:])
			close(done)
		}()
	case res.Size <= EditMaxBytes:
		g, err := dupFile(f)
		if err != nil {
			close(done)
			break
		}
		go func() {
			defer g.Close()
			h := sha256.New()
			if _, err := io.Copy(h, io.NewSectionReader(g, 0, EditMaxBytes+1)); err == nil {
				sum = hex.EncodeToString(h.Sum(nil))
			}
			close(done)
		}()
	default:
		close(done)
	}
	res.sha256 = func() string { <-done; return sum }
	res.release = sync.OnceFunc(func() { <-done; readBufs.Put(buf) })
	return res, nil
}

// dupFile returns a second descriptor of f that outlives f.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// streamFile reads a file through init: the bytes arrive through a pipe.
func streamFile(ctx context.Context, s *isolation.Sandbox, req ReadFileRequest) (ReadFileResult, error) {
	var res ReadFileResult
	n := req.Length
	if n <= 0 || n > ReadFileMaxBytes {
		n = ReadFileMaxBytes
	}
	data, err := doReading(ctx, s, opReadFile, req.Path, int(n), req, &res, func(r io.Reader) ([]byte, error) {
		return readAllInto(r, slices.Grow(readBufs.Get(), int(min(n, 1<<20))+1), ReadFileMaxBytes+1)
	})
	if err != nil {
		readBufs.Put(data)
		return res, err
	}
	if int64(len(data)) != res.N {
		readBufs.Put(data)
		return res, &isolation.OpError{Op: opReadFile, Path: req.Path, Kind: "io", Msg: fmt.Sprintf("short read: got %d of %d bytes; retry", len(data), res.N)}
	}
	if req.Offset == 0 && !res.Truncated {
		h := sha256.Sum256(data)
		sum := hex.EncodeToString(h[:])
		res.sha256 = func() string { return sum }
	}
	res.Data = data
	res.release = sync.OnceFunc(func() { readBufs.Put(data) })
	return res, nil
}

// readBufs recycles ReadFile's buffers. A fresh megabyte per read costs
// more than the read itself (BenchmarkSandboxReadFile1MiB: 1.7 ms with
// fresh buffers, 0.4 recycled).
var readBufs = freelist.New(2, ReadFileMaxBytes+1)

// doReading runs op with the write end of a fresh pipe (buffer grown
// towards size) while consume reads the other end in a goroutine that owns
// those reads; it ends at EOF (the op and we closed the write end) or when
// the read end is closed (cancellation). It returns consume's value once
// both are done.
func doReading[T any](ctx context.Context, s *isolation.Sandbox, op, path string, size int, req, resp any, consume func(io.Reader) (T, error)) (T, error) {
	var zero T
	r, w, err := bulkPipe(size)
	if err != nil {
		return zero, fmt.Errorf("%s: pipe: %w", op, err)
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := consume(r)
		done <- result{v, err}
	}()
	stop := context.AfterFunc(ctx, func() { r.Close() })
	defer stop()
	err = s.Do(ctx, op, req, resp, w)
	w.Close()
	if err != nil {
		r.Close()
		<-done
		return zero, err
	}
	got := <-done
	r.Close()
	if got.err != nil {
		return zero, fmt.Errorf("%s %s: read pipe: %w", op, path, got.err)
	}
	return got.v, nil
}

// bulkPipe returns a pipe whose buffer is grown towards size (at most
// 1 MiB, best effort), so bulk data crosses in few wake-ups instead of one
// per 64 KiB: on a busy machine each wake-up can cost milliseconds.
func bulkPipe(size int) (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	if size > 64<<10 {
		size = min(size, 1<<20)
		if sc, err := w.SyscallConn(); err == nil {
			sc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size) })
		}
	}
	return r, w, nil
}

// readAllInto reads r to EOF into buf, at most limit bytes.
func readAllInto(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), limit-len(buf)))
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// WriteFile writes req.Data inside the sandbox; the bytes go through a pipe.
func WriteFile(ctx context.Context, s *isolation.Sandbox, req WriteFileRequest) (WriteFileResult, error) {
	var res WriteFileResult
	req.Size = int64(len(req.Data))
	r, w, err := bulkPipe(len(req.Data))
	if err != nil {
		return res, fmt.Errorf("write_file: pipe: %w", err)
	}
	// The goroutine owns w: it writes everything and closes it. On
	// cancellation w is closed early, so the op sees a short stream and
	// aborts instead of committing a partial file.
	done := make(chan error, 1)
	go func() {
		_, err := w.Write(req.Data)
		w.Close()
		done <- err
	}()
	stop := context.AfterFunc(ctx, func() { w.Close() })
	defer stop()
	err = s.Do(ctx, opWriteFile, req, &res, r)
	r.Close() // unblocks the writer with EPIPE if the op stopped reading early
	<-done
	return res, err
}

// ListFiles lists a directory inside the sandbox; entries stream through a
// pipe and are decoded while the op walks.
func ListFiles(ctx context.Context, s *isolation.Sandbox, req ListFilesRequest) (ListFilesResult, error) {
	var res ListFilesResult
	entries, err := doReading(ctx, s, opListFiles, req.Path, 1<<20, req, &res, decodeEntries)
	if err != nil {
		return res, err
	}
	res.Entries = entries
	return res, nil
}

// do runs a file op that needs no data stream and decodes its result.
func do[R any](ctx context.Context, s *isolation.Sandbox, op string, req any) (R, error) {
	var res R
	err := s.Do(ctx, op, req, &res)
	return res, err
}

// FileInfo describes a path inside the sandbox.
func FileInfo(ctx context.Context, s *isolation.Sandbox, req FileInfoRequest) (FileInfoResult, error) {
	return do[FileInfoResult](ctx, s, opFileInfo, req)
}

// Mkdir creates a directory inside the sandbox.
func Mkdir(ctx context.Context, s *isolation.Sandbox, req MkdirRequest) (MkdirResult, error) {
	return do[MkdirResult](ctx, s, opMkdir, req)
}

// DeleteFile deletes a path inside the sandbox.
func DeleteFile(ctx context.Context, s *isolation.Sandbox, req DeleteFileRequest) (DeleteFileResult, error) {
	return do[DeleteFileResult](ctx, s, opDeleteFile, req)
}

// MoveFile moves a path inside the sandbox.
func MoveFile(ctx context.Context, s *isolation.Sandbox, req MoveFileRequest) (MoveFileResult, error) {
	return do[MoveFileResult](ctx, s, opMoveFile, req)
}

// ----------------------------------------------------------------------------
// Op side: registered in init, run inside the sandbox's init.

func init() {
	registerPipeOp(opReadFile, func(ctx context.Context, req ReadFileRequest, f *os.File) (any, error) {
		return readFileOp(ctx, req, f)
	})
	registerPipeOp(opWriteFile, func(ctx context.Context, req WriteFileRequest, f *os.File) (any, error) {
		return writeFileOp(ctx, req, f)
	})
	registerPipeOp(opListFiles, func(ctx context.Context, req ListFilesRequest, f *os.File) (any, error) {
		return listFilesOp(ctx, req, f)
	})
	registerFileOp(opOpenRead, openReadOp)
	registerFileOp(opFileInfo, fileInfoOp)
	registerFileOp(opMkdir, mkdirOp)
	registerFileOp(opDeleteFile, deleteFileOp)
	registerFileOp(opMoveFile, moveFileOp)
}

// registerFileOp registers an op that takes a request and no files.
func registerFileOp[Req, Res any](name string, fn func(context.Context, Req) (Res, error)) {
	isolation.RegisterOp(name, func(ctx context.Context, raw json.RawMessage, files []*os.File) (any, error) {
		defer closeFiles(files)
		var req Req
		if err := decodeFileReq(name, raw, &req); err != nil {
			return nil, err
		}
		return fn(ctx, req)
	})
}

// registerPipeOp registers an op that streams its data through exactly one
// pipe passed with the request.
func registerPipeOp[Req any](name string, fn func(context.Context, Req, *os.File) (any, error)) {
	isolation.RegisterOp(name, func(ctx context.Context, raw json.RawMessage, files []*os.File) (any, error) {
		defer closeFiles(files)
		var req Req
		if err := decodeFileReq(name, raw, &req); err != nil {
			return nil, err
		}
		f, err := fileArg(name, files)
		if err != nil {
			return nil, err
		}
		return fn(ctx, req, f)
	})
}

// registerJSONOp registers an op whose result, one JSON value, crosses
// its pipe (search_files, find_files: results too large for the control
// socket). path names the request's path in an error.
func registerJSONOp[Req, Res any](name string, path func(Req) string, fn func(context.Context, Req) (Res, error)) {
	registerPipeOp(name, func(ctx context.Context, req Req, f *os.File) (any, error) {
		res, err := fn(ctx, req)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(res)
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(b); err != nil {
			return nil, &isolation.OpError{Op: name, Path: path(req), Kind: isolation.KindIO, Msg: "stream to server: " + err.Error()}
		}
		return nil, nil
	})
}

// jsonResultMaxBytes bounds what the server reads of a JSON op's result.
const jsonResultMaxBytes = 16 << 20

// doJSON runs a registerJSONOp op and decodes its result, reading at most
// jsonResultMaxBytes (the sandbox writes it).
func doJSON[Res any](ctx context.Context, s *isolation.Sandbox, op, path string, req any) (Res, error) {
	return doReading(ctx, s, op, path, 1<<20, req, nil, func(r io.Reader) (Res, error) {
		var res Res
		b, err := io.ReadAll(io.LimitReader(r, jsonResultMaxBytes+1))
		if err != nil {
			return res, err
		}
		if len(b) == 0 {
			return res, nil // the op failed; its error comes from Do
		}
		if len(b) > jsonResultMaxBytes {
			return res, fmt.Errorf("result over %d bytes", jsonResultMaxBytes)
		}
		return res, json.Unmarshal(b, &res)
	})
}

func decodeFileReq(op string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return &isolation.OpError{Op: op, Kind: "invalid", Msg: "bad request: " + err.Error()}
	}
	return nil
}

func fileArg(op string, files []*os.File) (*os.File, error) {
	if len(files) != 1 || files[0] == nil {
		return nil, &isolation.OpError{Op: op, Kind: "invalid", Msg: fmt.Sprintf("expected one pipe, got %d files", len(files))}
	}
	return files[0], nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// fileOpError turns err from a syscall on path into an *isolation.OpError
// that says the cause and keeps the errno (errors.Is finds both the fs
// error of its kind and the errno).
func fileOpError(op, path string, err error) error {
	var oe *isolation.OpError
	if errors.As(err, &oe) {
		return oe
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return &isolation.OpError{Op: op, Path: path, Kind: isolation.KindIO, Msg: err.Error()}
	}
	kind, msg := isolation.KindIO, errno.Error()
	if k, ok := errnoKinds[errno]; ok {
		kind, msg = k.kind, k.msg
	}
	return &isolation.OpError{Op: op, Path: path, Kind: kind, Msg: msg, Errno: errno}
}

// errnoKinds: the kind and message of the errnos file ops meet (others
// are KindIO with the errno's text).
var errnoKinds = map[syscall.Errno]struct{ kind, msg string }{
	unix.ENOENT:       {isolation.KindNotFound, "no such file or directory"},
	unix.EACCES:       {isolation.KindPermission, "permission denied"},
	unix.EPERM:        {isolation.KindPermission, "permission denied"},
	unix.EROFS:        {isolation.KindPermission, "read-only file system"},
	unix.EISDIR:       {isolation.KindIsDirectory, "is a directory"},
	unix.ENOTDIR:      {isolation.KindNotDirectory, "a component of the path is not a directory"},
	unix.EEXIST:       {isolation.KindExists, "already exists"},
	unix.ENOTEMPTY:    {isolation.KindExists, "already exists"},
	unix.ELOOP:        {isolation.KindInvalid, "too many levels of symbolic links"},
	unix.ENAMETOOLONG: {isolation.KindInvalid, "file name too long"},
	unix.EFBIG:        {isolation.KindTooLarge, "file too large"},
	unix.ENOSPC:       {isolation.KindIO, "no space left on device"},
	unix.EDQUOT:       {isolation.KindIO, "no space left on device"},
}

func checkAbs(op, path string) error {
	if path == "" {
		return &isolation.OpError{Op: op, Kind: "invalid", Msg: "path is empty"}
	}
	if !filepath.IsAbs(path) {
		return &isolation.OpError{Op: op, Path: path, Kind: "invalid", Msg: "path must be absolute"}
	}
	if strings.IndexByte(path, 0) >= 0 {
		return &isolation.OpError{Op: op, Path: path, Kind: "invalid", Msg: "path contains a NUL byte"}
	}
	return nil
}

func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return FileTypeFile
	case unix.S_IFDIR:
		return FileTypeDirectory
	case unix.S_IFLNK:
		return FileTypeSymlink
	}
	return FileTypeOther
}

func describeType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO (named pipe)"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFDIR:
		return "a directory"
	}
	return "not a regular file"
}

func entryFromStat(rel string, st *unix.Stat_t) FileEntry {
	return FileEntry{
		Rel:     rel,
		Type:    fileType(st.Mode),
		Size:    st.Size,
		Mode:    st.Mode & 07777,
		ModTime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UTC(),
	}
}
