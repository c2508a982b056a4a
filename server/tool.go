package server

import (
	"context"
	"encoding/json"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/invopop/jsonschema"
)

// Annotations are the MCP tool annotations (hints for the client).
type Annotations struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    bool   `json:"readOnlyHint"`
	DestructiveHint bool   `json:"destructiveHint"`
	IdempotentHint  bool   `json:"idempotentHint"`
	OpenWorldHint   bool   `json:"openWorldHint"`
}

// Content is one MCP content block (text or image).
type Content struct {
	Type     string `json:"type"`               // "text" or "image"
	Text     Text   `json:"text,omitzero"`      // for "text"
	Data     string `json:"data,omitempty"`     // base64, for "image"
	MimeType string `json:"mimeType,omitempty"` // for "image"
}

// Result is what a tool handler returns. Content is always sent; Structured
// goes out as structuredContent when the negotiated version supports it.
type Result struct {
	Content    []Content
	Structured any
	IsError    bool
}

// Texter lets a typed result choose its readable text block; without it the
// text block is the indented JSON of the result.
type Texter interface{ Text() string }

// BlockTexter is a Texter whose text block may be bytes (Bytes), which go
// out without being copied into a string: a file's content. It takes
// precedence over Texter.
type BlockTexter interface{ TextBlock() Text }

// Imager lets a typed result add image blocks after the text block.
type Imager interface{ Images() []Content }

// Tool is one registered MCP tool. Build typed tools with NewTool.
type Tool struct {
	Name         string
	Title        string
	Description  string
	Annotations  Annotations
	InputSchema  json.RawMessage // root {"type":"object",...}, no $ref (see Schemas)
	OutputSchema json.RawMessage // nil when the tool returns no structured data (see Schemas)
	// Handle runs the call. args is the raw "arguments" object ({} when absent).
	Handle func(ctx context.Context, call *Call, args json.RawMessage) *Result

	schemas func() (in, out json.RawMessage) // lazy schemas (NewTool)
}

// Schemas returns the tool's input and output schemas, generating them on
// first use for tools built with NewTool.
func (t *Tool) Schemas() (in, out json.RawMessage) {
	if t.schemas != nil {
		return t.schemas()
	}
	return t.InputSchema, t.OutputSchema
}

// Call gives a running handler access to per-call protocol facilities.
// It is safe for concurrent use.
type Call struct {
	// progress is nil when the request carried no _meta.progressToken.
	progress func(progress float64, message Text, meta map[string]any)
	// log sends notifications/message (nil: logging not wired).
	log func(level, logger string, data any)
	// after runs once the response is written or dropped (AfterResponse).
	after []func()
}

// AfterResponse arranges for f to run once the call's response has been
// written (or dropped, when the call was cancelled): a handler whose result
// refers to a pooled buffer gives it back there. Call it from the handler's
// goroutine.
func (c *Call) AfterResponse(f func()) {
	if c != nil {
		c.after = append(c.after, f)
	}
}

// responded runs the AfterResponse functions.
func (c *Call) responded() {
	for _, f := range c.after {
		f()
	}
	c.after = nil
}

// Text is a string, or bytes of valid UTF-8 that are encoded straight from
// the caller's buffer: a streamed chunk or a file's content need not be
// copied into a string first. In a JSON value it is a string.
type Text struct {
	s string
	b []byte
}

// String is a Text holding s.
func String(s string) Text { return Text{s: s} }

// Bytes is a Text holding b, which must be valid UTF-8. As a progress
// message b is not kept after the call that takes it returns; in a result
// it must stay unchanged until the response is written (AfterResponse).
func Bytes(b []byte) Text { return Text{b: b} }

// cut splits t after about n bytes, at the start of a rune (so a piece
// never ends inside a valid UTF-8 sequence).
func (t Text) cut(n int) (head, tail Text) {
	if t.Len() <= n {
		return t, Text{}
	}
	if t.b != nil {
		if i := runeStartAtOrBefore(t.b, n); i > 0 {
			n = i
		}
		return Bytes(t.b[:n]), Bytes(t.b[n:])
	}
	if i := runeStartAtOrBefore(t.s, n); i > 0 {
		n = i
	}
	return String(t.s[:n]), String(t.s[n:])
}

// IsZero reports whether t is empty (omitzero).
func (t Text) IsZero() bool { return t.Len() == 0 }

// MarshalJSONTo writes t as a JSON string (v2 encoder).
func (t Text) MarshalJSONTo(enc *jsontext.Encoder) error {
	if t.b != nil {
		return enc.WriteValue(t.appendQuoted(nil))
	}
	return enc.WriteToken(jsontext.String(t.s))
}

// MarshalJSON writes t as a JSON string (encoding/json).
func (t Text) MarshalJSON() ([]byte, error) { return t.appendQuoted(nil), nil }

// appendQuoted appends t as a JSON string (appendQuoted).
func (t Text) appendQuoted(dst []byte) []byte {
	return append(t.appendQuotedBody(append(dst, '"')), '"')
}

// appendQuotedBody is appendQuoted without the quotes.
func (t Text) appendQuotedBody(dst []byte) []byte {
	if t.b != nil {
		return appendQuotedBody(dst, t.b)
	}
	return appendQuotedBody(dst, t.s)
}

// JSONSchema gives Text the schema of a string (invopop/jsonschema).
func (Text) JSONSchema() *jsonschema.Schema { return &jsonschema.Schema{Type: "string"} }

// Len is the message's length in bytes.
func (t Text) Len() int { return len(t.s) + len(t.b) }

// String returns the message as a string.
func (t Text) String() string {
	if t.b != nil {
		return string(t.b)
	}
	return t.s
}

// NewCall returns a Call whose Progress forwards to fn (nil: no progress token).
func NewCall(fn func(progress float64, message Text, meta map[string]any)) *Call {
	return &Call{progress: fn}
}

// WantsProgress reports whether the client asked for progress notifications.
func (c *Call) WantsProgress() bool { return c != nil && c.progress != nil }

// Progress sends notifications/progress when the client asked for it. progress
// must strictly increase across calls (values that do not are bumped); meta
// becomes the notification's params._meta. Every notification is written
// before the call's response.
func (c *Call) Progress(progress float64, message string, meta map[string]any) {
	c.ProgressText(progress, String(message), meta)
}

// ProgressText is Progress with a message that may be bytes (see Bytes).
func (c *Call) ProgressText(progress float64, message Text, meta map[string]any) {
	if c.WantsProgress() {
		c.progress(progress, message, meta)
	}
}

// Log sends an MCP log message (notifications/message) at level (debug,
// info, notice, warning, error, critical, alert, emergency) when the client
// asked for that level with logging/setLevel. Never pass secrets.
func (c *Call) Log(level string, data any) {
	if c != nil && c.log != nil {
		c.log(level, "sbx-mcp", data)
	}
}
