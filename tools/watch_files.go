package tools

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type watchFilesArgs struct {
	Path       string `json:"path,omitempty" jsonschema_description:"Directory to watch: absolute, or relative to the session's cwd (default: the session's cwd)."`
	Session    string `json:"session,omitempty" jsonschema_description:"Session whose cwd resolves a relative path (default: \"default\")."`
	Recursive  bool   `json:"recursive,omitempty" jsonschema_description:"Watch subdirectories too (new ones included; at most 10000 directories)."`
	Glob       string `json:"glob,omitempty" jsonschema_description:"Only events whose path matches: without a slash the file name (\"*.go\"), with one the path below path."`
	DurationMs int64  `json:"duration_ms,omitempty" jsonschema_description:"How long to watch (default 60000, max 600000)."`
	Until      string `json:"until,omitempty" jsonschema_description:"Return right after the first event whose path matches this glob (\"*\" for any event at the top, \"**\" for any); that event is reported even if glob filters it."`
	DebounceMs int64  `json:"debounce_ms,omitempty" jsonschema_description:"Events are coalesced and sent in batches this often (default 100; -1 sends each at once)."`
	MaxEvents  int    `json:"max_events,omitempty" jsonschema_description:"Most events reported (default 1000, max 10000); past it overflow is set."`
}

type watchEvent struct {
	Type    string `json:"type" jsonschema:"enum=create,enum=modify,enum=delete,enum=rename"`
	Path    string `json:"path" jsonschema_description:"Absolute path (the new one for a rename)."`
	OldPath string `json:"old_path,omitempty" jsonschema_description:"rename: the path before."`
	IsDir   bool   `json:"is_dir"`
}

type watchFilesResult struct {
	Path              string       `json:"path" jsonschema_description:"Absolute path watched."`
	Events            []watchEvent `json:"events" jsonschema_description:"In order; a modify right after a create or modify of the same path is folded into it."`
	Reason            string       `json:"reason" jsonschema:"enum=duration,enum=until,enum=root_gone" jsonschema_description:"Why the watch ended."`
	Overflow          bool         `json:"overflow" jsonschema_description:"Events were lost: the kernel queue overflowed or max_events was passed."`
	Dropped           int          `json:"dropped,omitempty" jsonschema_description:"Events past max_events."`
	Watches           int          `json:"watches" jsonschema_description:"Directories watched at the end."`
	WatchLimitReached bool         `json:"watch_limit_reached,omitempty" jsonschema_description:"More than 10000 directories: some are not watched."`
	DurationMs        int64        `json:"duration_ms"`
}

func (r watchFilesResult) Text() string {
	var b strings.Builder
	for _, e := range r.Events {
		b.WriteString(eventLine(e) + "\n")
	}
	fmt.Fprintf(&b, "[%d event%s in %d ms; ended by %s", len(r.Events), plural(len(r.Events)), r.DurationMs, r.Reason)
	if r.Overflow {
		b.WriteString("; overflow: some events were lost")
	}
	if r.WatchLimitReached {
		b.WriteString("; only 10000 directories watched")
	}
	b.WriteString("]")
	return b.String()
}

func eventLine(e watchEvent) string {
	p := e.Path
	if e.IsDir {
		p += "/"
	}
	if e.Type == fileops.EventRename {
		return "rename " + e.OldPath + " -> " + p
	}
	return e.Type + " " + p
}

func init() {
	register("watch_files", []string{SetFiles}, false, func(d *Deps) server.Tool {
		return server.NewTool("watch_files",
			"Watch a directory (inotify) for duration_ms (60 s, max 10 min) or until an event matches until. Limits: 1000 events, 10000 directories. "+
				"Events stream as progress (the first says ready) and are listed in the result.",
			server.Annotations{Title: "Watch files", ReadOnlyHint: true},
			func(ctx context.Context, call *server.Call, a watchFilesArgs) (watchFilesResult, error) {
				if a.DurationMs < 0 || time.Duration(a.DurationMs)*time.Millisecond > fileops.WatchMaxDuration {
					return watchFilesResult{}, fmt.Errorf("duration_ms must be between 1 and %d", fileops.WatchMaxDuration.Milliseconds())
				}
				if a.MaxEvents < 0 || a.MaxEvents > fileops.WatchMaxEvents {
					return watchFilesResult{}, fmt.Errorf("max_events must be between 1 and %d", fileops.WatchMaxEvents)
				}
				if a.DebounceMs < -1 || a.DebounceMs > 60000 {
					return watchFilesResult{}, fmt.Errorf("debounce_ms must be between -1 and 60000")
				}
				path := a.Path
				if path == "" {
					path = "."
				}
				root, _, err := resolveFilePath(ctx, d, a.Session, path)
				if err != nil {
					return watchFilesResult{}, err
				}
				abs := func(rel string) string {
					if rel == "" {
						return ""
					}
					return joinClean(root, rel)
				}
				conv := func(e fileops.WatchEvent) watchEvent {
					return watchEvent{Type: e.Type, Path: abs(e.Path), OldPath: abs(e.OldPath), IsDir: e.IsDir}
				}
				var onEvent func(fileops.WatchEvent)
				var onReady func(int)
				if call.WantsProgress() {
					var mu sync.Mutex
					n := 0
					onReady = func(watches int) {
						mu.Lock()
						defer mu.Unlock()
						call.Progress(0, fmt.Sprintf("watching %d director%s", watches, map[bool]string{true: "y", false: "ies"}[watches == 1]), map[string]any{"ready": true})
					}
					onEvent = func(e fileops.WatchEvent) {
						mu.Lock()
						defer mu.Unlock()
						n++
						we := conv(e)
						call.Progress(float64(n), eventLine(we), map[string]any{"event": we})
					}
				}
				start := time.Now()
				res, err := fileops.Watch(ctx, d.Sandbox, fileops.WatchRequest{
					Root: root, Recursive: a.Recursive, Glob: a.Glob, Until: a.Until,
					DurationMs: a.DurationMs, DebounceMs: a.DebounceMs, MaxEvents: a.MaxEvents,
				}, onReady, onEvent)
				if err != nil {
					return watchFilesResult{}, adviseSearchError("watch_files", err)
				}
				out := watchFilesResult{
					Path: root, Reason: res.Reason, Overflow: res.Overflow, Dropped: res.Dropped, Watches: res.Watches,
					WatchLimitReached: res.WatchLimitReached, DurationMs: time.Since(start).Milliseconds(),
					Events: make([]watchEvent, len(res.Events)),
				}
				for i, e := range res.Events {
					out.Events[i] = conv(e)
				}
				return out, nil
			})
	})
}
