package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type findFilesArgs struct {
	Pattern        string `json:"pattern" jsonschema_description:"Glob matched against the path below path: \"**/*.go\", \"src/**/test_*.py\", \"*.{js,ts}\" (top level only; ** spans directories)."`
	Path           string `json:"path,omitempty" jsonschema_description:"Directory to search: absolute, or relative to the session's cwd (default: the session's cwd)."`
	Session        string `json:"session,omitempty" jsonschema_description:"Session whose cwd resolves a relative path (default: \"default\")."`
	Sort           string `json:"sort,omitempty" jsonschema:"enum=path,enum=modified" jsonschema_description:"path (default): by path; modified: newest first (stats every match: slower on large trees)."`
	MaxResults     int    `json:"max_results,omitempty" jsonschema_description:"Most paths returned (default 1000, max 10000); total is always complete."`
	IncludeIgnored bool   `json:"include_ignored,omitempty" jsonschema_description:"Also match what .gitignore and .ignore files exclude (.git never)."`
	Directories    bool   `json:"directories,omitempty" jsonschema_description:"Match directories too."`
}

type foundFile struct {
	Path       string `json:"path" jsonschema_description:"Absolute path."`
	Type       string `json:"type" jsonschema:"enum=file,enum=directory,enum=symlink,enum=other"`
	Size       int64  `json:"size"`
	ModifiedAt string `json:"modified_at" jsonschema_description:"RFC 3339."`
}

type findFilesResult struct {
	Path      string      `json:"path" jsonschema_description:"Absolute path searched."`
	Files     []foundFile `json:"files"`
	Total     int         `json:"total" jsonschema_description:"Matches in all (more than files when truncated)."`
	Truncated bool        `json:"truncated"`
}

func (r findFilesResult) Text() string {
	var b strings.Builder
	for _, f := range r.Files {
		b.WriteString(f.Path)
		if f.Type == fileops.FileTypeDirectory {
			b.WriteByte('/')
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "[%d match%s", r.Total, map[bool]string{true: "", false: "es"}[r.Total == 1])
	if r.Truncated {
		fmt.Fprintf(&b, "; showing %d: narrow the pattern or raise max_results", len(r.Files))
	}
	b.WriteString("]")
	return b.String()
}

func init() {
	register("find_files", []string{SetFiles}, false, func(d *Deps) server.Tool {
		return server.NewTool("find_files",
			"Find files by glob (\"**/*.go\"), by path or newest first (sort: modified). Limits: 1000 paths (max 10000); skips .gitignore'd files unless asked.",
			server.Annotations{Title: "Find files", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a findFilesArgs) (findFilesResult, error) {
				if a.Pattern == "" {
					return findFilesResult{}, fmt.Errorf("pattern is empty; for everything use \"**\"")
				}
				if a.MaxResults < 0 || a.MaxResults > fileops.FindMaxResults {
					return findFilesResult{}, fmt.Errorf("max_results must be between 1 and %d", fileops.FindMaxResults)
				}
				path := a.Path
				if path == "" {
					path = "."
				}
				root, _, err := resolveFilePath(ctx, d, a.Session, path)
				if err != nil {
					return findFilesResult{}, err
				}
				res, err := fileops.Find(ctx, d.Sandbox, fileops.FindRequest{
					Root: root, Pattern: a.Pattern, Sort: a.Sort, MaxResults: a.MaxResults,
					IncludeIgnored: a.IncludeIgnored, Directories: a.Directories,
				})
				if err != nil {
					return findFilesResult{}, adviseSearchError("find_files", err)
				}
				out := findFilesResult{Path: root, Total: res.Total, Truncated: res.Truncated, Files: make([]foundFile, len(res.Files))}
				var lastSec int64 = -1
				var lastTime string
				for i, f := range res.Files {
					if s := f.ModTime.Unix(); s != lastSec {
						lastSec, lastTime = s, f.ModTime.UTC().Format(time.RFC3339)
					}
					out.Files[i] = foundFile{Path: joinClean(root, f.Path), Type: f.Type, Size: f.Size, ModifiedAt: lastTime}
				}
				return out, nil
			})
	})
}
