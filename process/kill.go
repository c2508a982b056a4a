package process

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// ParseSignal accepts a name ("SIGTERM", "TERM", "sigterm") or a number;
// "" is SIGTERM.
func ParseSignal(s string) (syscall.Signal, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return syscall.SIGTERM, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("signal %d out of range 1-64", n)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q: use a name such as SIGTERM, SIGINT, SIGKILL or a number", s)
}

// Kill signals the process's whole tree with sig, waits up to grace for it
// to end, then SIGKILLs what is left, and returns the final record once the
// process is gone. Killing a finished process SIGKILLs descendants it left
// behind and returns its record.
func (m *Manager) Kill(ctx context.Context, id string, sig syscall.Signal, grace time.Duration) (Info, error) {
	p, err := m.get(id)
	if err != nil {
		return Info{}, err
	}
	if err := m.kill(ctx, p, sig, grace); err != nil {
		return Info{}, err
	}
	return p.info(), nil
}

// KillAll kills every running process of session ("" = all) like Kill and
// returns how many there were.
// Descendants left behind by processes that already ended (a daemon that
// setsid'ed away) are SIGKILLed too.
func (m *Manager) KillAll(ctx context.Context, session string, sig syscall.Signal, grace time.Duration) (int, error) {
	ps := m.running(session)
	err := m.killMany(ctx, ps, sig, grace)
	tag := tagRoot
	if session != "" {
		tag = sessionTag(session)
	}
	if serr := m.sweep(ctx, tag); err == nil {
		err = serr
	}
	return len(ps), err
}

// sweep SIGKILLs everything carrying tag (or a tag below it) until nothing does.
func (m *Manager) sweep(ctx context.Context, tag string) error {
	if m.sandbox() == nil {
		return nil
	}
	for i := 0; i < 100; i++ {
		n, err := m.sandbox().Kill(ctx, isolation.Selector{Tag: tag}, syscall.SIGKILL)
		if err != nil {
			return fmt.Errorf("kill processes tagged %s: %w", tag, err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("processes tagged %s survive SIGKILL", tag)
}

// KillSession kills every running process started by session (for
// delete_session) with a short grace and returns how many there were.
func (m *Manager) KillSession(ctx context.Context, session string) (int, error) {
	return m.KillAll(ctx, session, syscall.SIGTERM, sessionGrace)
}

func (m *Manager) killMany(ctx context.Context, ps []*proc, sig syscall.Signal, grace time.Duration) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ps))
	for i, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = m.kill(ctx, p, sig, grace) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// kill implements Kill for one process.
func (m *Manager) kill(ctx context.Context, p *proc, sig syscall.Signal, grace time.Duration) error {
	if isClosed(p.done) {
		// The root is gone; descendants that left its session may not be.
		if err := m.sweep(ctx, p.tag); err != nil {
			return fmt.Errorf("kill process %q: %w", p.id, err)
		}
		return nil
	}
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	// While the root is alive its pid is ours; once it is reaped the pid may
	// be reused, so from then on only the tag selects.
	sel := func() isolation.Selector {
		select {
		case <-p.sp.Done():
			return isolation.Selector{Tag: p.tag}
		default:
			return isolation.Selector{Tag: p.tag, Root: p.pid, IncludeRoot: true}
		}
	}
	if _, err := m.sandbox().Kill(ctx, sel(), sig); err != nil {
		return fmt.Errorf("kill process %q: %w", p.id, err)
	}
	if sig != syscall.SIGKILL && grace > 0 {
		t := time.NewTimer(grace)
		select {
		case <-p.sp.Done():
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	// SIGKILL whatever is left, the root or descendants that outlived it,
	// until nothing carries the tag.
	if !isClosed(p.sp.Done()) {
		if _, err := m.sandbox().Kill(ctx, sel(), syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill process %q: %w", p.id, err)
		}
	}
	if err := m.sweep(ctx, p.tag); err != nil {
		return fmt.Errorf("kill process %q: %w", p.id, err)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kill process %q: %w", p.id, ctx.Err())
	}
}
