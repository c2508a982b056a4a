package e2e_test

// watch_files through the real binary: events as progress, until,
// overflow, cancellation.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sbx-mcp/sbx-mcp/e2e"
)

type watchOut struct {
	Events []struct {
		Type    string `json:"type"`
		Path    string `json:"path"`
		OldPath string `json:"old_path"`
		IsDir   bool   `json:"is_dir"`
	} `json:"events"`
	Reason   string `json:"reason"`
	Overflow bool   `json:"overflow"`
	Dropped  int    `json:"dropped"`
}

// watchClient connects with a client whose progress notifications go to
// per-token channels.
type watchClient struct {
	cs  *mcp.ClientSession
	dir string
	mu  sync.Mutex
	chs map[string]chan *mcp.ProgressNotificationParams
}

func newWatchClient(t *testing.T) *watchClient {
	w := &watchClient{dir: t.TempDir(), chs: map[string]chan *mcp.ProgressNotificationParams{}}
	w.cs, _ = e2e.ConnectProgress(t, func(p *mcp.ProgressNotificationParams) {
		w.mu.Lock()
		ch := w.chs[fmt.Sprint(p.ProgressToken)]
		w.mu.Unlock()
		if ch != nil {
			ch <- p
		}
	}, "--workdir="+w.dir)
	return w
}

// start begins a watch_files call and waits until its watches are in place.
func (w *watchClient) start(t *testing.T, ctx context.Context, token string, args map[string]any) (<-chan *mcp.ProgressNotificationParams, <-chan *mcp.CallToolResult) {
	t.Helper()
	ch := make(chan *mcp.ProgressNotificationParams, 1<<16)
	w.mu.Lock()
	w.chs[token] = ch
	w.mu.Unlock()
	done := make(chan *mcp.CallToolResult, 1)
	params := &mcp.CallToolParams{Name: "watch_files", Arguments: args}
	params.SetProgressToken(token)
	go func() {
		res, err := w.cs.CallTool(ctx, params)
		if err != nil {
			res = &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}
		}
		done <- res
	}()
	select {
	case p := <-ch:
		if p.Meta["ready"] != true {
			t.Fatalf("first notification is not the ready one: %+v", p)
		}
	case res := <-done:
		t.Fatalf("watch ended before it was ready: %s", e2e.Text(res))
	case <-ctx.Done():
		t.Fatal("no ready notification")
	}
	return ch, done
}

func (w *watchClient) sh(t *testing.T, cmd string) {
	t.Helper()
	var o struct {
		ExitCode int    `json:"exit_code"`
		Stderr   string `json:"stderr"`
	}
	e2e.Structured(t, e2e.CallOK(t, w.cs, "exec", map[string]any{"command": cmd}), &o)
	if o.ExitCode != 0 {
		t.Fatalf("%s: exit %d: %s", cmd, o.ExitCode, o.Stderr)
	}
}

func TestWatchFilesOrder(t *testing.T) {
	w := newWatchClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	os.Mkdir(w.dir+"/w", 0o755)
	notes, done := w.start(t, ctx, "order", map[string]any{"path": "w", "duration_ms": 60000, "until": "stop"})
	steps := []struct{ cmd, want string }{
		{"touch w/f", "create " + w.dir + "/w/f"},
		{"echo more >> w/f", "modify " + w.dir + "/w/f"},
		{"mv w/f w/g", "rename " + w.dir + "/w/f -> " + w.dir + "/w/g"},
		{"rm w/g", "delete " + w.dir + "/w/g"},
	}
	var got []string
	for _, st := range steps {
		w.sh(t, st.cmd)
		sent := time.Now()
		select {
		case p := <-notes:
			got = append(got, p.Message)
			t.Logf("%-18s -> %q after %v", st.cmd, p.Message, time.Since(sent))
			if p.Message != st.want {
				t.Fatalf("after %q got event %q, want %q (so far %q)", st.cmd, p.Message, st.want, got)
			}
		case <-ctx.Done():
			t.Fatalf("no event after %q", st.cmd)
		}
	}
	w.sh(t, "touch w/stop")
	res := <-done
	var out watchOut
	e2e.Structured(t, res, &out)
	if out.Reason != "until" || len(out.Events) != 5 || out.Events[2].OldPath != w.dir+"/w/f" || out.Events[4].Path != w.dir+"/w/stop" {
		t.Fatalf("result %+v", out)
	}
}

func TestWatchFilesUntilRecursiveGlob(t *testing.T) {
	w := newWatchClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	notes, done := w.start(t, ctx, "until", map[string]any{"recursive": true, "glob": "*.txt", "until": "**/*.done", "duration_ms": 600000})
	w.sh(t, "mkdir -p a/b && echo x > a/b/one.txt && echo y > a/skip.log")
	// Files made in a directory before its watch is in place are found by
	// scanning it, in no particular order: wait for one.txt's event before
	// making c.done.
	for seen := false; !seen; {
		select {
		case p := <-notes:
			seen = p.Message == "create "+w.dir+"/a/b/one.txt"
		case res := <-done:
			t.Fatalf("watch ended before one.txt was seen: %s", e2e.Text(res))
		case <-ctx.Done():
			t.Fatal("no event for a/b/one.txt")
		}
	}
	w.sh(t, "touch a/b/c.done && touch after.txt")
	res := <-done
	var out watchOut
	e2e.Structured(t, res, &out)
	if out.Reason != "until" {
		t.Fatalf("reason %q: %s", out.Reason, e2e.Text(res))
	}
	var paths []string
	for _, e := range out.Events {
		paths = append(paths, e.Type+" "+strings.TrimPrefix(e.Path, w.dir+"/"))
	}
	// The new directory's file is seen (the watch follows new
	// directories), the .log is filtered out, and the watch ends at c.done.
	if len(paths) < 2 || paths[0] != "create a/b/one.txt" || paths[len(paths)-1] != "create a/b/c.done" || strings.Contains(strings.Join(paths, ","), "skip.log") {
		t.Fatalf("events %q", paths)
	}
}

func TestWatchFilesOverflow(t *testing.T) {
	w := newWatchClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	os.Mkdir(w.dir+"/burst", 0o755)
	_, done := w.start(t, ctx, "burst", map[string]any{"path": "burst", "until": "end.marker", "duration_ms": 600000, "debounce_ms": 200})
	w.sh(t, `python3 -c "
import os
for i in range(100000):
    open('burst/f%d' % i, 'w').close()
open('burst/end.marker', 'w').close()
"`)
	res := <-done
	var out watchOut
	e2e.Structured(t, res, &out)
	if !out.Overflow || len(out.Events) > 1000 || out.Dropped == 0 || out.Reason != "until" {
		t.Fatalf("overflow %v, %d events, %d dropped, reason %s", out.Overflow, len(out.Events), out.Dropped, out.Reason)
	}
	if !strings.Contains(e2e.Text(res), "overflow") {
		t.Fatalf("text does not mention the overflow: %.300s", e2e.Text(res))
	}
}

// Cancelled watches end at once: more watches than the kernel's per-user
// inotify instances (128 by default) are started and cancelled in turn, and
// a watch still works afterwards.
func TestWatchFilesCancel(t *testing.T) {
	w := newWatchClient(t)
	limit := 128
	if b, err := os.ReadFile("/proc/sys/fs/inotify/max_user_instances"); err == nil {
		fmt.Sscan(string(b), &limit)
	}
	if limit > 1024 {
		limit = 1024
	}
	for i := range limit + 10 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, done := w.start(t, ctx, fmt.Sprintf("c%d", i), map[string]any{"duration_ms": 600000})
		cancel()
		<-done
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, done := w.start(t, ctx, "last", map[string]any{"until": "x", "duration_ms": 60000})
	w.sh(t, "touch x")
	var out watchOut
	e2e.Structured(t, <-done, &out)
	if out.Reason != "until" {
		t.Fatalf("%+v", out)
	}
}
