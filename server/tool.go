package server

import (
	"context"
	"encoding/json"
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
	Text     string `json:"text,omitempty"`     // for "text"
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
}

// Text is a progress message: a string, or bytes of valid UTF-8 that are
// encoded straight from the caller's buffer (a streamed chunk need not be
// copied into a string first).
type Text struct {
	s string
	b []byte
}

// String is a Text holding s.
func String(s string) Text { return Text{s: s} }

// Bytes is a Text holding b, which must be valid UTF-8. b is not kept after
// the call that takes it returns.
func Bytes(b []byte) Text { return Text{b: b} }

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
