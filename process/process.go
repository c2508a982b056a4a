// Package process manages background processes started inside the sandbox:
// bounded logs with stable offsets, status, tree kills, waits.
package process

import (
	"github.com/rs/zerolog"

	"github.com/sbx-mcp/sbx-mcp/isolation"
	"github.com/sbx-mcp/sbx-mcp/session"
)

// Options configure a Manager.
type Options struct {
	MaxOutput int // bytes of log kept per stream
	Log       zerolog.Logger
}

// Manager owns every background process of one sandbox.
type Manager struct {
	sb       *isolation.Sandbox
	sessions *session.Manager
	opts     Options
}

// NewManager returns a Manager.
func NewManager(sb *isolation.Sandbox, sessions *session.Manager, opts Options) *Manager {
	return &Manager{sb: sb, sessions: sessions, opts: opts}
}

// Close kills every background process.
func (m *Manager) Close() {}
