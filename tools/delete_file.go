package tools

import (
	"context"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type deleteFileArgs struct {
	Path      string `json:"path" jsonschema_description:"Path to delete: absolute, or relative to the session's cwd. A symlink is removed, not its target."`
	Session   string `json:"session,omitempty" jsonschema_description:"Session whose cwd resolves a relative path (default: \"default\")."`
	Recursive bool   `json:"recursive,omitempty" jsonschema_description:"Required to delete a directory: deletes it and everything in it."`
}

type deleteFileResult struct {
	Path    string `json:"path" jsonschema_description:"Absolute path deleted."`
	Deleted bool   `json:"deleted"`
	Type    string `json:"type" jsonschema:"enum=file,enum=directory,enum=symlink,enum=other" jsonschema_description:"What was deleted."`
}

func (r deleteFileResult) Text() string { return "Deleted " + r.Type + " " + r.Path }

func init() {
	register("delete_file", []string{SetFiles}, true, func(d *Deps) server.Tool {
		return server.NewTool("delete_file",
			"Delete a file, symlink or (with recursive) directory tree. A directory without recursive is refused and nothing is deleted.",
			server.Annotations{Title: "Delete file", DestructiveHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a deleteFileArgs) (deleteFileResult, error) {
				p, _, err := resolveFilePath(ctx, d, a.Session, a.Path)
				if err != nil {
					return deleteFileResult{}, err
				}
				res, err := fileops.DeleteFile(ctx, d.CurrentSandbox(), fileops.DeleteFileRequest{Path: p, Recursive: a.Recursive})
				if err != nil {
					return deleteFileResult{}, adviseFileError("delete_file", err)
				}
				return deleteFileResult{Path: p, Deleted: true, Type: res.Type}, nil
			})
	})
}
