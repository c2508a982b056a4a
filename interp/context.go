package interp

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

//go:embed drivers/python.py
var pythonDriver string

//go:embed drivers/javascript.js
var javascriptDriver string

func firstExisting(paths ...string) string {
	for _, p := range paths[:len(paths)-1] {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return paths[len(paths)-1]
}

// specs are how each language's driver is started. The driver source goes on
// the command line (-c / -e): nothing to write into the sandbox first.
var specs = map[string]func() langSpec{
	Python: func() langSpec {
		// Debian's python3 (where python3-matplotlib & co. install), not a
		// pyenv shim that costs ~100 ms per start.
		p := firstExisting("/usr/bin/python3", "python3")
		return langSpec{path: p, source: pythonDriver, args: func(src string) []string {
			return []string{p, "-c", src}
		}}
	},
	JavaScript: func() langSpec {
		p := firstExisting("/usr/bin/node", "node")
		return langSpec{path: p, source: javascriptDriver, args: func(src string) []string {
			return []string{p, "-e", src}
		}}
	},
}

// Context is one code context: a long-lived interpreter and its FIFO of cells.
type Context struct {
	m       *Manager
	id      string
	lang    string
	cwd     string
	env     []string
	created time.Time
	q       fifo

	mu    sync.Mutex
	d     *driver // nil until started, and after a kill
	ended bool
}

func (m *Manager) newContext(id, lang, cwd string, env []string) *Context {
	return &Context{m: m, id: id, lang: lang, cwd: cwd, env: env, created: time.Now().UTC()}
}

func (c *Context) info() Info {
	return Info{ID: c.id, Language: c.lang, Cwd: c.cwd, CreatedAt: c.created}
}

// warm starts the interpreter now (create_code_context) instead of at the
// first cell.
func (c *Context) warm(ctx context.Context) error {
	if err := c.q.acquire(ctx); err != nil {
		return err
	}
	defer c.q.release()
	_, _, err := c.ensure(ctx)
	return err
}

// end kills the interpreter; later runs fail.
func (c *Context) end() {
	c.mu.Lock()
	c.ended = true
	d := c.d
	c.d = nil
	c.mu.Unlock()
	if d != nil {
		d.kill()
	}
}

// ensure returns the running driver, starting one when there is none.
// died reports that a previous interpreter had exited (state lost).
func (c *Context) ensure(ctx context.Context) (d *driver, died bool, err error) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return nil, false, fmt.Errorf("%w %q: it was deleted", ErrUnknownContext, c.id)
	}
	d = c.d
	c.mu.Unlock()
	if d != nil {
		select {
		case <-d.proc.Done():
			d.kill()
			d, died = nil, true
		default:
			return d, false, nil
		}
	}
	env := append([]string(nil), c.m.baseEnv()...)
	env = append(env, "MPLBACKEND=Agg")
	env = append(env, c.env...)
	tag := "interp-" + c.id
	d, err = start(c.m.base, c.m.spawn(), specs[c.lang](), env, c.cwd, tag)
	if err != nil {
		return nil, died, err
	}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		d.kill()
		return nil, died, fmt.Errorf("%w %q: it was deleted", ErrUnknownContext, c.id)
	}
	c.d = d
	c.mu.Unlock()
	c.m.opts.Log.Debug().Str("context", c.id).Msg("interpreter started")
	return d, died, nil
}

func (c *Context) drop(d *driver) {
	d.kill()
	c.mu.Lock()
	if c.d == d {
		c.d = nil
	}
	c.mu.Unlock()
}

// run runs one cell; cells of one context run one at a time in arrival order.
func (c *Context) run(ctx context.Context, code string, timeout time.Duration, progress func(float64, string, map[string]any)) (*Result, error) {
	if err := c.q.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.q.release()
	began := time.Now()
	d, died, err := c.ensure(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Context: c.id, Language: c.lang, StateLost: died, Results: []Output{}}

	s := newSink(c.m.opts.MaxOutput, progress)
	d.mu.Lock()
	d.sink = s
	d.next++
	id := d.next
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.sink = nil
		d.mu.Unlock()
	}()
	line, _ := json.Marshal(map[string]any{"id": id, "code": code})
	if _, err := d.reqs.Write(append(line, '\n')); err != nil {
		c.drop(d)
		return nil, fmt.Errorf("send cell to the %s interpreter: %w", c.lang, err)
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	done := ctx.Done()
	var grace <-chan time.Time
	var why string // set once the cell was interrupted
	var resp *response
	for resp == nil {
		select {
		case r, ok := <-d.resps:
			if !ok {
				return c.lost(d, s, res, began, why, ctx)
			}
			if !r.Ready && r.ID == id {
				resp = &r
			}
		case <-d.proc.Done():
			// The response may be in flight: prefer it.
			select {
			case r, ok := <-d.resps:
				if ok && r.ID == id {
					resp = &r
					continue
				}
			case <-time.After(50 * time.Millisecond):
			}
			return c.lost(d, s, res, began, why, ctx)
		case <-timer.C:
			why = fmt.Sprintf("timeout_ms=%d", timeout.Milliseconds())
			res.TimedOut = true
			d.proc.Interrupt()
			grace = time.After(Grace)
		case <-done:
			done = nil
			if why == "" {
				why = "cancellation"
				d.proc.Interrupt()
				grace = time.After(Grace)
			}
		case <-grace:
			c.drop(d)
			return c.lost(d, s, res, began, why, ctx)
		}
	}
	d.waitMarks(id, 2*time.Second)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.ExecutionCount = resp.Count
	res.Error = resp.Error
	if resp.Results != nil {
		res.Results = resp.Results
	}
	c.finish(s, res, began)
	return res, nil
}

// lost builds the result of a cell whose interpreter died or was killed.
func (c *Context) lost(d *driver, s *sink, res *Result, began time.Time, why string, ctx context.Context) (*Result, error) {
	c.drop(d)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	ended := c.ended
	c.mu.Unlock()
	res.StateLost = true
	switch {
	case ended:
		res.Error = &CellError{Name: "ContextDeleted", Value: fmt.Sprintf("code context %q was deleted while the cell ran", c.id)}
	case d.proc.Lost() != nil:
		res.Error = &CellError{Name: "SandboxRestarted", Value: fmt.Sprintf(
			"%v during the cell; sbx-mcp started a fresh sandbox: the %s interpreter's state (variables, imports), every session and every background process were lost",
			d.proc.Lost(), c.lang)}
	case d.overflow.Load():
		res.Error = &CellError{Name: "ResultTooLarge", Value: fmt.Sprintf(
			"the %s interpreter wrote a result line of more than %d MiB on its result channel (fd 4) and was stopped; its state (variables, imports) was lost and the next cell starts a fresh one",
			c.lang, MaxRecord>>20)}
	case why != "":
		res.Error = &CellError{Name: "TimeoutError", Value: fmt.Sprintf(
			"the cell did not stop within %s of an interrupt after %s; the %s interpreter was restarted and its state (variables, imports) was lost",
			Grace, why, c.lang)}
	default:
		res.Error = &CellError{Name: "InterpreterExited", Value: fmt.Sprintf(
			"the %s interpreter exited (%s) during the cell; its state was lost and the next cell starts a fresh one",
			c.lang, exitText(d.proc))}
	}
	// Give the pipes a moment to deliver what was written before the end.
	select {
	case <-d.proc.Done():
	case <-time.After(time.Second):
	}
	time.Sleep(20 * time.Millisecond)
	c.finish(s, res, began)
	return res, nil
}

// finish renders output, moves images out of the results and caps text.
func (c *Context) finish(s *sink, res *Result, began time.Time) {
	limit := c.m.opts.MaxOutput
	s.mu.Lock()
	so, se := s.cap[0].Render(), s.cap[1].Render()
	res.Stdout, res.StdoutEncoding, res.StdoutTruncated = so.Content, so.Encoding, so.Truncated
	res.Stderr, res.StderrEncoding, res.StderrTruncated = se.Content, se.Encoding, se.Truncated
	s.mu.Unlock()
	for i := range res.Results {
		o := &res.Results[i]
		if o.PNG != "" {
			o.PNG = res.addImage("image/png", o.PNG)
		}
		if o.JPEG != "" {
			o.JPEG = res.addImage("image/jpeg", o.JPEG)
		}
		for _, f := range []*string{&o.Text, &o.HTML, &o.Markdown, &o.SVG, &o.LaTeX} {
			*f, _ = capText(*f, limit)
		}
		if len(o.JSON) > limit {
			b, _ := json.Marshal(fmt.Sprintf("[json result of %d bytes omitted: over the output cap]", len(o.JSON)))
			o.JSON = b
		}
	}
	if res.Error != nil {
		res.Error.Traceback, _ = capText(res.Error.Traceback, limit)
		res.Error.Value, _ = capText(res.Error.Value, limit)
	}
	res.DurationMs = time.Since(began).Milliseconds()
}

func (r *Result) addImage(mime, data string) string {
	r.Images = append(r.Images, Image{MimeType: mime, Data: data})
	return fmt.Sprintf("image:%d", len(r.Images)-1)
}

// fifo hands turns out in arrival order.
type fifo struct {
	mu      sync.Mutex
	busy    bool
	waiters []chan struct{}
}

func (q *fifo) acquire(ctx context.Context) error {
	q.mu.Lock()
	if !q.busy {
		q.busy = true
		q.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	q.waiters = append(q.waiters, ch)
	q.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		q.mu.Lock()
		for i, w := range q.waiters {
			if w == ch {
				q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
				q.mu.Unlock()
				return ctx.Err()
			}
		}
		q.mu.Unlock()
		q.release() // the turn was handed to us meanwhile: pass it on
		return ctx.Err()
	}
}

func (q *fifo) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiters) > 0 {
		ch := q.waiters[0]
		q.waiters = q.waiters[1:]
		close(ch)
		return
	}
	q.busy = false
}
