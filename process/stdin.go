package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// stdinTimeout bounds a write to a process that does not read its stdin.
const stdinTimeout = 10 * time.Second

// WriteStdin writes data to the process's stdin and closes it when close is
// set; it returns the bytes written.
func (m *Manager) WriteStdin(ctx context.Context, id string, data []byte, close bool) (int, error) {
	p, err := m.get(id)
	if err != nil {
		return 0, err
	}
	p.stdinMu.Lock()
	defer p.stdinMu.Unlock()
	if isClosed(p.sp.Done()) || p.stdin == nil {
		if isClosed(p.sp.Done()) {
			return 0, fmt.Errorf("process %q has exited (%s); its stdin is gone: %w", id, p.info().Status, ErrExited)
		}
		return 0, fmt.Errorf("stdin of process %q was closed by an earlier write_process_stdin with close: true", id)
	}
	n := 0
	if len(data) > 0 {
		deadline := time.Now().Add(stdinTimeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		p.stdin.SetWriteDeadline(deadline)
		stop := context.AfterFunc(ctx, func() { p.stdin.SetWriteDeadline(time.Now()) })
		n, err = p.stdin.Write(data)
		stop()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			return n, fmt.Errorf("wrote %d of %d bytes: process %q is not reading its stdin (pipe full for %v)", n, len(data), id, stdinTimeout)
		case errors.Is(err, syscall.EPIPE):
			return n, fmt.Errorf("process %q closed its stdin (wrote %d of %d bytes)", id, n, len(data))
		case err != nil:
			return n, fmt.Errorf("write stdin of process %q: %w", id, err)
		}
	}
	if close {
		p.stdin.Close()
		p.stdin = nil
	}
	return n, nil
}
