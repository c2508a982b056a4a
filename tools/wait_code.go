package tools

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sbx-mcp/sbx-mcp/interp"
	"github.com/sbx-mcp/sbx-mcp/server"
)

// A run_code call with yield_ms runs its cell on a context of its own
// (not the call's), so the cell goes on after the call returned with
// running: true and a cell id. The code context stays busy meanwhile:
// later cells on it wait, as they wait behind any cell. wait_code returns
// the cell's result once it ends, without the output already returned.

// maxCells bounds the yielded cells remembered (a finished one is dropped
// when its result has been returned by wait_code).
const maxCells = 64

// cell is one yielded run_code cell.
type cell struct {
	done chan struct{} // closed when res and err are set
	res  *interp.Result
	err  error

	mu        sync.Mutex
	out, errs strings.Builder // output as it streams (bounded)
	sentOut   int             // bytes of out / errs already returned
	sentErr   int
}

// cellRegistry holds the yielded cells of one server.
type cellRegistry struct {
	mu    sync.Mutex
	m     map[string]*cell
	order []string
	seq   int
}

func (c *cellRegistry) add(x *cell) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*cell{}
	}
	c.seq++
	id := "cell-" + strconv.Itoa(c.seq)
	c.m[id] = x
	c.order = append(c.order, id)
	for len(c.order) > maxCells {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	return id
}

func (c *cellRegistry) get(id string) *cell {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id]
}

func (c *cellRegistry) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// keep appends a streamed chunk, up to 1 MiB per stream.
func (x *cell) keep(stream, msg string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := &x.out
	if stream == "stderr" {
		b = &x.errs
	}
	if b.Len()+len(msg) <= 1<<20 {
		b.WriteString(msg)
	}
}

// unsent returns the streamed output not returned yet and marks it sent.
func (x *cell) unsent() (out, errs string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	out, errs = x.out.String()[x.sentOut:], x.errs.String()[x.sentErr:]
	x.sentOut, x.sentErr = x.out.Len(), x.errs.Len()
	return out, errs
}

// runYield runs a cell and waits for it at most yield.
func runYield(ctx context.Context, call *server.Call, d *Deps, req interp.RunRequest, yield time.Duration) (runCodeResult, error) {
	x := &cell{done: make(chan struct{})}
	forward := req.Progress
	req.Progress = func(p float64, msg string, meta map[string]any) {
		stream, _ := meta["stream"].(string)
		x.keep(stream, msg)
		if forward != nil {
			forward(p, msg, meta) // dropped by the server once the call is answered
		}
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() { // owner: the cell; ends with it (timeout_ms interrupts it)
		defer cancel()
		x.res, x.err = d.Interp.Run(cctx, req)
		close(x.done)
	}()
	timer := time.NewTimer(yield)
	defer timer.Stop()
	select {
	case <-x.done:
		if x.err != nil {
			return runCodeResult{}, x.err
		}
		return runCodeResult{Result: *x.res}, nil
	case <-ctx.Done():
		cancel()
		<-x.done
		return runCodeResult{}, ctx.Err()
	case <-timer.C:
	}
	id := d.cells.add(x)
	out, errs := x.unsent()
	return runCodeResult{Result: interp.Result{Stdout: out, Stderr: errs, StdoutEncoding: "utf-8", StderrEncoding: "utf-8",
		Context: req.Context, Language: req.Language}, Running: true, ID: id}, nil
}

type waitCodeArgs struct {
	ID        string `json:"id" jsonschema_description:"Cell id from a run_code that yielded (running: true)."`
	TimeoutMs int    `json:"timeout_ms,omitempty" jsonschema_description:"Return after this many ms if the cell still runs (default 30000, max 3600000)."`
}

func init() {
	register("wait_code", []string{SetCode}, true, func(d *Deps) server.Tool {
		return server.NewTool("wait_code",
			"Await a run_code cell that yielded (yield_ms): the rest of its result, or running: true after timeout_ms.",
			server.Annotations{Title: "Wait for code cell", ReadOnlyHint: true},
			func(ctx context.Context, call *server.Call, a waitCodeArgs) (runCodeResult, error) {
				if a.TimeoutMs < 0 || a.TimeoutMs > 3600000 {
					return runCodeResult{}, fmt.Errorf("timeout_ms must be between 1 and 3600000")
				}
				x := d.cells.get(a.ID)
				if x == nil {
					return runCodeResult{}, fmt.Errorf("no yielded cell %q (unknown, or its result was already returned); run_code with yield_ms gives the id", a.ID)
				}
				timeout := 30 * time.Second
				if a.TimeoutMs > 0 {
					timeout = time.Duration(a.TimeoutMs) * time.Millisecond
				}
				timer := time.NewTimer(timeout)
				defer timer.Stop()
				select {
				case <-x.done:
				case <-ctx.Done():
					return runCodeResult{}, ctx.Err()
				case <-timer.C:
					out, errs := x.unsent()
					return runCodeResult{Result: interp.Result{Stdout: out, Stderr: errs, StdoutEncoding: "utf-8", StderrEncoding: "utf-8"},
						Running: true, ID: a.ID}, nil
				}
				d.cells.drop(a.ID)
				if x.err != nil {
					return runCodeResult{}, x.err
				}
				r := runCodeResult{Result: *x.res, ID: a.ID}
				x.mu.Lock()
				sentOut, sentErr := x.out.String()[:x.sentOut], x.errs.String()[:x.sentErr]
				x.mu.Unlock()
				if r.StdoutEncoding == "utf-8" && !r.StdoutTruncated {
					r.Stdout = strings.TrimPrefix(r.Stdout, sentOut)
				}
				if r.StderrEncoding == "utf-8" && !r.StderrTruncated {
					r.Stderr = strings.TrimPrefix(r.Stderr, sentErr)
				}
				return r, nil
			}).WithTasks()
	})
}
