// Package interp runs code contexts (python, javascript) inside the sandbox
// through small embedded driver programs.
package interp

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// Options configure a Manager.
type Options struct {
	Timeout   time.Duration // default cell timeout
	MaxOutput int
	Log       zerolog.Logger
}

// Manager owns every code context of one sandbox.
type Manager struct {
	sb   *isolation.Sandbox
	opts Options
}

// NewManager returns a Manager; contexts start lazily.
func NewManager(sb *isolation.Sandbox, opts Options) *Manager { return &Manager{sb: sb, opts: opts} }

// Close ends every context.
func (m *Manager) Close() {}
