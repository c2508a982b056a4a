package server

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"

	"github.com/sbx-mcp/sbx-mcp/jsonwire"
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
	// Tasks lets a call that is still running after TaskOptions.After
	// become a task for a client with the Tasks extension (WithTasks).
	Tasks bool
	// Key, when set, names the line a call waits in, from its raw
	// arguments: calls with the same key run one at a time in arrival
	// order (a session's commands), while later ones hold no slot; ""
	// puts the call in no line. It runs on the read loop: keep it cheap
	// (StringArg) and never trust it for anything but ordering.
	Key func(args json.RawMessage) string

	schemas func() (in, out json.RawMessage) // lazy schemas (NewTool)
}

// WithTasks returns t marked as long-running: for a client that declared
// the Tasks extension, a call still running after TaskOptions.After is
// answered with a task handle and goes on in the background.
func (t Tool) WithTasks() Tool {
	t.Tasks = true
	return t
}

// WithKey returns t with Key set to key.
func (t Tool) WithKey(key func(args json.RawMessage) string) Tool {
	t.Key = key
	return t
}

// WithDescriptions returns t with f applied to its description and to
// every description in its input schema (for example to drop sentences
// about tools that are not exposed). The schema is rewritten on first use.
func (t Tool) WithDescriptions(f func(string) string) Tool {
	orig := t
	t.Description = f(t.Description)
	var (
		once    sync.Once
		in, out json.RawMessage
	)
	t.schemas = func() (json.RawMessage, json.RawMessage) {
		once.Do(func() {
			in, out = orig.Schemas()
			in = mapDescriptions(in, f)
		})
		return in, out
	}
	return t
}

// mapDescriptions applies f to every "description" string of schema
// (schema itself when none changes).
func mapDescriptions(schema json.RawMessage, f func(string) string) json.RawMessage {
	var m any
	if len(schema) == 0 || json.Unmarshal(schema, &m) != nil {
		return schema
	}
	changed := false
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if d, ok := c.(string); ok && k == "description" {
					if nd := f(d); nd != d {
						x[k] = nd
						changed = true
					}
					continue
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(m)
	if !changed {
		return schema
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(m) != nil {
		return schema
	}
	return json.RawMessage(bytes.TrimSpace(buf.Bytes()))
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
	// wantsLog reports whether a message at level would go out (nil: no).
	wantsLog func(level string) bool
	// output keeps the tail of the call's output for a task's status
	// message (nil: the call cannot become a task).
	output func(data []byte)
	// after runs once the response is written or dropped (afterResponse).
	after []func()
}

// afterResponse arranges for f to run once the call's response has been
// written (or dropped, when the call was cancelled): the server gives back
// the buffers of a call's arguments there. Call it from the handler's
// goroutine.
func (c *Call) afterResponse(f func()) {
	if c != nil {
		c.after = append(c.after, f)
	}
}

// responded runs the afterResponse functions.
func (c *Call) responded() {
	for _, f := range c.after {
		f()
	}
	c.after = nil
}

// Text is a string, or bytes of valid UTF-8 encoded straight from the
// caller's buffer; in a JSON value it is a string (jsonwire.Text).
type Text = jsonwire.Text

// String is a Text holding s.
func String(s string) Text { return jsonwire.String(s) }

// Bytes is a Text holding b, which must be valid UTF-8. As a progress
// message b is not kept after the call that takes it returns; in a result
// it must stay unchanged until the response is written.
func Bytes(b []byte) Text { return jsonwire.Bytes(b) }

// OwnedBytes is Bytes for a buffer the result hands over to the server:
// release gives it back once the response holding it has been written (a
// dropped response leaves it to the garbage collector). Handlers never
// release result buffers themselves.
func OwnedBytes(b []byte, release func()) Text { return jsonwire.OwnedBytes(b, release) }

// TextBytes is a string argument decoded straight into a recycled buffer
// (jsonwire.TextBytes). A handler may use the bytes until its call's
// response is written; the server gives the buffer back after that.
type TextBytes = jsonwire.TextBytes

// QuotedPrefix returns how many bytes of the valid UTF-8 text s fit in
// budget bytes once quoted as a JSON string on the wire (quotes included),
// cut at a rune boundary. A tool whose result carries a large text uses it
// to stay within a size it promises.
func QuotedPrefix[T string | []byte](s T, budget int) int { return jsonwire.QuotedPrefix(s, budget) }

// Encode returns v as the server puts it on the wire, without the newline.
func Encode(v any) ([]byte, error) { return jsonwire.Encode(v) }

// NewCall returns a Call whose Progress forwards to fn (nil: no progress token).
func NewCall(fn func(progress float64, message Text, meta map[string]any)) *Call {
	return &Call{progress: fn}
}

// WantsProgress reports whether the client asked for progress notifications.
func (c *Call) WantsProgress() bool { return c != nil && c.progress != nil }

// WantsOutput reports whether the server would like the command output the
// call produces as it runs (Output), for the status of a task the call may
// become.
func (c *Call) WantsOutput() bool { return c != nil && c.output != nil }

// Output hands the server a piece of the call's output as it is produced
// (it keeps a short tail; data is not kept after Output returns). Progress
// messages count as output too.
func (c *Call) Output(data []byte) {
	if c.WantsOutput() {
		c.output(data)
	}
}

// Progress sends notifications/progress when the client asked for it. progress
// must strictly increase across calls (values that do not are bumped); meta
// becomes the notification's params._meta. Every notification is written
// before the call's response.
func (c *Call) Progress(progress float64, message string, meta map[string]any) {
	c.ProgressText(progress, String(message), meta)
}

// ProgressText is Progress with a message that may be bytes (see Bytes).
func (c *Call) ProgressText(progress float64, message Text, meta map[string]any) {
	if c.WantsOutput() && meta["encoding"] == nil {
		c.output(textBytes(message))
	}
	if c.WantsProgress() {
		c.progress(progress, message, meta)
	}
}

// textBytes returns t's bytes without a copy when it holds bytes.
func textBytes(t Text) []byte {
	if b, ok := t.Raw(); ok {
		return b
	}
	return []byte(t.String())
}

// WantsLog reports whether Log at level would send anything: a tool can
// skip gathering what only a log line needs.
func (c *Call) WantsLog(level string) bool {
	return c != nil && c.wantsLog != nil && c.wantsLog(level)
}

// Log sends an MCP log message (notifications/message) at level (debug,
// info, notice, warning, error, critical, alert, emergency) when the client
// asked for that level: a legacy client with logging/setLevel, a modern
// request with _meta io.modelcontextprotocol/logLevel. It goes out before
// the call's response or not at all. Never pass secrets.
func (c *Call) Log(level string, data any) {
	if c != nil && c.log != nil {
		c.log(level, "sbx-mcp", data)
	}
}
