package tools

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type fileInfoArgs struct {
	Path    string `json:"path" jsonschema_description:"Path to describe: absolute, or relative to the session's cwd. A final symlink is described, not followed."`
	Session string `json:"session,omitempty" jsonschema_description:"Session whose cwd resolves a relative path (default: \"default\")."`
}

type fileInfoResult struct {
	Exists        bool   `json:"exists" jsonschema_description:"False when nothing is at path (not an error)."`
	Path          string `json:"path" jsonschema_description:"Absolute path."`
	Name          string `json:"name,omitempty"`
	RelativePath  string `json:"relative_path,omitempty" jsonschema_description:"The path as given (cleaned)."`
	Type          string `json:"type,omitempty" jsonschema:"enum=file,enum=directory,enum=symlink,enum=other"`
	Size          int64  `json:"size" jsonschema_description:"Size in bytes (of the link itself for a symlink)."`
	Mode          string `json:"mode,omitempty" jsonschema_description:"Permissions like rwxr-xr-x."`
	ModifiedAt    string `json:"modified_at,omitempty" jsonschema_description:"Modification time, RFC 3339."`
	SymlinkTarget string `json:"symlink_target,omitempty"`
}

func (r fileInfoResult) Text() string {
	if !r.Exists {
		return r.Path + ": does not exist"
	}
	s := fmt.Sprintf("%s: %s, %d bytes, %s, modified %s", r.Path, r.Type, r.Size, r.Mode, r.ModifiedAt)
	if r.SymlinkTarget != "" {
		s += ", -> " + r.SymlinkTarget
	}
	return s
}

func init() {
	register("file_info", []string{SetFiles}, false, func(d *Deps) server.Tool {
		return server.NewTool("file_info",
			"Describe a path: exists (false when missing, not an error), type, size, mode, modified_at, symlink_target.",
			server.Annotations{Title: "File info", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a fileInfoArgs) (fileInfoResult, error) {
				p, _, err := resolveFilePath(ctx, d, a.Session, a.Path)
				if err != nil {
					return fileInfoResult{}, err
				}
				res, err := fileops.FileInfo(ctx, d.CurrentSandbox(), fileops.FileInfoRequest{Path: p})
				if err != nil {
					return fileInfoResult{}, adviseFileError("file_info", err)
				}
				if !res.Exists {
					return fileInfoResult{Path: p}, nil
				}
				e := toFileEntry(p, &res.Entry)
				return fileInfoResult{
					Exists: true, Path: p, Name: e.Name, RelativePath: filepath.Clean(a.Path), Type: e.Type, Size: e.Size,
					Mode: e.Mode, ModifiedAt: e.ModifiedAt, SymlinkTarget: e.SymlinkTarget,
				}, nil
			})
	})
}
