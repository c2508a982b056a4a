package session

import (
	"context"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/isolation"
	"github.com/sbx-mcp/sbx-mcp/outbuf"
)

// wait polls the command's output FIFOs, the status channel and the wake
// eventfd until the status record for seq arrives, bash exits, or the
// deadline/ctx forces a kill. outs is nil while waiting for start-up.
func (sh *shell) wait(ctx context.Context, seq int, deadline time.Time, outs []*fifo, c *command, tag *string) outcome {
	w := newWaiter(sh, outs, c)
	defer w.release()
	waiting.Add(1)
	defer waiting.Add(-1)
	stop := context.AfterFunc(ctx, sh.poke)
	defer stop()
	for {
		gen := sh.pokeGen() // a poke from here on ends waitStatus
		// status first: it may already be complete from a previous read
		if code, ok := sh.takeStatus(seq); ok {
			w.res.code = code
			w.finish()
			return w.res
		}
		if !sh.alive() {
			return w.shellGone()
		}
		now := time.Now()
		if done := w.enforce(ctx, now, deadline, tag); done {
			return w.res
		}
		if !w.poll(gen, now, deadline) {
			w.res.shellExited = true
			return w.res
		}
	}
}

// waiting counts the waits in progress, in every shell (see poll).
var waiting atomic.Int32

// waiter is the state of one wait: the output read ends, what is pending
// for streaming, and the kill in progress.
//
// The output FIFOs are watched through read ends opened for this command
// (the kernel reports one as hung up only after a writer connected since
// it was opened; the base end, opened long ago, would report a hang-up at
// once). Until they are watched, and at the end, reads go through the base
// ends: a read returns EOF once no writer is left, whenever it was opened.
type waiter struct {
	sh   *shell
	c    *command // nil while waiting for start-up
	outs []*fifo
	res  outcome

	caps    [2]*outbuf.Capture
	fds     [2]int
	watched [2]bool // fds[i] is a read end opened for this command
	eof     [2]bool

	pending   [2][]byte // streamed bytes not sent yet
	lastFlush time.Time
	bp        *[]byte // read buffer (bufPool)

	// A command that is not streamed is not woken for its output at first:
	// bash opening and closing the FIFOs would each wake this thread, and
	// on a VM those wake-ups are most of a short command's cost. The FIFOs
	// hold 1 MiB, so only a command writing more than that within
	// quietOutputs waits for the drain to start; after the status arrives
	// everything is drained anyway.
	watchOutputs time.Time
	killedAt     time.Time
	pfds         []unix.PollFd
}

func newWaiter(sh *shell, outs []*fifo, c *command) *waiter {
	limit := 1 << 20
	if c != nil {
		limit = c.limit
	}
	w := &waiter{sh: sh, c: c, outs: outs, eof: [2]bool{true, true}, pfds: make([]unix.PollFd, 0, 4)}
	w.res = outcome{stdout: outbuf.New(limit), stderr: outbuf.New(limit)}
	w.caps = [2]*outbuf.Capture{w.res.stdout, w.res.stderr}
	for i, f := range outs {
		w.fds[i] = f.base
		w.eof[i] = false
	}
	w.bp = bufPool.Get().(*[]byte)
	w.watchOutputs = time.Now()
	if c != nil && c.onChunk == nil {
		w.watchOutputs = w.watchOutputs.Add(quietOutputs)
	}
	return w
}

// release closes the per-command read ends and returns the buffer.
func (w *waiter) release() {
	for i, ok := range w.watched {
		if ok {
			unix.Close(w.fds[i])
		}
	}
	bufPool.Put(w.bp)
}

// watch switches to per-command read ends (best effort: without one, the
// base end is still read when the status arrives).
func (w *waiter) watch() {
	for i := range w.outs {
		if !w.watched[i] && !w.eof[i] {
			if fd, err := reopenRaw(w.outs[i].base, unix.O_RDONLY); err == nil {
				w.fds[i], w.watched[i] = fd, true
			}
		}
	}
}

var streamNames = [2]string{"stdout", "stderr"}

// flush sends pending output as chunks (forced: everything; otherwise once
// flushBytes are pending or flushEvery has passed, up to a UTF-8 boundary).
func (w *waiter) flush(force bool) {
	if w.c == nil || w.c.onChunk == nil {
		return
	}
	if !force && time.Since(w.lastFlush) < flushEvery && len(w.pending[0])+len(w.pending[1]) < flushBytes {
		return
	}
	for i := range w.pending {
		if len(w.pending[i]) == 0 {
			continue
		}
		ready, rest := w.pending[i], []byte(nil)
		if !force {
			ready, rest = outbuf.SplitUTF8(w.pending[i])
		}
		for len(ready) > 0 {
			n := len(ready)
			if n > maxChunk {
				n = len(outbuf.TrimEnd(ready[:maxChunk]))
				if n == 0 {
					n = maxChunk
				}
			}
			w.c.onChunk(streamNames[i], ready[:n])
			ready = ready[n:]
		}
		w.pending[i] = append([]byte(nil), rest...)
	}
	w.lastFlush = time.Now()
}

// drain reads output i until EAGAIN (at most 64 reads of 64 KiB, so an
// endless writer cannot hold the loop); it returns true at EOF.
func (w *waiter) drain(i int) bool {
	buf := *w.bp
	for n := 0; n < 64; n++ {
		k, err := unix.Read(w.fds[i], buf)
		if k > 0 {
			w.caps[i].Write(buf[:k])
			if w.c != nil && w.c.onChunk != nil {
				w.pending[i] = append(w.pending[i], buf[:k]...)
				w.flush(false)
			}
			continue
		}
		if err == unix.EINTR {
			continue
		}
		return err == nil // 0 bytes: EOF; EAGAIN: writers remain
	}
	return false
}

// finish drains what the outputs hold and sends the rest of the stream. An
// output that does not reach EOF is held by something the command left
// running: it is marked dirty, and the next command gets a fresh FIFO.
func (w *waiter) finish() {
	for i := range w.fds {
		if !w.eof[i] {
			w.eof[i] = w.drain(i)
			if !w.eof[i] {
				[]*fifo{w.sh.out, w.sh.err}[i].dirty = true
			}
		}
	}
	w.flush(true)
}

// shellGone is the outcome once bash has exited.
func (w *waiter) shellGone() outcome {
	w.finish()
	st := w.sh.proc.Exit()
	w.res.code = st.Code
	if st.Signal != 0 {
		w.res.code = 128 + st.Signal
	}
	w.res.shellExited = true
	if w.res.timedOut {
		w.res.code = 124
	}
	return w.res
}

// endShell SIGKILLs bash and everything tagged with the session and waits
// for bash (bounded).
func (w *waiter) endShell() {
	sh := w.sh
	kctx, cancel := context.WithTimeout(context.Background(), killWait)
	sh.sb.Kill(kctx, isolation.Selector{Tag: sh.tag, Root: sh.proc.Pid, IncludeRoot: true}, syscall.SIGKILL)
	cancel()
	select {
	case <-sh.proc.Done():
	case <-time.After(killWait):
	}
}

// enforce kills the command when ctx ends or the deadline passes, and the
// shell itself when the command's tree is gone but bash still does not
// report within killWait. It returns true when the wait is over.
func (w *waiter) enforce(ctx context.Context, now, deadline time.Time, tag *string) bool {
	if w.killedAt.IsZero() && (ctx.Err() != nil || !now.Before(deadline)) {
		if ctx.Err() != nil {
			w.res.cancelled = true
		} else {
			w.res.timedOut = true
		}
		w.killedAt = now
		if tag != nil {
			kctx, cancel := context.WithTimeout(context.Background(), killWait)
			w.sh.sb.Kill(kctx, isolation.Selector{Tag: *tag, Root: w.sh.proc.Pid, Since: deadline.Add(-w.c.timeout)}, syscall.SIGKILL)
			cancel()
		}
	}
	if !w.killedAt.IsZero() && now.Sub(w.killedAt) > killWait {
		// the shell itself is the runaway: end it
		w.res.shellKilled = true
		w.endShell()
		w.finish()
		w.res.shellExited = true
		w.res.code = 124
		return true
	}
	return false
}

// poll waits for output, status, a wake-up or the next timer and handles
// what it finds. It returns false when polling itself failed.
func (w *waiter) poll(gen uint64, now, deadline time.Time) bool {
	sh := w.sh
	if waiting.Load() > 1 && now.Before(w.watchOutputs) && w.killedAt.IsZero() && len(w.pending[0])+len(w.pending[1]) == 0 && !sh.statusHup {
		// Other commands are waiting too, and only the status channel is
		// watched (the FIFOs not yet): wait in the runtime's poller. A
		// thread blocked in poll(2) per command costs a P hand-off each;
		// with one command in flight the blocking poll is cheaper.
		until := w.watchOutputs
		if deadline.Before(until) {
			until = deadline
		}
		sh.waitStatus(gen, until)
		return true
	}
	timeout := time.Until(deadline)
	if !w.killedAt.IsZero() {
		timeout = killWait - now.Sub(w.killedAt)
	}
	if len(w.pending[0])+len(w.pending[1]) > 0 {
		timeout = min(timeout, flushEvery-now.Sub(w.lastFlush))
	}
	quiet := now.Before(w.watchOutputs)
	if quiet {
		timeout = min(timeout, w.watchOutputs.Sub(now))
	}
	ms := int(timeout / time.Millisecond)
	if timeout > 0 && ms == 0 {
		ms = 1
	}
	ms = max(ms, 0)
	if !quiet {
		w.watch()
	}
	w.pfds = w.pfds[:0]
	for i := range w.fds {
		if !w.eof[i] && w.watched[i] {
			w.pfds = append(w.pfds, unix.PollFd{Fd: int32(w.fds[i]), Events: unix.POLLIN})
		} else {
			w.pfds = append(w.pfds, unix.PollFd{Fd: -1})
		}
	}
	// Once no writer is left the status channel stays readable (hung up):
	// stop watching it; bash's exit or the deadline ends the wait.
	status := int32(sh.status)
	if sh.statusHup {
		status = -1
	}
	w.pfds = append(w.pfds, unix.PollFd{Fd: status, Events: unix.POLLIN}, unix.PollFd{Fd: int32(sh.wake), Events: unix.POLLIN})
	if _, err := unix.Poll(w.pfds, ms); err != nil && err != unix.EINTR {
		return false
	}
	for i := 0; i < 2; i++ {
		if w.pfds[i].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0 {
			if w.drain(i) {
				w.eof[i] = true
			}
		}
	}
	if w.pfds[2].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0 {
		sh.readStatus()
	}
	if w.pfds[3].Revents&unix.POLLIN != 0 {
		var b [8]byte
		unix.Read(sh.wake, b[:])
	}
	w.flush(false)
	return true
}
