package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// DefaultWaitTimeout is wait_for_process's timeout when none is given.
const DefaultWaitTimeout = 30 * time.Second

const (
	maxLine       = 64 << 10 // longer lines are matched by their first maxLine bytes
	portPollFirst = 20 * time.Millisecond
	portPollMax   = 200 * time.Millisecond
)

// WaitRequest are wait_for_process's arguments: exactly one of Exit, Port, Pattern.
type WaitRequest struct {
	ID      string
	Exit    bool
	Port    int
	Pattern string
	Timeout time.Duration
}

// WaitResult is a condition met.
type WaitResult struct {
	Info
	Condition   string // exit, port, pattern
	MatchedLine string
	Elapsed     time.Duration
}

// ErrWaitTimeout and ErrExitedFirst are wrapped by Wait's failures.
var (
	ErrWaitTimeout = errors.New("timed out")
	ErrExitedFirst = errors.New("process exited before the condition")
)

// Wait blocks until the condition holds, the process ends first (an error
// that quotes its last lines), or the timeout (an error naming what was
// awaited).
func (m *Manager) Wait(ctx context.Context, req WaitRequest) (WaitResult, error) {
	n := 0
	cond := ""
	if req.Exit {
		n, cond = n+1, "exit"
	}
	if req.Port != 0 {
		n, cond = n+1, "port"
	}
	if req.Pattern != "" {
		n, cond = n+1, "pattern"
	}
	if n != 1 {
		return WaitResult{}, errors.New("give exactly one of exit: true, port or pattern")
	}
	if req.Port < 0 || req.Port > 65535 {
		return WaitResult{}, fmt.Errorf("port %d out of range 1-65535", req.Port)
	}
	var re *regexp.Regexp
	if cond == "pattern" {
		var err error
		if re, err = regexp.Compile(req.Pattern); err != nil {
			return WaitResult{}, fmt.Errorf("pattern is not a valid Go regular expression: %v", err)
		}
	}
	if req.Timeout <= 0 {
		req.Timeout = DefaultWaitTimeout
	}
	p, err := m.get(req.ID)
	if err != nil {
		return WaitResult{}, err
	}
	begin := time.Now()
	timer := time.NewTimer(req.Timeout)
	defer timer.Stop()
	ok := func(line string) (WaitResult, error) {
		return WaitResult{Info: p.info(), Condition: cond, MatchedLine: line, Elapsed: time.Since(begin)}, nil
	}
	what := map[string]string{
		"exit":    "the process to exit",
		"port":    fmt.Sprintf("TCP port %d to accept connections on the sandbox's loopback", req.Port),
		"pattern": fmt.Sprintf("a line matching %q", req.Pattern),
	}[cond]
	timedOut := func() (WaitResult, error) {
		return WaitResult{}, &waitError{ErrWaitTimeout, fmt.Sprintf("timed out after %d ms waiting for %s; process %q is still %s (call again, or get_process_logs to see its output)",
			req.Timeout.Milliseconds(), what, p.id, p.info().Status)}
	}
	exited := func() (WaitResult, error) {
		in := p.info()
		how := "with code ?"
		switch {
		case in.ExitCode != nil:
			how = fmt.Sprintf("with code %d", *in.ExitCode)
		case in.Signal != "":
			how = "by " + in.Signal
		}
		return WaitResult{}, &waitError{ErrExitedFirst, fmt.Sprintf("process %q ended (%s) %s before %s%s", p.id, in.Status, how, what, m.lastLines(p))}
	}

	switch cond {
	case "exit":
		select {
		case <-p.done:
			return ok("")
		case <-timer.C:
			return timedOut()
		case <-ctx.Done():
			return WaitResult{}, ctx.Err()
		}
	case "port":
		poll := portPollFirst
		for {
			ended := isClosed(p.done)
			open, err := m.portOpen(ctx, req.Port)
			if err != nil {
				return WaitResult{}, fmt.Errorf("check port %d: %w", req.Port, err)
			}
			if open {
				return ok("")
			}
			if ended {
				return exited()
			}
			select {
			case <-p.done:
			case <-time.After(poll):
			case <-timer.C:
				return timedOut()
			case <-ctx.Done():
				return WaitResult{}, ctx.Err()
			}
			poll = min(2*poll, portPollMax)
		}
	}
	// pattern: scan each stream line by line from its first kept byte.
	scans := [2]lineScanner{}
	for {
		ended := isClosed(p.done)
		p.mu.Lock()
		more := false
		var found string
		matched := false
		for i, lb := range []*logBuf{p.out, p.err} {
			s := &scans[i]
			data, start, _ := lb.Read(s.off, 256<<10)
			s.off = start + int64(len(data))
			more = more || s.off < lb.Total()
			if !matched {
				found, matched = s.feed(data, re)
			}
		}
		notify := p.notify
		p.mu.Unlock()
		if matched {
			return ok(found)
		}
		if more {
			continue
		}
		for i := range scans {
			if line, hit := scans[i].tryPartial(re); hit {
				return ok(line)
			}
		}
		if ended {
			return exited()
		}
		select {
		case <-notify:
		case <-p.done: // ended after the check above, maybe after its last notify
		case <-timer.C:
			return timedOut()
		case <-ctx.Done():
			return WaitResult{}, ctx.Err()
		}
	}
}

// waitError is a failed wait: msg for the model, kind for callers.
type waitError struct {
	kind error
	msg  string
}

func (e *waitError) Error() string { return e.msg }
func (e *waitError) Unwrap() error { return e.kind }

// lineScanner matches complete lines of one stream as they arrive; the
// unfinished last line is tried once the output pauses (a prompt may never
// get its newline).
type lineScanner struct {
	off     int64
	partial []byte
}

func (s *lineScanner) feed(data []byte, re *regexp.Regexp) (string, bool) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if room := maxLine - len(s.partial); room > 0 {
				s.partial = append(s.partial, data[:min(room, len(data))]...)
			}
			break
		}
		line := data[:i]
		if len(s.partial) > 0 {
			if room := maxLine - len(s.partial); room > 0 {
				s.partial = append(s.partial, line[:min(room, len(line))]...)
			}
			line = s.partial
		}
		line = bytes.TrimSuffix(line[:min(len(line), maxLine)], []byte("\r"))
		if re.Match(line) {
			return string(line), true
		}
		s.partial = s.partial[:0]
		data = data[i+1:]
	}
	return "", false
}

// tryPartial matches the unfinished last line; Wait calls it only when no
// more output is waiting, so a line is not matched by its first half.
func (s *lineScanner) tryPartial(re *regexp.Regexp) (string, bool) {
	if len(s.partial) > 0 && re.Match(s.partial) {
		return string(s.partial), true
	}
	return "", false
}

// lastLines quotes the end of both streams for an error message.
func (m *Manager) lastLines(p *proc) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, s := range []struct {
		name string
		lb   *logBuf
	}{{"stdout", p.out}, {"stderr", p.err}} {
		pg := readPage(s.lb, s.lb.Tail(10, 2048), 2048, true, false)
		if pg.Text == "" {
			continue
		}
		if pg.Encoding == "base64" {
			fmt.Fprintf(&b, "\nlast %s (binary, base64): %s", s.name, pg.Text)
			continue
		}
		fmt.Fprintf(&b, "\nlast lines of %s:\n%s", s.name, strings.TrimRight(pg.Text, "\n"))
	}
	if b.Len() == 0 {
		return " (it printed nothing)"
	}
	return b.String()
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
