package isolation

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// ErrInitDied wraps the cause when the sandbox's init died on its own (it
// was killed, crashed or broke the control protocol). The sandbox is then
// unusable: Start a new one.
var ErrInitDied = errors.New("the sandbox's init died")

// Gone is closed once the sandbox can no longer be used: its init died
// (Lost says why) or Close ran.
func (s *Sandbox) Gone() <-chan struct{} { return s.gone }

// Lost returns why init died on its own (wrapping ErrInitDied), or nil
// while it runs and after Close.
func (s *Sandbox) Lost() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// died builds the cause of init's death once the control socket failed
// with err: init's exit status (waited for briefly) and the last lines it
// wrote on stderr. Called by the reader.
func (s *Sandbox) died(err error) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	cause := fmt.Sprintf("control socket: %v", err)
	select {
	case <-s.initDone:
		if st := s.cmd.ProcessState; st != nil {
			if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				cause = fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
			} else {
				cause = fmt.Sprintf("exited with status %d", st.ExitCode())
			}
		}
	case <-time.After(time.Second):
		// alive but talking nonsense (a message over the bound): end it
		_ = s.cmd.Process.Kill()
	}
	if s.stderr != nil {
		if tail := s.stderr.tail(); tail != "" {
			cause += "; it said: " + tail
		}
	}
	lost := fmt.Errorf("%w (%s)", ErrInitDied, cause)
	s.mu.Lock()
	if s.lost == nil && !s.closed {
		s.lost = lost
	}
	s.mu.Unlock()
	s.log.Error().Str("cause", cause).Msg("sandbox init died; every session, process and code context in it is gone")
	return fmt.Errorf("%w: %w", ErrClosed, lost)
}
