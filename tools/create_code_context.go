package tools

import (
	"context"

	"github.com/sbx-mcp/sbx-mcp/interp"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type createCodeContextArgs struct {
	Language string `json:"language" jsonschema:"enum=python,enum=javascript" jsonschema_description:"python or javascript."`
	Cwd      string `json:"cwd,omitempty" jsonschema_description:"Working directory (default: the workdir)."`
	Env      Env    `json:"env,omitempty" jsonschema_description:"Extra environment variables for the interpreter, as NAME=value strings."`
}

type createCodeContextResult struct {
	ID       string `json:"id"`
	Language string `json:"language"`
	Cwd      string `json:"cwd"`
}

func init() {
	register("create_code_context", []string{SetCode}, true, func(d *Deps) server.Tool {
		return server.NewTool("create_code_context",
			"Start an independent python or javascript interpreter; pass its id as run_code's context. Variables never leak between contexts.",
			server.Annotations{Title: "Create code context", OpenWorldHint: true},
			func(ctx context.Context, call *server.Call, a createCodeContextArgs) (createCodeContextResult, error) {
				info, err := d.Interp.Create(ctx, interp.CreateRequest{Language: a.Language, Cwd: a.Cwd, Env: a.Env.values()})
				if err != nil {
					return createCodeContextResult{}, err
				}
				return createCodeContextResult{ID: info.ID, Language: info.Language, Cwd: info.Cwd}, nil
			})
	})
}
