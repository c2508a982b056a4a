package tools

// Helpers shared by the file tools (list_files, read_file, write_file, mkdir,
// delete_file, move_file, file_info). The tools never touch a user path in
// the server's process: they only join it lexically to the session's cwd and
// hand it to an op that runs inside the sandbox.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// resolveFilePath makes p absolute: an absolute p is cleaned, a relative one
// is joined to the session's cwd ("default" when session is empty). It also
// returns that cwd ("" for an absolute p).
func resolveFilePath(ctx context.Context, d *Deps, session, p string) (abs, cwd string, err error) {
	if p == "" {
		return "", "", fmt.Errorf("path is empty; give an absolute path or one relative to the session's cwd")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", "", fmt.Errorf("path %q contains a NUL byte", p)
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p), "", nil
	}
	if session == "" {
		session = "default"
	}
	cwd, err = d.Sessions.Cwd(ctx, session)
	if err != nil {
		return "", "", err
	}
	return filepath.Join(cwd, p), cwd, nil
}

// fileEntry is one file as list_files and file_info report it.
type fileEntry struct {
	Name          string `json:"name" jsonschema_description:"Base name."`
	Path          string `json:"path" jsonschema_description:"Absolute path."`
	RelativePath  string `json:"relative_path" jsonschema_description:"Path relative to the listed directory."`
	Type          string `json:"type" jsonschema:"enum=file,enum=directory,enum=symlink,enum=other"`
	Size          int64  `json:"size" jsonschema_description:"Size in bytes (of the link itself for a symlink)."`
	Mode          string `json:"mode" jsonschema_description:"Permissions like rwxr-xr-x."`
	ModifiedAt    string `json:"modified_at" jsonschema_description:"Modification time, RFC 3339."`
	SymlinkTarget string `json:"symlink_target,omitempty" jsonschema_description:"Target of a symlink, as stored (not followed)."`
}

func toFileEntry(root string, e *fileops.FileEntry) fileEntry {
	var c entryConv
	return c.convert(root, e)
}

// entryConv converts the entries of one listing, reusing the mode and time
// strings that repeat across them (a big directory's files mostly share a
// few modes and modification seconds).
type entryConv struct {
	modes    map[uint32]string
	lastSec  int64
	lastTime string
}

func (c *entryConv) convert(root string, e *fileops.FileEntry) fileEntry {
	p := root
	if e.Rel != "" {
		p = joinClean(root, e.Rel)
	}
	m := e.Mode & 0o7777
	mode, ok := c.modes[m]
	if !ok {
		if c.modes == nil {
			c.modes = map[uint32]string{}
		}
		mode = modeString(m)
		c.modes[m] = mode
	}
	if sec := e.ModTime.Unix(); sec != c.lastSec || c.lastTime == "" {
		c.lastSec, c.lastTime = sec, e.ModTime.UTC().Format(time.RFC3339)
	}
	name := p[strings.LastIndexByte(p, '/')+1:]
	if name == "" {
		name = p // the root directory
	}
	return fileEntry{
		Name:          name,
		Path:          p,
		RelativePath:  e.Rel,
		Type:          e.Type,
		Size:          e.Size,
		Mode:          mode,
		ModifiedAt:    c.lastTime,
		SymlinkTarget: e.Target,
	}
}

// joinClean joins a clean absolute root and a clean relative path (as the
// listing produces them) without filepath.Join's general cleaning.
func joinClean(root, rel string) string {
	if root == "/" {
		return "/" + rel
	}
	return root + "/" + rel
}

// modeString renders permission bits like ls: rwxr-xr-x, with s/S for
// setuid/setgid and t/T for sticky.
func modeString(m uint32) string {
	const rwx = "rwxrwxrwx"
	b := []byte("---------")
	for i := range 9 {
		if m&(1<<(8-i)) != 0 {
			b[i] = rwx[i]
		}
	}
	special := func(bit uint32, i int, set, unset byte) {
		if m&bit != 0 {
			if b[i] == 'x' {
				b[i] = set
			} else {
				b[i] = unset
			}
		}
	}
	special(0o4000, 2, 's', 'S')
	special(0o2000, 5, 's', 'S')
	special(0o1000, 8, 't', 'T')
	return string(b)
}

// typeChar is the one-letter type used in the text listings.
func typeChar(t string) byte {
	switch t {
	case fileops.FileTypeDirectory:
		return 'd'
	case fileops.FileTypeSymlink:
		return 'l'
	case fileops.FileTypeFile:
		return '-'
	}
	return '?'
}

// adviseFileError adds to err from a file op what the model can do about it
// (the ops say only what happened). Other errors pass through unchanged.
func adviseFileError(tool string, err error) error {
	var oe *isolation.OpError
	if !errors.As(err, &oe) {
		return err
	}
	advice := ""
	switch {
	case tool == "list_files" && oe.Kind == isolation.KindNotFound:
		advice = "check the path (list_files of a parent shows what exists)"
	case tool == "list_files" && oe.Kind == isolation.KindNotDirectory:
		advice = "use read_file or file_info for it"
	case tool == "mkdir" && oe.Kind == isolation.KindNotFound:
		advice = "pass recursive: true to create parents"
	case tool == "mkdir" && oe.Kind == isolation.KindExists && errors.Is(err, syscall.EEXIST):
		advice = "pass recursive: true to accept an existing directory"
	case oe.Kind == isolation.KindNotFound:
		advice = "check the path (list_files shows what exists)"
	case tool == "read_file" && oe.Kind == isolation.KindIsDirectory:
		advice = "use list_files to see what it contains"
	case tool == "write_file" && oe.Kind == isolation.KindIsDirectory:
		advice = "give the path of a file (inside it, for a new file)"
	case tool == "delete_file" && oe.Kind == isolation.KindIsDirectory:
		advice = "pass recursive: true to delete it and everything in it"
	}
	return withAdvice(err, advice)
}

// adviseMoveError is adviseFileError for move_file, whose advice depends
// on both paths.
func adviseMoveError(err error, src, dst string) error {
	switch {
	case errors.Is(err, syscall.ENOTEMPTY):
		return withAdvice(err, "delete it first or choose another destination")
	case errors.Is(err, syscall.EEXIST):
		return withAdvice(err, "pass overwrite: true to replace it")
	case errors.Is(err, syscall.EISDIR):
		return withAdvice(err, "give the full new path (for example "+filepath.Join(dst, filepath.Base(src))+")")
	}
	return adviseFileError("move_file", err)
}

// advisedError is an error with advice appended to its message; errors.Is
// and errors.As still see the original.
type advisedError struct {
	err    error
	advice string
}

func (e *advisedError) Error() string {
	msg := e.err.Error()
	if strings.HasSuffix(msg, ".") {
		return msg + " " + strings.ToUpper(e.advice[:1]) + e.advice[1:] + "."
	}
	return msg + "; " + e.advice
}
func (e *advisedError) Unwrap() error { return e.err }

func withAdvice(err error, advice string) error {
	if advice == "" {
		return err
	}
	return &advisedError{err, advice}
}
