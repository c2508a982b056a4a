package tools

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type searchFilesArgs struct {
	Pattern         string `json:"pattern" jsonschema_description:"Regular expression (Go RE2 syntax, matched per line; linear time) or, with literal, a fixed string."`
	Path            string `json:"path,omitempty" jsonschema_description:"Directory to search: absolute, or relative to the session's cwd (default: the session's cwd)."`
	Session         string `json:"session,omitempty" jsonschema_description:"Session whose cwd resolves a relative path (default: \"default\")."`
	Literal         bool   `json:"literal,omitempty" jsonschema_description:"pattern is a fixed string, not a regular expression."`
	CaseInsensitive bool   `json:"case_insensitive,omitempty"`
	Glob            string `json:"glob,omitempty" jsonschema_description:"Only files matching this glob: without a slash it matches the file name (\"*.go\", \"*.{ts,tsx}\"), with one the path below path (\"src/**/*.py\")."`
	Exclude         string `json:"exclude,omitempty" jsonschema_description:"Skip files and directories matching this glob (same rules as glob), for example \"{vendor,dist}\"."`
	Mode            string `json:"mode,omitempty" jsonschema:"enum=content,enum=files,enum=count" jsonschema_description:"content (default): matching lines; files: paths of files with a match; count: matching lines per file."`
	ContextLines    int    `json:"context_lines,omitempty" jsonschema_description:"Lines of context before and after each match (content mode, max 10)."`
	MaxResults      int    `json:"max_results,omitempty" jsonschema_description:"Most matches (or files) returned (default 200, max 2000); totals are always complete."`
	IncludeIgnored  bool   `json:"include_ignored,omitempty" jsonschema_description:"Also search what .gitignore and .ignore files exclude (.git is never searched)."`
	IncludeBinary   bool   `json:"include_binary,omitempty" jsonschema_description:"Also search files with a NUL byte in their first 8 KiB."`
	IncludeLarge    bool   `json:"include_large,omitempty" jsonschema_description:"Also search files over 8 MiB (up to 64 MiB)."`
}

type searchMatch struct {
	Path   string   `json:"path" jsonschema_description:"Absolute path."`
	Line   int      `json:"line" jsonschema_description:"1-based line number."`
	Column int      `json:"column" jsonschema_description:"1-based byte column of the first match in the line."`
	Text   string   `json:"text" jsonschema_description:"The line (cut to 300 bytes around the match)."`
	Before []string `json:"before,omitempty" jsonschema_description:"Context lines before."`
	After  []string `json:"after,omitempty" jsonschema_description:"Context lines after."`
}

type searchCount struct {
	Path  string `json:"path"`
	Count int    `json:"count"`
}

type searchFilesResult struct {
	Path          string        `json:"path" jsonschema_description:"Absolute path searched."`
	Mode          string        `json:"mode"`
	Matches       []searchMatch `json:"matches,omitempty" jsonschema_description:"content mode: matching lines in path order."`
	Files         []string      `json:"files,omitempty" jsonschema_description:"files mode: absolute paths of files with a match."`
	Counts        []searchCount `json:"counts,omitempty" jsonschema_description:"count mode: matching lines per file."`
	TotalMatches  int           `json:"total_matches" jsonschema_description:"Matching lines in all files."`
	TotalFiles    int           `json:"total_files" jsonschema_description:"Files with a match."`
	Truncated     bool          `json:"truncated" jsonschema_description:"More results than returned (max_results or the 1 MiB size cap)."`
	FilesSearched int           `json:"files_searched"`
	SkippedBinary int           `json:"skipped_binary,omitempty"`
	SkippedLarge  int           `json:"skipped_large,omitempty"`
	Unreadable    int           `json:"unreadable,omitempty"`
	WalkTruncated bool          `json:"walk_truncated,omitempty" jsonschema_description:"The walk stopped after 2,000,000 entries."`
}

func (r searchFilesResult) Text() string {
	var b strings.Builder
	line := func(path string, n int, sep byte, text string) {
		b.WriteString(path)
		b.WriteByte(sep)
		b.WriteString(strconv.Itoa(n))
		b.WriteByte(sep)
		b.WriteString(text)
		b.WriteByte('\n')
	}
	for _, m := range r.Matches {
		for i, t := range m.Before {
			line(m.Path, m.Line-len(m.Before)+i, '-', t)
		}
		line(m.Path, m.Line, ':', m.Text)
		for i, t := range m.After {
			line(m.Path, m.Line+1+i, '-', t)
		}
		if len(m.Before)+len(m.After) > 0 {
			b.WriteString("--\n")
		}
	}
	for _, f := range r.Files {
		b.WriteString(f + "\n")
	}
	for _, c := range r.Counts {
		fmt.Fprintf(&b, "%s:%d\n", c.Path, c.Count)
	}
	shown := len(r.Matches) + len(r.Files) + len(r.Counts)
	fmt.Fprintf(&b, "[%d matching line%s in %d file%s; %d files searched", r.TotalMatches, plural(r.TotalMatches), r.TotalFiles, plural(r.TotalFiles), r.FilesSearched)
	if r.SkippedBinary > 0 {
		fmt.Fprintf(&b, ", %d binary skipped", r.SkippedBinary)
	}
	if r.SkippedLarge > 0 {
		fmt.Fprintf(&b, ", %d over 8 MiB skipped", r.SkippedLarge)
	}
	if r.Unreadable > 0 {
		fmt.Fprintf(&b, ", %d unreadable", r.Unreadable)
	}
	if r.Truncated {
		fmt.Fprintf(&b, "; showing the first %d: narrow the pattern, glob or path, or raise max_results", shown)
	}
	b.WriteString("]")
	return b.String()
}

func init() {
	register("search_files", []string{SetFiles}, false, func(d *Deps) server.Tool {
		return server.NewTool("search_files",
			"Search file contents, regex or literal. Limits: 200 results (max 2000), lines cut to 300 B; "+
				"skips .gitignore'd, binary and >8 MiB files unless asked. Modes content, files, count.",
			server.Annotations{Title: "Search files", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a searchFilesArgs) (searchFilesResult, error) {
				if a.Pattern == "" {
					return searchFilesResult{}, fmt.Errorf("pattern is empty")
				}
				if a.MaxResults < 0 || a.MaxResults > fileops.SearchMaxResults {
					return searchFilesResult{}, fmt.Errorf("max_results must be between 1 and %d", fileops.SearchMaxResults)
				}
				if a.ContextLines < 0 || a.ContextLines > fileops.SearchMaxContext {
					return searchFilesResult{}, fmt.Errorf("context_lines must be between 0 and %d", fileops.SearchMaxContext)
				}
				path := a.Path
				if path == "" {
					path = "."
				}
				root, _, err := resolveFilePath(ctx, d, a.Session, path)
				if err != nil {
					return searchFilesResult{}, err
				}
				req := fileops.SearchRequest{
					Root: root, Pattern: a.Pattern, Literal: a.Literal, CaseInsensitive: a.CaseInsensitive,
					Mode: a.Mode, Context: a.ContextLines, MaxResults: a.MaxResults,
					IncludeIgnored: a.IncludeIgnored, IncludeBinary: a.IncludeBinary, IncludeLarge: a.IncludeLarge,
				}
				if a.Glob != "" {
					req.Globs = []string{a.Glob}
				}
				if a.Exclude != "" {
					req.Excludes = []string{a.Exclude}
				}
				res, err := fileops.Search(ctx, d.Sandbox, req)
				if err != nil {
					return searchFilesResult{}, adviseSearchError("search_files", err)
				}
				abs := func(rel string) string { return joinClean(res.Root, rel) }
				out := searchFilesResult{
					Path: root, Mode: req.Mode, TotalMatches: res.TotalMatches, TotalFiles: res.TotalFiles,
					Truncated: res.Truncated, FilesSearched: res.FilesSearched, SkippedBinary: res.SkippedBinary,
					SkippedLarge: res.SkippedLarge, Unreadable: res.Unreadable, WalkTruncated: res.WalkTruncated,
				}
				if out.Mode == "" {
					out.Mode = "content"
				}
				for _, m := range res.Matches {
					out.Matches = append(out.Matches, searchMatch{Path: abs(m.Path), Line: m.Line, Column: m.Column, Text: m.Text, Before: m.Before, After: m.After})
				}
				for _, f := range res.Files {
					out.Files = append(out.Files, abs(f))
				}
				for _, c := range res.Counts {
					out.Counts = append(out.Counts, searchCount{abs(c.Path), c.Count})
				}
				return out, nil
			})
	})
}

// adviseSearchError adds what to do to a search_files or find_files failure.
func adviseSearchError(tool string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "bad regular expression"):
		return withAdvice(err, "fix the pattern (Go RE2 syntax: no lookaround or backreferences), or pass literal: true to search for the text as is")
	case strings.Contains(msg, "bad glob"):
		return withAdvice(err, "use *, ?, [...], {a,b} and ** (any number of directories)")
	}
	return adviseFileError(tool, err)
}
