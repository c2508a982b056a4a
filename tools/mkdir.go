package tools

import (
	"context"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type mkdirArgs struct {
	Path      string `json:"path" jsonschema_description:"Directory to create: absolute, or relative to the session's cwd."`
	Session   string `json:"session,omitempty" jsonschema_description:"Session whose cwd resolves a relative path (default: \"default\")."`
	Recursive bool   `json:"recursive,omitempty" jsonschema_description:"Create missing parents and accept an existing directory (like mkdir -p)."`
}

type mkdirResult struct {
	Path    string `json:"path" jsonschema_description:"Absolute path."`
	Created bool   `json:"created" jsonschema_description:"False when it already existed (recursive only)."`
}

func (r mkdirResult) Text() string {
	if r.Created {
		return "Created directory " + r.Path
	}
	return "Directory " + r.Path + " already exists"
}

func init() {
	register("mkdir", []string{SetFiles}, true, func(d *Deps) server.Tool {
		return server.NewTool("mkdir",
			"Create a directory (0755). recursive creates parents and accepts an existing directory.",
			server.Annotations{Title: "Make directory", IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a mkdirArgs) (mkdirResult, error) {
				p, _, err := resolveFilePath(ctx, d, a.Session, a.Path)
				if err != nil {
					return mkdirResult{}, err
				}
				res, err := fileops.Mkdir(ctx, d.CurrentSandbox(), fileops.MkdirRequest{Path: p, Recursive: a.Recursive})
				if err != nil {
					return mkdirResult{}, adviseFileError("mkdir", err)
				}
				return mkdirResult{Path: p, Created: res.Created}, nil
			})
	})
}
