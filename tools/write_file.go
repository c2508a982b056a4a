package tools

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type writeFileArgs struct {
	Path     string           `json:"path" jsonschema_description:"File to write: absolute, or relative to the session's cwd. Missing parent directories are created."`
	Content  server.TextBytes `json:"content" jsonschema_description:"The new content (text, or base64 with encoding base64)."`
	Session  string           `json:"session,omitempty" jsonschema_description:"Session whose cwd resolves a relative path (default: \"default\")."`
	Encoding string           `json:"encoding,omitempty" jsonschema:"enum=utf-8,enum=base64" jsonschema_description:"utf-8 (default) or base64 for binary content."`
	Append   bool             `json:"append,omitempty" jsonschema_description:"Append instead of replacing (not atomic)."`
	Mode     string           `json:"mode,omitempty" jsonschema_description:"Permissions as an octal string such as \"0644\" or \"0755\" (default: keep the existing file's mode; 0644 for a new file)."`
}

type writeFileResult struct {
	Path         string `json:"path" jsonschema_description:"Absolute path written."`
	BytesWritten int64  `json:"bytes_written"`
	Created      bool   `json:"created" jsonschema_description:"The file did not exist before."`
	Target       string `json:"target,omitempty" jsonschema_description:"The file actually written when path is a symlink."`
}

func (r writeFileResult) Text() string {
	verb := "Wrote"
	if r.Created {
		verb = "Created"
	}
	s := fmt.Sprintf("%s %s (%d bytes)", verb, r.Path, r.BytesWritten)
	if r.Target != "" {
		s += " through the symlink to " + r.Target
	}
	return s
}

// parseMode parses an octal permission string: "644", "0644", "0o644", "4755".
func parseMode(s string) (uint32, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
	if len(t) < 3 || len(t) > 5 {
		return 0, fmt.Errorf("mode %q must be an octal string such as \"0644\"", s)
	}
	m, err := strconv.ParseUint(t, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("mode %q must be an octal string such as \"0644\" (at most 07777)", s)
	}
	return uint32(m), nil
}

// decodeBase64 accepts standard base64, padded or not, with line breaks.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if err != nil {
		return nil, fmt.Errorf("content is not valid base64 (%v); send standard base64, or plain text with encoding \"utf-8\"", err)
	}
	return b, nil
}

func init() {
	register("write_file", []string{SetCore, SetFiles}, true, func(d *Deps) server.Tool {
		return server.NewTool("write_file",
			"Write a file, creating parent directories. Atomic replace unless append; keeps the mode unless mode (\"0755\") is given. "+
				"Content is UTF-8 or base64. Through a symlink it writes the target.",
			server.Annotations{Title: "Write file", DestructiveHint: true},
			func(ctx context.Context, call *server.Call, a writeFileArgs) (writeFileResult, error) {
				var data []byte
				switch a.Encoding {
				case "", "utf-8":
					data = a.Content
				case "base64":
					b, err := decodeBase64(string(a.Content))
					if err != nil {
						return writeFileResult{}, err
					}
					data = b
				default:
					return writeFileResult{}, fmt.Errorf("encoding must be utf-8 or base64, not %q", a.Encoding)
				}
				req := fileops.WriteFileRequest{Append: a.Append, Data: data}
				if a.Mode != "" {
					m, err := parseMode(a.Mode)
					if err != nil {
						return writeFileResult{}, err
					}
					req.Mode, req.HasMode = m, true
				}
				p, _, err := resolveFilePath(ctx, d, a.Session, a.Path)
				if err != nil {
					return writeFileResult{}, err
				}
				req.Path = p
				res, err := fileops.WriteFile(ctx, d.CurrentSandbox(), req)
				if err != nil {
					return writeFileResult{}, adviseFileError("write_file", err)
				}
				return writeFileResult{Path: p, BytesWritten: res.BytesWritten, Created: res.Created, Target: res.Target}, nil
			})
	})
}
