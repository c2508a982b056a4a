package tools

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
	"github.com/sbx-mcp/sbx-mcp/session"
)

// Yield to background (exec's yield_ms). An exec with yield_ms runs its
// command as a background process (start_process's machinery: bash -c in
// the session's cwd and exported environment, its own stdin pipe) and
// holds the session's turn until the process ends, so later commands on
// that session wait in order, as they wait behind any command (the queue
// choice; kill_process frees the session at once). When the command ends
// within yield_ms the call returns exec's result; otherwise it returns the
// output so far with running: true and the process id, and
// get_process_logs, wait_for_process, write_process_stdin and kill_process
// work on that id. The output a call returned is not returned again:
// get_process_logs without offset or tail, and wait_for_process, go on
// from where the last of them stopped (yieldCursors).
//
// Because the command does not run in the session's shell, shell state it
// changes (cd, variables, functions) does not persist, and it sees
// exported variables only. timeout_ms applies only when given.

// yieldCursors remember, per yielded process, the stdout and stderr
// offsets up to which output was returned.
type yieldCursors struct {
	mu sync.Mutex
	m  map[string][2]int64
}

func (y *yieldCursors) get(id string) ([2]int64, bool) {
	y.mu.Lock()
	defer y.mu.Unlock()
	c, ok := y.m[id]
	return c, ok
}

func (y *yieldCursors) set(id string, c [2]int64) {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.m == nil {
		y.m = map[string][2]int64{}
	}
	y.m[id] = c
}

func (y *yieldCursors) forget(id string) {
	y.mu.Lock()
	defer y.mu.Unlock()
	delete(y.m, id)
}

// unread returns a yielded process's output since its cursors and moves
// them on; ok is false for any other process.
func (d *Deps) unread(id string, maxBytes int, raw bool) (process.Logs, bool, error) {
	c, ok := d.yields.get(id)
	if !ok {
		return process.Logs{}, false, nil
	}
	out, err := d.Processes.Logs(process.LogsRequest{ID: id, Stream: "stdout", Offset: &c[0], MaxBytes: maxBytes, Raw: raw})
	if errors.Is(err, process.ErrNotFound) {
		d.yields.forget(id) // the record was evicted
	}
	if err != nil {
		return process.Logs{}, true, err
	}
	errs, err := d.Processes.Logs(process.LogsRequest{ID: id, Stream: "stderr", Offset: &c[1], MaxBytes: maxBytes, Raw: raw})
	if err != nil {
		return process.Logs{}, true, err
	}
	errs.Stdout = out.Stdout
	d.yields.set(id, [2]int64{out.Stdout.Next, errs.Stderr.Next})
	return errs, true, nil
}

// execYield runs exec's command as a background process and waits for it
// at most yield.
func execYield(ctx context.Context, call *server.Call, d *Deps, a execArgs, yield time.Duration) (execResult, error) {
	req, err := a.request()
	if err != nil {
		return execResult{}, err
	}
	sessionID := req.Session
	if sessionID == "" {
		sessionID = session.DefaultID
	}
	begin := time.Now()
	oom, known := oomCount(call, d)
	info, err := d.Processes.Start(ctx, process.StartRequest{Command: req.Command, Session: sessionID, Cwd: req.Cwd, Env: req.Env})
	if err != nil {
		return execResult{}, err
	}
	id := info.ID
	kill := func() { d.Processes.Kill(context.Background(), id, syscall.SIGKILL, 0) }
	release, err := d.Sessions.Hold(ctx, sessionID)
	if err != nil {
		kill()
		return execResult{}, err
	}
	go func() { // owner: this call; ends when the process does
		defer release()
		for {
			_, err := d.Processes.Wait(context.Background(), process.WaitRequest{ID: id, Exit: true, Timeout: time.Hour})
			if !errors.Is(err, process.ErrWaitTimeout) {
				return
			}
		}
	}()
	if req.Stdin != nil {
		if _, err := d.Processes.WriteStdin(ctx, id, []byte(*req.Stdin), true); err != nil && !errors.Is(err, process.ErrExited) {
			kill()
			return execResult{}, fmt.Errorf("write stdin: %w", err)
		}
	}
	timedOut := make(chan struct{})
	if req.Timeout > 0 {
		t := time.AfterFunc(req.Timeout, func() { close(timedOut); kill() })
		go func() { // owner: this call; stops the timer when the process ends
			d.Processes.Wait(context.Background(), process.WaitRequest{ID: id, Exit: true, Timeout: req.Timeout + time.Second})
			t.Stop()
		}()
	}
	_, werr := d.Processes.Wait(ctx, process.WaitRequest{ID: id, Exit: true, Timeout: yield})
	if ctx.Err() != nil {
		kill()
		return execResult{}, ctx.Err()
	}
	if werr != nil && !errors.Is(werr, process.ErrWaitTimeout) {
		return execResult{}, werr
	}
	limit := req.MaxOutput
	if limit <= 0 {
		limit = d.Config.MaxOutput
	}
	var zero int64
	l, err := d.Processes.Logs(process.LogsRequest{ID: id, Offset: &zero, MaxBytes: limit})
	if err != nil {
		return execResult{}, err
	}
	r := execResult{Result: session.Result{
		Stdout: l.Stdout.Text, Stderr: l.Stderr.Text, StdoutEncoding: l.Stdout.Encoding, StderrEncoding: l.Stderr.Encoding,
		StdoutTruncated: l.Stdout.Truncated, StderrTruncated: l.Stderr.Truncated, StdoutBytes: l.Stdout.Total, StderrBytes: l.Stderr.Total,
		DurationMs: time.Since(begin).Milliseconds(), Session: sessionID,
	}, ID: id}
	r.Truncated = r.StdoutTruncated || r.StderrTruncated
	if l.Status == process.StatusRunning {
		r.Running = true
		r.StdoutOffset, r.StderrOffset = l.Stdout.Next, l.Stderr.Next
		d.yields.set(id, [2]int64{l.Stdout.Next, l.Stderr.Next})
		r.Note = fmt.Sprintf("still running as background process %s: session %q stays busy until it ends (later commands on it wait). "+
			"wait_for_process {\"id\":%q,\"exit\":true} waits and returns the output that follows; get_process_logs, write_process_stdin and kill_process take the id too",
			id, sessionID, id)
		return r, nil
	}
	select {
	case <-timedOut:
		r.TimedOut = true
		r.ExitCode = 124
		r.Note = fmt.Sprintf("timed out after %s: the command's processes were killed", req.Timeout)
	default:
		if l.ExitCode != nil {
			r.ExitCode = *l.ExitCode
		} else {
			sig, _ := process.ParseSignal(l.Signal)
			r.ExitCode = 128 + int(sig)
			r.Note = "ended by " + l.Signal
		}
	}
	r.Success = r.ExitCode == 0 && !r.TimedOut
	logOutcome(call, d, r.Result, oom, known)
	return r, nil
}
