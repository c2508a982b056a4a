package interp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/invopop/jsonschema"
	"github.com/rs/zerolog"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// Options configure a Manager.
type Options struct {
	Timeout   time.Duration // default cell timeout
	MaxOutput int
	Max       int // most contexts at once, default ones included (0: no limit)
	Log       zerolog.Logger
}

// Languages supported by run_code.
const (
	Python     = "python"
	JavaScript = "javascript"
)

// Grace is how long an interrupted cell may take to stop before its
// interpreter is killed and restarted.
const Grace = 2 * time.Second

// Manager owns every code context of one sandbox.
type Manager struct {
	box  atomic.Pointer[sandboxRef] // the current sandbox (SetSandbox replaces it)
	opts Options
	base context.Context // cancelled by Close; parent of driver spawns
	stop context.CancelFunc

	mu       sync.Mutex
	contexts map[string]*Context
	seq      int
	closed   bool
}

// NewManager returns a Manager; contexts start lazily. With a nil sandbox
// (it failed to start) every run is an error: code never runs unsandboxed.
func NewManager(sb *isolation.Sandbox, opts Options) *Manager {
	spawn := func(context.Context, isolation.Spec) (proc, error) {
		return nil, errors.New("the sandbox is not running (see sandbox_info): code cannot run")
	}
	if sb != nil {
		spawn = sandboxSpawner(sb)
	}
	return newManager(sb, opts, spawn)
}

// newManager is NewManager with the way drivers are started; package tests
// pass localSpawn.
func newManager(sb *isolation.Sandbox, opts Options, spawn spawnFunc) *Manager {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MaxOutput <= 0 {
		opts.MaxOutput = 256 << 10
	}
	m := &Manager{opts: opts, contexts: map[string]*Context{}}
	m.base, m.stop = context.WithCancel(context.Background())
	m.box.Store(&sandboxRef{sb: sb, spawn: spawn})
	return m
}

// sandboxRef is the sandbox drivers start in and how.
type sandboxRef struct {
	sb    *isolation.Sandbox
	spawn spawnFunc
}

// SetSandbox makes new interpreters start in sb (after the previous sandbox
// died: each context's next cell starts a fresh interpreter there, with
// state_lost).
func (m *Manager) SetSandbox(sb *isolation.Sandbox) {
	m.box.Store(&sandboxRef{sb: sb, spawn: sandboxSpawner(sb)})
}

func (m *Manager) sandbox() *isolation.Sandbox { return m.box.Load().sb }
func (m *Manager) spawn() spawnFunc            { return m.box.Load().spawn }

// Close ends every context.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	cs := m.contexts
	m.contexts = map[string]*Context{}
	m.mu.Unlock()
	m.stop()
	for _, c := range cs {
		c.end()
	}
}

// Info describes one context.
type Info struct {
	ID        string    `json:"id"`
	Language  string    `json:"language"`
	Cwd       string    `json:"cwd"`
	CreatedAt time.Time `json:"created_at"`
}

// Output is one rich result of a cell. PNG and JPEG hold "image:N", the index
// of the image among the Result's Images (sent as MCP image blocks).
type Output struct {
	Text         string    `json:"text,omitempty"`
	HTML         string    `json:"html,omitempty"`
	Markdown     string    `json:"markdown,omitempty"`
	JSON         JSONValue `json:"json,omitempty"`
	SVG          string    `json:"svg,omitempty"`
	PNG          string    `json:"png,omitempty" jsonschema_description:"image:N = the Nth image content block of the response"`
	JPEG         string    `json:"jpeg,omitempty" jsonschema_description:"image:N = the Nth image content block of the response"`
	LaTeX        string    `json:"latex,omitempty"`
	IsMainResult bool      `json:"is_main_result"`
}

// JSONValue is any JSON value (a _repr_json_ result).
type JSONValue json.RawMessage

// MarshalJSON returns the raw value.
func (v JSONValue) MarshalJSON() ([]byte, error) {
	if len(v) == 0 {
		return []byte("null"), nil
	}
	return v, nil
}

// UnmarshalJSON keeps the raw value.
func (v *JSONValue) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = nil
		return nil
	}
	*v = append((*v)[:0], b...)
	return nil
}

// JSONSchema is an explicit schema (not the boolean true schema clients reject).
func (JSONValue) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Description: "any JSON value"}
}

// CellError is an exception raised by the user's code (data, not a tool error).
type CellError struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Traceback string `json:"traceback"`
}

// Image is a PNG or JPEG result, sent as an MCP image block.
type Image struct {
	MimeType string
	Data     string // base64
}

// Result is the outcome of one cell.
type Result struct {
	Results         []Output   `json:"results"`
	Stdout          string     `json:"stdout"`
	Stderr          string     `json:"stderr"`
	StdoutEncoding  string     `json:"stdout_encoding"`
	StderrEncoding  string     `json:"stderr_encoding"`
	StdoutTruncated bool       `json:"stdout_truncated"`
	StderrTruncated bool       `json:"stderr_truncated"`
	Error           *CellError `json:"error,omitempty"`
	ExecutionCount  int        `json:"execution_count"`
	Context         string     `json:"context"`
	Language        string     `json:"language"`
	DurationMs      int64      `json:"duration_ms"`
	TimedOut        bool       `json:"timed_out"`
	// StateLost says the interpreter was restarted (or died): variables and
	// imports from earlier cells are gone.
	StateLost bool    `json:"state_lost"`
	Images    []Image `json:"-"`
}

// RunRequest is one cell to run.
type RunRequest struct {
	Code     string
	Language string // "" = python, or the context's language
	Context  string // "" = the language's default context
	Timeout  time.Duration
	// Progress, when set, receives stdout/stderr chunks as they are written.
	Progress func(progress float64, message string, meta map[string]any)
}

// CreateRequest describes a new context.
type CreateRequest struct {
	Language string
	Cwd      string
	Env      map[string]string
}

// NormalizeLanguage maps accepted spellings to a language name.
func NormalizeLanguage(lang string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(lang)) {
	case "", "python", "python3", "py":
		return Python, nil
	case "javascript", "js", "node", "nodejs":
		return JavaScript, nil
	}
	return "", fmt.Errorf("%w %q: use \"python\" or \"javascript\"", ErrUnknownLanguage, lang)
}

// Create starts a new context and returns its description.
func (m *Manager) Create(ctx context.Context, req CreateRequest) (Info, error) {
	lang, err := NormalizeLanguage(req.Language)
	if err != nil {
		return Info{}, err
	}
	cwd := req.Cwd
	if cwd == "" {
		cwd = m.workdir()
	} else if !strings.HasPrefix(cwd, "/") {
		cwd = strings.TrimSuffix(m.workdir(), "/") + "/" + cwd
	}
	var env []string
	for k, v := range req.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return Info{}, fmt.Errorf("invalid environment variable name %q", k)
		}
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return Info{}, ErrClosed
	}
	if err := m.capLocked(); err != nil {
		m.mu.Unlock()
		return Info{}, err
	}
	m.seq++
	id := fmt.Sprintf("%s-%d", lang, m.seq)
	c := m.newContext(id, lang, cwd, env)
	m.contexts[id] = c
	m.mu.Unlock()
	if err := c.warm(ctx); err != nil {
		m.mu.Lock()
		delete(m.contexts, id)
		m.mu.Unlock()
		c.end()
		return Info{}, fmt.Errorf("start %s context: %w", lang, err)
	}
	return c.info(), nil
}

// capLocked refuses a new context past Options.Max (m.mu held).
func (m *Manager) capLocked() error {
	if m.opts.Max > 0 && len(m.contexts) >= m.opts.Max {
		return fmt.Errorf("%w: %d exist, the limit (--max-contexts) is %d: delete_code_context one you no longer need", ErrTooMany, len(m.contexts), m.opts.Max)
	}
	return nil
}

// List describes every context that exists (default contexts appear once used).
func (m *Manager) List() []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Info, 0, len(m.contexts))
	for _, c := range m.contexts {
		out = append(out, c.info())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Delete ends a context: its interpreter and everything it started.
func (m *Manager) Delete(id string) error {
	m.mu.Lock()
	c, ok := m.contexts[id]
	delete(m.contexts, id)
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w %q (list_code_contexts shows the existing ones)", ErrUnknownContext, id)
	}
	c.end()
	return nil
}

// Run runs one cell. Exceptions in the user's code are data in the Result;
// errors are for unknown languages and contexts, a failed interpreter start,
// and cancellation (ctx.Err()).
func (m *Manager) Run(ctx context.Context, req RunRequest) (*Result, error) {
	c, err := m.lookup(req.Language, req.Context)
	if err != nil {
		return nil, err
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = m.opts.Timeout
	}
	return c.run(ctx, req.Code, timeout, req.Progress)
}

// lookup finds the context for a run, creating a default one on first use.
// A default context's id is its language ("python", "javascript").
func (m *Manager) lookup(language, id string) (*Context, error) {
	var lang string
	if language != "" || id == "" {
		l, err := NormalizeLanguage(language)
		if err != nil {
			return nil, err
		}
		lang = l
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if id == "" {
		id = lang
	}
	c, ok := m.contexts[id]
	if !ok {
		if id != Python && id != JavaScript {
			return nil, fmt.Errorf("%w %q: create it with create_code_context or omit context to use the default one", ErrUnknownContext, id)
		}
		if err := m.capLocked(); err != nil {
			return nil, err
		}
		c = m.newContext(id, id, m.workdir(), nil)
		m.contexts[id] = c
	}
	if lang != "" && c.lang != lang {
		return nil, fmt.Errorf("context %q runs %s, not %s", id, c.lang, lang)
	}
	return c, nil
}

func (m *Manager) workdir() string {
	if sb := m.sandbox(); sb != nil {
		if w := sb.Workdir(); w != "" {
			return w
		}
	}
	wd, _ := os.Getwd()
	return wd
}

// baseEnv is the environment every driver starts from.
func (m *Manager) baseEnv() []string {
	if sb := m.sandbox(); sb != nil {
		return sb.BaseEnv()
	}
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "LANG=C.UTF-8"}
}
