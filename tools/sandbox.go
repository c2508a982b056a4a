package tools

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// CurrentSandbox returns the current sandbox (nil when it failed to start).
func (d *Deps) CurrentSandbox() *isolation.Sandbox {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Sandbox
}

// Restarts returns how many times a dead sandbox was replaced and why the
// last one died.
func (d *Deps) Restarts() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.restarts, d.lastLoss
}

// current returns the sandbox a call should use: while a dead one is being
// replaced it waits for the replacement (or ctx).
func (d *Deps) current(ctx context.Context) *isolation.Sandbox {
	for {
		d.mu.Lock()
		sb, replaced := d.Sandbox, d.replaced
		d.mu.Unlock()
		if sb == nil || sb.Lost() == nil {
			return sb
		}
		select {
		case <-replaced:
		case <-ctx.Done():
			return sb
		}
	}
}

// Supervise replaces the sandbox whenever its init dies on its own, until
// ctx ends: it logs the loss once, starts a fresh sandbox with start, hands
// it to the managers (each session's next command, each context's next
// cell start fresh there and say the state was lost) and counts the
// restart. Calls arriving meanwhile wait for it (current). When the
// replacement fails to start, tools report that as a failed start.
func (d *Deps) Supervise(ctx context.Context, start func(context.Context) (*isolation.Sandbox, error)) {
	for {
		old := d.CurrentSandbox()
		if old == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-old.Gone():
		}
		lost := old.Lost()
		if lost == nil {
			return // closed by us
		}
		d.Log.Error().Err(lost).Msg("the sandbox died; starting a fresh one (sessions, processes and code contexts are lost)")
		sb, err := start(ctx)
		if err == nil {
			d.Sessions.SetSandbox(sb)
			d.Processes.SetSandbox(sb)
			d.Interp.SetSandbox(sb)
		}
		d.mu.Lock()
		d.lastLoss = lost
		if err != nil {
			d.Sandbox, d.SandboxErr = nil, fmt.Errorf("%v; starting a fresh sandbox failed: %w", lost, err)
		} else {
			d.Sandbox = sb
			d.restarts++
		}
		close(d.replaced)
		d.replaced = make(chan struct{})
		d.mu.Unlock()
		old.Close() // its cgroups and the rest
		if err != nil {
			d.Log.Error().Err(err).Msg("the fresh sandbox failed to start")
			return
		}
		d.Log.Warn().Int("restarts", d.restarts).Msg("a fresh sandbox replaced the dead one")
	}
}

// DialInside dials port inside the current sandbox (the port forwarder
// dials through Deps, so a replaced sandbox takes over its exposed ports).
func (d *Deps) DialInside(ctx context.Context, port int) (net.Conn, error) {
	sb := d.current(ctx)
	if sb == nil {
		return nil, errors.New("the sandbox is not running")
	}
	return sb.DialInside(ctx, port)
}
