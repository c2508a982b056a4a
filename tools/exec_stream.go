package tools

import (
	"context"
	"encoding/base64"
	"unicode/utf8"

	"github.com/sbx-mcp/sbx-mcp/server"
)

func init() {
	register("exec_stream", []string{SetCore, SetExec}, true, func(d *Deps) server.Tool {
		return server.NewTool("exec_stream",
			"Like exec, but streams output as progress notifications "+
				"(message = chunk, _meta.stream = stdout|stderr, progress = bytes so far) when the request has a progressToken. "+
				"Same limits and result as exec.",
			server.Annotations{Title: "Run command (streaming)", DestructiveHint: true, OpenWorldHint: true},
			func(ctx context.Context, call *server.Call, a execArgs) (execResult, error) {
				req, err := a.request()
				if err != nil {
					return execResult{}, err
				}
				if call.WantsProgress() || call.WantsOutput() {
					var total int64
					req.OnChunk = func(stream string, data []byte) {
						total += int64(len(data))
						meta := map[string]any{"stream": stream}
						msg := server.Bytes(data) // sent before OnChunk returns: no copy
						if !utf8.Valid(data) {
							msg = server.String(base64.StdEncoding.EncodeToString(data))
							meta["encoding"] = "base64"
						}
						call.ProgressText(float64(total), msg, meta)
					}
				}
				oom, known := oomCount(call, d)
				r, err := d.Sessions.Exec(ctx, req)
				logOutcome(call, d, r, oom, known)
				return execResult{Result: r}, err
			}).WithTasks().WithKey(sessionKey("session"))
	})
}
