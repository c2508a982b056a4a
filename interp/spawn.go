package interp

import (
	"context"
	"syscall"
	"time"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// proc is a started driver process. The production implementation spawns
// through the sandbox; the package tests run the driver as a plain local
// subprocess (localSpawn, in spawn_local_test.go).
type proc interface {
	Done() <-chan struct{}
	Exit() isolation.ExitStatus
	// Interrupt sends SIGINT to the driver alone (not to what it started),
	// like Jupyter's interrupt.
	Interrupt() error
	// Kill SIGKILLs the driver and every process it started.
	Kill()
	// Lost says why the sandbox the driver ran in died (nil: it did not).
	Lost() error
}

type spawnFunc func(ctx context.Context, spec isolation.Spec) (proc, error)

func sandboxSpawner(sb *isolation.Sandbox) spawnFunc {
	return func(ctx context.Context, spec isolation.Spec) (proc, error) {
		p, err := sb.Spawn(ctx, spec)
		if err != nil {
			return nil, err
		}
		return &sbProc{sb: sb, p: p, tag: spec.Tag}, nil
	}
}

type sbProc struct {
	sb  *isolation.Sandbox
	p   *isolation.Process
	tag string
}

func (p *sbProc) Done() <-chan struct{}      { return p.p.Done() }
func (p *sbProc) Exit() isolation.ExitStatus { return p.p.Exit() }
func (p *sbProc) Interrupt() error           { return p.sb.Signal(p.p.Pid, syscall.SIGINT) }
func (p *sbProc) Lost() error                { return p.sb.Lost() }

func (p *sbProc) Kill() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.sb.Kill(ctx, isolation.Selector{Tag: p.tag, Root: p.p.Pid, IncludeRoot: true}, syscall.SIGKILL)
}
