package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/isolation"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type editFileEdit struct {
	OldString            string `json:"old_string" jsonschema_description:"Exact text to replace, white space and line breaks included (copy it from read_file). Empty only for an empty file."`
	NewString            string `json:"new_string" jsonschema_description:"Replacement text."`
	ReplaceAll           bool   `json:"replace_all,omitempty" jsonschema_description:"Replace every match (default: old_string must match exactly once)."`
	ExpectedReplacements int    `json:"expected_replacements,omitempty" jsonschema_description:"How many matches old_string must have (default 1; with replace_all, any)."`
}

type editFileArgs struct {
	Path     string         `json:"path" jsonschema_description:"File to edit: absolute, or relative to the session's cwd. A symlink's target is edited."`
	Edits    []editFileEdit `json:"edits" jsonschema_description:"Exact replacements, applied in order to the result of the previous one; if any fails, nothing is written."`
	Session  string         `json:"session,omitempty" jsonschema_description:"Session whose cwd resolves a relative path (default: \"default\")."`
	DryRun   bool           `json:"dry_run,omitempty" jsonschema_description:"Return the diff without writing."`
	IfSHA256 string         `json:"if_sha256,omitempty" jsonschema_description:"Refuse unless the file's sha256 (from read_file) is still this."`
}

type editFileLines struct {
	Start int `json:"start"`
	End   int `json:"end" jsonschema_description:"Inclusive; start-1 for a pure deletion before line start."`
}

type editFileResult struct {
	Path          string          `json:"path" jsonschema_description:"Absolute path."`
	Written       bool            `json:"written" jsonschema_description:"False for a dry run."`
	Replacements  int             `json:"replacements" jsonschema_description:"Replacements made by all edits."`
	Diff          string          `json:"diff" jsonschema_description:"Unified diff with 3 lines of context."`
	DiffTruncated bool            `json:"diff_truncated,omitempty" jsonschema_description:"The diff was cut at 128 KiB."`
	ChangedLines  []editFileLines `json:"changed_lines" jsonschema_description:"Changed line ranges of the new file."`
	SHA256        string          `json:"sha256" jsonschema_description:"sha256 of the new content (hex): pass it as if_sha256 next time."`
	Size          int64           `json:"size" jsonschema_description:"New size in bytes."`
	LineEndings   string          `json:"line_endings" jsonschema:"enum=lf,enum=crlf" jsonschema_description:"The file's line endings, kept as they were."`
	Target        string          `json:"target,omitempty" jsonschema_description:"The file actually edited when path is a symlink."`
}

func (r editFileResult) Text() string {
	var b strings.Builder
	verb := "Edited"
	if !r.Written {
		verb = "Dry run, nothing written:"
	}
	fmt.Fprintf(&b, "%s %s (%d replacement%s, sha256 %s)", verb, r.Path, r.Replacements, plural(r.Replacements), r.SHA256)
	if r.Target != "" {
		b.WriteString(" through the symlink to " + r.Target)
	}
	b.WriteString("\n")
	b.WriteString(r.Diff)
	if r.DiffTruncated {
		b.WriteString("[diff cut at 128 KiB]\n")
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func init() {
	register("edit_file", []string{SetFiles}, true, func(d *Deps) server.Tool {
		return server.NewTool("edit_file",
			"Edit a UTF-8 text file (≤ 32 MiB) by exact replacements, in order, all or nothing; returns a unified diff and the new sha256. "+
				"Keeps CRLF, mode, owner, symlinks.",
			server.Annotations{Title: "Edit file", DestructiveHint: true},
			func(ctx context.Context, call *server.Call, a editFileArgs) (editFileResult, error) {
				if len(a.Edits) == 0 {
					return editFileResult{}, fmt.Errorf("edits is empty: give at least one {old_string, new_string}")
				}
				p, _, err := resolveFilePath(ctx, d, a.Session, a.Path)
				if err != nil {
					return editFileResult{}, err
				}
				req := fileops.EditFileRequest{Path: p, DryRun: a.DryRun, IfSHA256: a.IfSHA256, Edits: make([]fileops.Edit, len(a.Edits))}
				for i, e := range a.Edits {
					req.Edits[i] = fileops.Edit{OldString: e.OldString, NewString: e.NewString, ReplaceAll: e.ReplaceAll, Expected: e.ExpectedReplacements}
				}
				res, err := fileops.EditFile(ctx, d.CurrentSandbox(), req)
				if err != nil {
					return editFileResult{}, adviseEditError(err)
				}
				out := editFileResult{
					Path: p, Written: !a.DryRun, Diff: res.Diff, DiffTruncated: res.DiffTruncated,
					SHA256: res.SHA256, Size: res.Size, LineEndings: "lf", Target: res.Target,
					ChangedLines: make([]editFileLines, len(res.Changed)),
				}
				if res.CRLF {
					out.LineEndings = "crlf"
				}
				for _, n := range res.Replacements {
					out.Replacements += n
				}
				for i, c := range res.Changed {
					out.ChangedLines[i] = editFileLines{c.Start, c.End}
				}
				return out, nil
			})
	})
}

// adviseEditError adds what to do to an edit_file failure.
func adviseEditError(err error) error {
	var oe *isolation.OpError
	if !errors.As(err, &oe) {
		return err
	}
	switch oe.Kind {
	case fileops.KindNoMatch:
		return withAdvice(err, "copy old_string exactly from read_file (without line numbers), white space included")
	case fileops.KindMatchCount:
		return withAdvice(err, "add surrounding lines to old_string to make it unique, or set replace_all: true or expected_replacements")
	case fileops.KindStale:
		return withAdvice(err, "read the file again and redo the edit on what it holds now")
	case isolation.KindNotFound:
		return withAdvice(err, "check the path (list_files shows what exists); create a new file with write_file")
	case isolation.KindTooLarge:
		return withAdvice(err, "use write_file or exec for it")
	case isolation.KindInvalid:
		if strings.Contains(oe.Msg, "UTF-8") {
			return withAdvice(err, "edit it with write_file (encoding base64) or exec")
		}
	}
	return adviseFileError("edit_file", err)
}
