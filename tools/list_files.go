package tools

import (
	"context"
	"fmt"
	"strconv"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/server"
)

const listFilesDefaultMax = 1000

// listFilesMaxBytes bounds a listing's result (structuredContent plus the
// text block) far below the 10 MiB clients accept, whatever the path lengths.
const listFilesMaxBytes = 3 << 20

type listFilesArgs struct {
	Path          string `json:"path,omitempty" jsonschema_description:"Directory to list: absolute, or relative to the session's cwd (default: the session's cwd)."`
	Session       string `json:"session,omitempty" jsonschema_description:"Session whose cwd resolves a relative path (default: \"default\")."`
	Recursive     bool   `json:"recursive,omitempty" jsonschema_description:"Descend into subdirectories (breadth first; symlinks are reported, never followed)."`
	IncludeHidden bool   `json:"include_hidden,omitempty" jsonschema_description:"Include entries whose name starts with a dot (and descend into them)."`
	MaxEntries    int    `json:"max_entries,omitempty" jsonschema_description:"Stop after this many entries (default 1000, max 10000); truncated says so."`
}

type listFilesResult struct {
	Path       string      `json:"path" jsonschema_description:"Absolute path of the listed directory."`
	Entries    []fileEntry `json:"entries"`
	Truncated  bool        `json:"truncated" jsonschema_description:"The listing stopped at max_entries (or the size cap)."`
	Unreadable []string    `json:"unreadable,omitempty" jsonschema_description:"Subdirectories that could not be read (relative paths)."`
}

func (r listFilesResult) Text() string {
	b := make([]byte, 0, len(r.Entries)*(48+len(r.Path)/2)+128)
	b = append(b, r.Path...)
	b = append(b, ": "...)
	b = strconv.AppendInt(b, int64(len(r.Entries)), 10)
	b = append(b, " entries"...)
	if r.Truncated {
		b = append(b, " (truncated: raise max_entries, up to 10000, or list a subdirectory)"...)
	}
	b = append(b, '\n')
	var pad [20]byte
	for i := range r.Entries {
		e := &r.Entries[i]
		b = append(b, typeChar(e.Type))
		b = append(b, e.Mode...)
		b = append(b, ' ')
		size := strconv.AppendInt(pad[:0], e.Size, 10)
		for range 10 - len(size) {
			b = append(b, ' ')
		}
		b = append(b, size...)
		b = append(b, ' ')
		b = append(b, e.ModifiedAt...)
		b = append(b, ' ')
		b = append(b, e.RelativePath...)
		switch {
		case e.Type == "directory":
			b = append(b, '/')
		case e.SymlinkTarget != "":
			b = append(b, " -> "...)
			b = append(b, e.SymlinkTarget...)
		}
		b = append(b, '\n')
	}
	for _, u := range r.Unreadable {
		b = append(b, "unreadable: "...)
		b = append(b, u...)
		b = append(b, "/\n"...)
	}
	return string(b)
}

func init() {
	register("list_files", []string{SetCore, SetFiles}, false, func(d *Deps) server.Tool {
		return server.NewTool("list_files",
			"List a directory. Limits: 1000 entries (max_entries up to 10000; truncated says when cut). "+
				"Optional recursive (breadth first, symlinks not followed) and include_hidden.",
			server.Annotations{Title: "List files", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a listFilesArgs) (listFilesResult, error) {
				if a.MaxEntries < 0 || a.MaxEntries > fileops.ListFilesMaxEntries {
					return listFilesResult{}, fmt.Errorf("max_entries must be between 1 and %d", fileops.ListFilesMaxEntries)
				}
				if a.MaxEntries == 0 {
					a.MaxEntries = listFilesDefaultMax
				}
				if a.Path == "" {
					a.Path = "."
				}
				root, _, err := resolveFilePath(ctx, d, a.Session, a.Path)
				if err != nil {
					return listFilesResult{}, err
				}
				res, err := fileops.ListFiles(ctx, d.CurrentSandbox(), fileops.ListFilesRequest{
					Path: root, Recursive: a.Recursive, IncludeHidden: a.IncludeHidden,
					MaxEntries: a.MaxEntries, MaxBytes: listFilesMaxBytes,
				})
				if err != nil {
					return listFilesResult{}, adviseFileError("list_files", err)
				}
				out := listFilesResult{Path: root, Entries: make([]fileEntry, len(res.Entries)), Truncated: res.Truncated, Unreadable: res.Unreadable}
				var conv entryConv
				for i := range res.Entries {
					out.Entries[i] = conv.convert(root, &res.Entries[i])
				}
				return out, nil
			})
	})
}
