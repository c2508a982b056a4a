package tools

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/server"
)

// readFileTextBudget bounds the quoted size of utf-8 content (a control
// character takes six bytes), so a text result stays far below 10 MiB even
// though it appears twice (text block and structuredContent).
const readFileTextBudget = 3 << 20

// readFileDefault bounds what a read_file without length returns (text, or
// the bytes behind base64; images are whole), so a default result stays
// under ~80 KB with its two copies: clients such as Claude Code refuse
// results over 25,000 tokens. length asks for more.
const readFileDefault = 32 << 10

type readFileArgs struct {
	Path     string `json:"path" jsonschema_description:"File to read: absolute, or relative to the session's cwd."`
	Session  string `json:"session,omitempty" jsonschema_description:"Session whose cwd resolves a relative path (default: \"default\")."`
	Encoding string `json:"encoding,omitempty" jsonschema:"enum=auto,enum=utf-8,enum=base64" jsonschema_description:"auto (default): UTF-8 text as is and anything else as base64; utf-8 fails on binary; base64 always."`
	Offset   int64  `json:"offset,omitempty" jsonschema_description:"Byte offset to start at (default 0)."`
	Length   int64  `json:"length,omitempty" jsonschema_description:"Bytes to read (default 32768, images whole; max 2097152)."`
	// Line paging (text files), apart from the byte offset/length above.
	StartLine int64 `json:"start_line,omitempty" jsonschema_description:"Read by lines instead of bytes (text files): first line, 1-based. The result has total_lines and next_start_line."`
	MaxLines  int64 `json:"max_lines,omitempty" jsonschema_description:"Lines to read from start_line (default 2000 or 32 KiB of whole lines, whichever is less; given: up to 2 MiB)."`
}

type readFileResult struct {
	Path       string      `json:"path" jsonschema_description:"Absolute path."`
	Content    server.Text `json:"content" jsonschema_description:"The bytes read, as text or base64 (see encoding)."`
	Encoding   string      `json:"encoding" jsonschema:"enum=utf-8,enum=base64"`
	MimeType   string      `json:"mime_type" jsonschema_description:"Sniffed from the content with the extension as a hint."`
	Size       int64       `json:"size" jsonschema_description:"Size of the whole file in bytes."`
	IsBinary   bool        `json:"is_binary" jsonschema_description:"The bytes are not UTF-8 text."`
	Truncated  bool        `json:"truncated" jsonschema_description:"More bytes follow: call again with offset=next_offset."`
	Offset     int64       `json:"offset" jsonschema_description:"Offset of the first byte returned."`
	NextOffset int64       `json:"next_offset,omitempty" jsonschema_description:"Where the next page starts (when truncated)."`
	SHA256     string      `json:"sha256,omitempty" jsonschema_description:"sha256 of the whole file (hex), for edit_file's if_sha256."`
	// Line paging only.
	TotalLines    *int64 `json:"total_lines,omitempty" jsonschema_description:"Line reads: lines in the whole file (-1 past 512 MiB, not counted)."`
	StartLine     int64  `json:"start_line,omitempty" jsonschema_description:"Line reads: first line returned."`
	EndLine       int64  `json:"end_line,omitempty" jsonschema_description:"Line reads: last line returned."`
	NextStartLine int64  `json:"next_start_line,omitempty" jsonschema_description:"Line reads: start_line of the next page (when truncated)."`

	image bool // send the bytes as an image block too
}

// TextBlock is the content itself in the common case (text, whole), sent
// from the read's buffer without a copy; otherwise Text.
func (r readFileResult) TextBlock() server.Text {
	if !r.image && r.Encoding != "base64" && r.Content.Len() > 0 && !r.Truncated {
		return r.Content
	}
	return server.String(r.Text())
}

func (r readFileResult) Text() string {
	content := r.Content.String()
	if !r.image && r.Encoding != "base64" && content != "" && !r.Truncated {
		return content
	}
	var b strings.Builder
	switch {
	case r.image:
		fmt.Fprintf(&b, "Image %s (%s, %d bytes), returned as an image block; base64 is in structuredContent.", r.Path, r.MimeType, r.Size)
	case r.Encoding == "base64":
		fmt.Fprintf(&b, "Binary file %s (%s, %d bytes); content as base64:\n%s", r.Path, r.MimeType, r.Size, content)
	case content == "" && !r.Truncated:
		fmt.Fprintf(&b, "[%s: no content at offset %d; size %d bytes]", r.Path, r.Offset, r.Size)
	default:
		b.WriteString(content)
	}
	switch {
	case r.Truncated && r.TotalLines != nil && r.NextStartLine > 0:
		fmt.Fprintf(&b, "\n\n[truncated: returned lines %d-%d of %d; call read_file with start_line=%d to read on]",
			r.StartLine, r.EndLine, *r.TotalLines, r.NextStartLine)
	case r.Truncated:
		fmt.Fprintf(&b, "\n\n[truncated: returned bytes %d-%d of %d; call read_file with offset=%d to read on]",
			r.Offset, r.NextOffset, r.Size, r.NextOffset)
	}
	return b.String()
}

func (r readFileResult) Images() []server.Content {
	if !r.image {
		return nil
	}
	return []server.Content{{Type: "image", Data: r.Content.String(), MimeType: r.MimeType}}
}

// imageTypes are sent as MCP image blocks as well.
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

func init() {
	register("read_file", []string{SetCore, SetFiles}, false, func(d *Deps) server.Tool {
		return server.NewTool("read_file",
			"Read a file. Limits: 32 KiB per call by default, up to 2 MiB with length; page by bytes (offset/length) or lines (start_line/max_lines). "+
				"Text as UTF-8, other bytes as base64; PNG/JPEG/GIF/WebP also as an image. Regular files only.",
			server.Annotations{Title: "Read file", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, a readFileArgs) (readFileResult, error) {
				switch a.Encoding {
				case "", "auto", "utf-8", "base64":
				default:
					return readFileResult{}, fmt.Errorf("encoding must be auto, utf-8 or base64, not %q", a.Encoding)
				}
				if a.Offset < 0 || a.Length < 0 {
					return readFileResult{}, fmt.Errorf("offset and length must not be negative")
				}
				p, _, err := resolveFilePath(ctx, d, a.Session, a.Path)
				if err != nil {
					return readFileResult{}, err
				}
				if a.StartLine != 0 || a.MaxLines != 0 {
					return readLines(ctx, d, p, a)
				}
				res, err := fileops.ReadFile(ctx, d.CurrentSandbox(), fileops.ReadFileRequest{Path: p, Offset: a.Offset, Length: a.Length})
				if err != nil {
					return readFileResult{}, adviseFileError("read_file", err)
				}
				return encodeRead(p, a.Encoding, a.Offset, res, a.Length > 0)
			})
	})
}

// encodeRead turns the bytes read into a result: it picks the encoding,
// sniffs the mime type and keeps text within readFileTextBudget.
func encodeRead(path, encoding string, offset int64, res fileops.ReadFileResult, lengthGiven bool) (readFileResult, error) {
	data := res.Data
	head := res.Head
	if offset == 0 {
		head = data[:min(len(data), 512)]
	}
	out := readFileResult{
		Path: path, Size: res.Size, Truncated: res.Truncated, Offset: offset,
		MimeType: sniffMime(path, head),
	}
	// A page boundary may split a UTF-8 sequence: the text stops before it
	// and the next page starts with it.
	text := data
	if res.Truncated {
		text = trimPartialRune(data)
	}
	isText := utf8.Valid(text) && !containsNUL(text)
	out.IsBinary = !isText
	if out.IsBinary && out.MimeType == "text/plain" {
		out.MimeType = "application/octet-stream" // the sniffer calls any bytes without control characters text
	}
	if encoding == "utf-8" && !utf8.Valid(text) {
		return out, fmt.Errorf("read_file %s: not valid UTF-8 text (%s); read it with encoding \"base64\"", path, out.MimeType)
	}
	if encoding == "utf-8" || (encoding != "base64" && isText) {
		budget := readFileTextBudget
		if !lengthGiven {
			budget = readFileDefault
		}
		if n := server.QuotedPrefix(text, budget); n < len(text) {
			text = text[:n]
			out.Truncated = true
		}
		out.Encoding = "utf-8"
		data = text
	} else {
		out.Encoding = "base64"
		whole := offset == 0 && !res.Truncated
		if !lengthGiven && len(data) > readFileDefault && !(imageTypes[out.MimeType] && whole) {
			data = data[:readFileDefault]
			out.Truncated = true
		}
		text = make([]byte, base64.StdEncoding.EncodedLen(len(data)))
		base64.StdEncoding.Encode(text, data)
	}
	// The content is handed to the server with the read's buffer (the text
	// itself, or what it was encoded from), which the server gives back
	// once the response is written.
	out.SHA256 = res.SHA256()
	out.Content = server.OwnedBytes(text, res.Release)
	if out.Truncated {
		out.NextOffset = offset + int64(len(data))
	}
	out.image = imageTypes[out.MimeType] && offset == 0 && !out.Truncated && out.Encoding == "base64"
	return out, nil
}

func containsNUL(b []byte) bool {
	return bytes.IndexByte(b, 0) >= 0
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

// textTypes are extension types (besides text/*) that hold text.
var textTypes = map[string]bool{
	"application/json": true, "application/javascript": true, "application/xml": true,
	"application/x-sh": true, "application/toml": true, "application/yaml": true, "application/x-yaml": true,
	"image/svg+xml": true, "application/sql": true, "application/graphql": true,
}

// extTypes are extensions of common source files that Go's mime table and
// a bare container may not know.
var extTypes = map[string]string{
	".go": "text/x-go", ".py": "text/x-python", ".rs": "text/x-rust", ".c": "text/x-c", ".h": "text/x-c",
	".cc": "text/x-c++", ".cpp": "text/x-c++", ".hpp": "text/x-c++", ".java": "text/x-java", ".ts": "text/x-typescript",
	".tsx": "text/x-typescript", ".jsx": "text/javascript", ".sh": "text/x-shellscript", ".bash": "text/x-shellscript",
	".md": "text/markdown", ".yaml": "application/yaml", ".yml": "application/yaml", ".toml": "application/toml",
	".rb": "text/x-ruby", ".php": "text/x-php", ".sql": "application/sql", ".csv": "text/csv", ".txt": "text/plain",
	".json": "application/json", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
	".html": "text/html", ".htm": "text/html", ".xml": "application/xml", ".svg": "image/svg+xml",
}

func isTextType(t string) bool {
	return strings.HasPrefix(t, "text/") || textTypes[t] || strings.HasSuffix(t, "+xml") || strings.HasSuffix(t, "+json")
}

// sniffMime detects the type from the first bytes (net/http's algorithm);
// when that is generic text or binary, the extension refines it if it agrees
// on text versus binary.
func sniffMime(path string, head []byte) string {
	sniffed, _, _ := strings.Cut(http.DetectContentType(head), ";")
	ext := strings.ToLower(filepath.Ext(path))
	byExt := extTypes[ext]
	if byExt == "" && ext != "" {
		byExt, _, _ = strings.Cut(mime.TypeByExtension(ext), ";")
	}
	if byExt == "" {
		return sniffed
	}
	switch {
	case strings.HasPrefix(sniffed, "text/") && isTextType(byExt):
		return byExt
	case sniffed == "application/octet-stream" && !isTextType(byExt):
		return byExt
	}
	return sniffed
}

// readLines is read_file by lines.
func readLines(ctx context.Context, d *Deps, p string, a readFileArgs) (readFileResult, error) {
	if a.Offset != 0 || a.Length != 0 {
		return readFileResult{}, fmt.Errorf("give either offset/length (bytes) or start_line/max_lines (lines), not both")
	}
	if a.StartLine < 0 || a.MaxLines < 0 {
		return readFileResult{}, fmt.Errorf("start_line and max_lines must not be negative")
	}
	if a.Encoding == "base64" {
		return readFileResult{}, fmt.Errorf("start_line/max_lines read text; for base64 use offset/length")
	}
	req := fileops.ReadLinesRequest{Path: p, StartLine: a.StartLine, MaxLines: a.MaxLines}
	if a.MaxLines == 0 {
		// The default page also keeps to the default size, so a file of long
		// lines does not make a result past what clients accept.
		req.MaxBytes = readFileDefault
	}
	res, err := fileops.ReadLines(ctx, d.Sandbox, req)
	if err != nil {
		return readFileResult{}, adviseFileError("read_file", err)
	}
	text := res.Data
	if res.LineCut {
		text = trimPartialRune(text)
	}
	if !utf8.Valid(text) || containsNUL(text) {
		return readFileResult{}, fmt.Errorf("read_file %s: not UTF-8 text, so it cannot be read by lines; read it with offset/length (it comes back as base64)", p)
	}
	if n := server.QuotedPrefix(text, readFileTextBudget); n < len(text) {
		// Control characters quote six times larger: keep whole lines.
		cut := bytes.LastIndexByte(text[:n], '\n') + 1
		if cut == 0 {
			cut = n
		}
		text = text[:cut]
		res.EndLine = res.StartLine + int64(bytes.Count(text, []byte{'\n'})) - 1
		res.Truncated = true
	}
	total := res.TotalLines
	out := readFileResult{
		Path: p, Content: server.Bytes(text), Encoding: "utf-8", MimeType: sniffMime(p, text[:min(len(text), 512)]),
		Size: res.Size, Truncated: res.Truncated, Offset: res.ByteOffset, SHA256: res.SHA256,
		TotalLines: &total, StartLine: res.StartLine, EndLine: res.EndLine,
	}
	if out.Truncated {
		out.NextOffset = res.ByteOffset + int64(len(text))
		out.NextStartLine = res.EndLine + 1
		if res.LineCut {
			out.NextStartLine = 0 // the rest of a cut line is reachable by bytes (next_offset)
		}
	}
	return out, nil
}
