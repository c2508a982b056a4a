package tools

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// The ops say what happened; the tools add what to do, and the result still
// unwraps to the fs error.
func TestAdviseFileError(t *testing.T) {
	notFound := &isolation.OpError{Op: "read_file", Path: "/x", Kind: isolation.KindNotFound, Msg: "no such file or directory", Errno: syscall.ENOENT}
	isDir := &isolation.OpError{Op: "read_file", Path: "/d", Kind: isolation.KindIsDirectory, Msg: "is a directory", Errno: syscall.EISDIR}
	exists := &isolation.OpError{Op: "move_file", Path: "/b", Kind: isolation.KindExists, Msg: "destination already exists", Errno: syscall.EEXIST}
	notEmpty := &isolation.OpError{Op: "move_file", Path: "/b", Kind: isolation.KindExists, Msg: "destination is a directory that is not empty", Errno: syscall.ENOTEMPTY}
	mkdirExists := &isolation.OpError{Op: "mkdir", Path: "/d", Kind: isolation.KindExists, Msg: "directory already exists", Errno: syscall.EEXIST}
	mkdirFile := &isolation.OpError{Op: "mkdir", Path: "/f", Kind: isolation.KindExists, Msg: "already exists and is a file, not a directory"}
	for _, tc := range []struct {
		name string
		err  error
		want string // "" = unchanged
		is   error
	}{
		{"read not found", adviseFileError("read_file", notFound), "no such file or directory; check the path (list_files shows what exists)", fs.ErrNotExist},
		{"list not found", adviseFileError("list_files", notFound), "list_files of a parent", fs.ErrNotExist},
		{"read dir", adviseFileError("read_file", isDir), "use list_files", syscall.EISDIR},
		{"write dir", adviseFileError("write_file", isDir), "give the path of a file", syscall.EISDIR},
		{"delete dir", adviseFileError("delete_file", isDir), "pass recursive: true", syscall.EISDIR},
		{"mkdir exists", adviseFileError("mkdir", mkdirExists), "pass recursive: true to accept", fs.ErrExist},
		{"mkdir file", adviseFileError("mkdir", mkdirFile), "", fs.ErrExist},
		{"move exists", adviseMoveError(exists, "/a", "/b"), "pass overwrite: true", fs.ErrExist},
		{"move not empty", adviseMoveError(notEmpty, "/a", "/b"), "delete it first", syscall.ENOTEMPTY},
		{"move into dir", adviseMoveError(&isolation.OpError{Op: "move_file", Kind: isolation.KindIsDirectory, Msg: "destination is a directory", Errno: syscall.EISDIR}, "/x/a", "/d"), "/d/a", syscall.EISDIR},
		{"not an op error", adviseFileError("read_file", errors.New("sandbox is closed")), "", nil},
	} {
		msg := tc.err.Error()
		if tc.want == "" {
			if strings.Contains(msg, "; ") && tc.is != nil {
				t.Errorf("%s: unexpected advice in %q", tc.name, msg)
			}
		} else if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q does not contain %q", tc.name, msg, tc.want)
		}
		if tc.is != nil && !errors.Is(tc.err, tc.is) {
			t.Errorf("%s: errors.Is(%v, %v) false", tc.name, tc.err, tc.is)
		}
		var oe *isolation.OpError
		if tc.is != nil && !errors.As(tc.err, &oe) {
			t.Errorf("%s: errors.As OpError false", tc.name)
		}
	}
}
