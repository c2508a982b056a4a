package tools

import (
	"context"
	"fmt"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type moveFileArgs struct {
	Source      string `json:"source" jsonschema_description:"Path to move: absolute, or relative to the session's cwd."`
	Destination string `json:"destination" jsonschema_description:"The new path (not a directory to move into); missing parents are created."`
	Session     string `json:"session,omitempty" jsonschema_description:"Session whose cwd resolves relative paths (default: \"default\")."`
	Overwrite   bool   `json:"overwrite,omitempty" jsonschema_description:"Replace an existing destination (a directory only when empty)."`
}

type moveFileResult struct {
	Source      string `json:"source" jsonschema_description:"Absolute source path."`
	Destination string `json:"destination" jsonschema_description:"Absolute destination path."`
	Type        string `json:"type" jsonschema:"enum=file,enum=directory,enum=symlink,enum=other" jsonschema_description:"What was moved."`
	Copied      bool   `json:"copied" jsonschema_description:"Crossed filesystems: copied, then deleted the source."`
}

func (r moveFileResult) Text() string {
	s := fmt.Sprintf("Moved %s %s to %s", r.Type, r.Source, r.Destination)
	if r.Copied {
		s += " (copied across filesystems)"
	}
	return s
}

func init() {
	register("move_file", []string{SetFiles}, true, func(d *Deps) server.Tool {
		return server.NewTool("move_file",
			"Move or rename a path. Refuses an existing destination unless overwrite; works across directories and filesystems.",
			server.Annotations{Title: "Move file", DestructiveHint: true},
			func(ctx context.Context, call *server.Call, a moveFileArgs) (moveFileResult, error) {
				src, _, err := resolveFilePath(ctx, d, a.Session, a.Source)
				if err != nil {
					return moveFileResult{}, fmt.Errorf("source: %w", err)
				}
				dst, _, err := resolveFilePath(ctx, d, a.Session, a.Destination)
				if err != nil {
					return moveFileResult{}, fmt.Errorf("destination: %w", err)
				}
				res, err := fileops.MoveFile(ctx, d.CurrentSandbox(), fileops.MoveFileRequest{Source: src, Destination: dst, Overwrite: a.Overwrite})
				if err != nil {
					return moveFileResult{}, adviseMoveError(err, src, dst)
				}
				return moveFileResult{Source: src, Destination: dst, Type: res.Type, Copied: res.Copied}, nil
			})
	})
}
