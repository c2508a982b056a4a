package fileops

// watch_files: inotify inside the sandbox (so it sees the sandbox's view
// of the tree), events coalesced and streamed to the server as JSON lines
// through the op's pipe while the watch runs; the summary is the op's
// reply.
//
//	server ──req──► op: inotify_init1, watches (≤ WatchMaxWatches)
//	op ──{"events":[...]}\n──► pipe ──► server (each flush, every debounce_ms)
//	op ──reply {reason, overflow, dropped, ...}──► server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/bmatcuk/doublestar/v4"
	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

const opWatch = "watch_files"

// Watch limits.
const (
	WatchMaxWatches      = 10000
	WatchMaxDuration     = 10 * time.Minute
	WatchDefaultDuration = time.Minute
	WatchDefaultDebounce = 100 * time.Millisecond
	WatchMaxEvents       = 10000 // most events one watch reports
	WatchDefaultEvents   = 1000
	watchLineMax         = 1 << 20 // one flush line on the pipe, at most
)

// Event types.
const (
	EventCreate = "create"
	EventModify = "modify"
	EventDelete = "delete"
	EventRename = "rename"
)

// WatchRequest watches Root (a directory).
type WatchRequest struct {
	Root       string `json:"root"`
	Recursive  bool   `json:"recursive"`
	Glob       string `json:"glob"`  // only events whose path matches (search_files' glob rules)
	Until      string `json:"until"` // stop after the first event whose path matches this glob
	DurationMs int64  `json:"duration_ms"`
	DebounceMs int64  `json:"debounce_ms"` // -1: no coalescing window
	MaxEvents  int    `json:"max_events"`
}

// WatchEvent is one coalesced change; paths are relative to Root.
type WatchEvent struct {
	Type    string `json:"type"`
	Path    string `json:"path"`
	OldPath string `json:"old_path,omitempty"` // rename: where it was
	IsDir   bool   `json:"is_dir"`
}

// WatchResult is the summary of a watch; Events is filled by the client.
type WatchResult struct {
	Reason            string       `json:"reason"` // duration, until, root_gone
	Overflow          bool         `json:"overflow"`
	Dropped           int          `json:"dropped"` // events seen past MaxEvents
	Watches           int          `json:"watches"`
	WatchLimitReached bool         `json:"watch_limit_reached"`
	Events            []WatchEvent `json:"-"`
}

// watchLine is one line on the pipe: the first says the watches are in
// place (Ready), the others carry events.
type watchLine struct {
	Ready   bool         `json:"ready,omitempty"`
	Watches int          `json:"watches,omitempty"`
	Events  []WatchEvent `json:"events,omitempty"`
}

// Watch watches a directory inside the sandbox. onReady (may be nil) is
// called once the watches are in place, onEvent (may be nil) with every
// event as it arrives; both from another goroutine.
func Watch(ctx context.Context, s *isolation.Sandbox, req WatchRequest, onReady func(watches int), onEvent func(WatchEvent)) (WatchResult, error) {
	var res WatchResult
	max := req.MaxEvents
	if max <= 0 || max > WatchMaxEvents {
		max = WatchMaxEvents
	}
	events, err := doReading(ctx, s, opWatch, req.Root, 64<<10, req, &res, func(r io.Reader) ([]WatchEvent, error) {
		var out []WatchEvent
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			line, err := readLineMax(br, watchLineMax)
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			var l watchLine
			if err := json.Unmarshal(line, &l); err != nil {
				return out, err
			}
			if l.Ready && onReady != nil {
				onReady(l.Watches)
			}
			for _, e := range l.Events {
				if len(out) == max {
					break
				}
				out = append(out, e)
				if onEvent != nil {
					onEvent(e)
				}
			}
		}
	})
	res.Events = events
	return res, err
}

// readLineMax reads one '\n'-terminated line of at most max bytes.
func readLineMax(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			return nil, errors.New("watch line too long")
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return line, err
	}
}

func init() {
	registerPipeOp(opWatch, func(ctx context.Context, req WatchRequest, f *os.File) (any, error) {
		return watchOp(ctx, req, f)
	})
}

const watchMask = unix.IN_CREATE | unix.IN_MODIFY | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR | unix.IN_EXCL_UNLINK

// watcher is one running watch.
type watcher struct {
	req       WatchRequest
	fd        int
	dirs      map[int]string // wd → directory relative to root ("" = root)
	limitHit  bool
	overflow  bool
	pending   []WatchEvent
	lastIdx   map[string]int // path → index in pending of its last event
	moves     map[uint32]WatchEvent
	sent      int
	dropped   int
	max       int
	untilDone bool
	rootGone  bool
}

func watchOp(ctx context.Context, req WatchRequest, out io.Writer) (WatchResult, error) {
	const op = opWatch
	var res WatchResult
	if err := checkDir(op, req.Root); err != nil {
		return res, err
	}
	for _, g := range []string{req.Glob, req.Until} {
		if g != "" && !validGlob(g) {
			return res, &isolation.OpError{Op: op, Kind: isolation.KindInvalid, Msg: "bad glob " + g}
		}
	}
	dur := time.Duration(req.DurationMs) * time.Millisecond
	if dur <= 0 {
		dur = WatchDefaultDuration
	}
	dur = min(dur, WatchMaxDuration)
	debounce := time.Duration(req.DebounceMs) * time.Millisecond
	if req.DebounceMs == 0 {
		debounce = WatchDefaultDebounce
	}
	if debounce < 0 {
		debounce = 0
	}
	w := &watcher{req: req, dirs: map[int]string{}, lastIdx: map[string]int{}, moves: map[uint32]WatchEvent{}, max: req.MaxEvents}
	if w.max <= 0 || w.max > WatchMaxEvents {
		w.max = WatchDefaultEvents
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return res, fileOpError(op, req.Root, err)
	}
	w.fd = fd
	in := os.NewFile(uintptr(fd), "inotify") // non-blocking: reads park in the poller, Close wakes them
	defer in.Close()
	if err := w.add(""); err != nil {
		return res, fileOpError(op, req.Root, err)
	}
	if req.Recursive {
		w.addTree("", false)
	}

	// The reader hands raw batches to the loop below.
	batches := make(chan []byte)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer in.Close() // wakes the reader
	defer close(stop)
	wg.Go(func() {
		for {
			buf := make([]byte, 64<<10)
			n, err := in.Read(buf)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case batches <- buf[:n]:
			case <-stop:
				return
			}
		}
	})

	bw := bufio.NewWriter(out)
	ready, _ := json.Marshal(watchLine{Ready: true, Watches: len(w.dirs)})
	if _, err := bw.Write(append(ready, '\n')); err != nil || bw.Flush() != nil {
		return res, &isolation.OpError{Op: op, Path: req.Root, Kind: isolation.KindIO, Msg: "stream to server failed"}
	}
	deadline := time.NewTimer(dur)
	defer deadline.Stop()
	var flushC <-chan time.Time
	var flushT *time.Timer
	res.Reason = "duration"
	flush := func() error {
		w.settleMoves()
		if len(w.pending) == 0 {
			return nil
		}
		b, _ := json.Marshal(watchLine{Events: w.pending})
		w.pending = w.pending[:0]
		clear(w.lastIdx)
		if _, err := bw.Write(append(b, '\n')); err != nil {
			return err
		}
		return bw.Flush()
	}
loop:
	for {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case err := <-readErr:
			return res, fileOpError(op, req.Root, err)
		case <-deadline.C:
			break loop
		case <-flushC:
			flushC = nil
			if err := flush(); err != nil {
				return res, &isolation.OpError{Op: op, Path: req.Root, Kind: isolation.KindIO, Msg: "stream to server: " + err.Error()}
			}
		case b := <-batches:
			w.handle(b)
			if w.untilDone || w.rootGone || debounce == 0 {
				if err := flush(); err != nil {
					return res, &isolation.OpError{Op: op, Path: req.Root, Kind: isolation.KindIO, Msg: "stream to server: " + err.Error()}
				}
			} else if flushC == nil && len(w.pending) > 0 {
				if flushT == nil {
					flushT = time.NewTimer(debounce)
					defer flushT.Stop()
				} else {
					flushT.Reset(debounce)
				}
				flushC = flushT.C
			}
			if w.untilDone {
				res.Reason = "until"
				break loop
			}
			if w.rootGone {
				res.Reason = "root_gone"
				break loop
			}
		}
	}
	if err := flush(); err != nil {
		return res, &isolation.OpError{Op: op, Path: req.Root, Kind: isolation.KindIO, Msg: "stream to server: " + err.Error()}
	}
	res.Overflow = w.overflow || w.dropped > 0
	res.Dropped = w.dropped
	res.Watches = len(w.dirs)
	res.WatchLimitReached = w.limitHit
	return res, nil
}

// add watches the directory rel.
func (w *watcher) add(rel string) error {
	if len(w.dirs) >= WatchMaxWatches {
		w.limitHit = true
		return nil
	}
	p := w.req.Root
	if rel != "" {
		p = strings.TrimSuffix(p, "/") + "/" + rel
	}
	wd, err := unix.InotifyAddWatch(w.fd, p, watchMask)
	if err != nil {
		return err
	}
	w.dirs[wd] = rel
	return nil
}

// addTree watches the directories below rel (already watched). With
// report, what it finds is reported as created: it appeared before its
// directory's watch did.
func (w *watcher) addTree(rel string, report bool) {
	p := w.req.Root
	if rel != "" {
		p = strings.TrimSuffix(p, "/") + "/" + rel
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return
	}
	for _, e := range ents {
		child := e.Name()
		if rel != "" {
			child = rel + "/" + e.Name()
		}
		isDir := e.IsDir()
		if report {
			w.emit(WatchEvent{Type: EventCreate, Path: child, IsDir: isDir})
		}
		if isDir && e.Name() != ".git" {
			if w.limitHit || w.add(child) != nil {
				continue
			}
			w.addTree(child, report)
		}
	}
}

// handle decodes one read of inotify events.
func (w *watcher) handle(b []byte) {
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		n := unix.SizeofInotifyEvent + int(ev.Len)
		if n > len(b) {
			return
		}
		name := strings.TrimRight(string(b[unix.SizeofInotifyEvent:n]), "\x00")
		b = b[n:]
		mask := ev.Mask
		if mask&unix.IN_Q_OVERFLOW != 0 {
			w.overflow = true
			continue
		}
		dir, ok := w.dirs[int(ev.Wd)]
		if mask&unix.IN_IGNORED != 0 {
			delete(w.dirs, int(ev.Wd))
			continue
		}
		if !ok {
			continue
		}
		if mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0 {
			if dir == "" {
				w.rootGone = true
			}
			continue
		}
		rel := name
		if dir != "" {
			rel = dir + "/" + name
		}
		isDir := mask&unix.IN_ISDIR != 0
		switch {
		case mask&unix.IN_CREATE != 0:
			w.emit(WatchEvent{Type: EventCreate, Path: rel, IsDir: isDir})
			if isDir && w.req.Recursive && name != ".git" && !w.limitHit {
				if w.add(rel) == nil {
					w.addTree(rel, true)
				}
			}
		case mask&unix.IN_MODIFY != 0:
			w.emit(WatchEvent{Type: EventModify, Path: rel, IsDir: isDir})
		case mask&unix.IN_DELETE != 0:
			w.emit(WatchEvent{Type: EventDelete, Path: rel, IsDir: isDir})
		case mask&unix.IN_MOVED_FROM != 0:
			w.moves[ev.Cookie] = WatchEvent{Type: EventDelete, Path: rel, IsDir: isDir}
		case mask&unix.IN_MOVED_TO != 0:
			if from, ok := w.moves[ev.Cookie]; ok {
				delete(w.moves, ev.Cookie)
				w.emit(WatchEvent{Type: EventRename, Path: rel, OldPath: from.Path, IsDir: isDir})
			} else {
				w.emit(WatchEvent{Type: EventCreate, Path: rel, IsDir: isDir})
			}
			if isDir && w.req.Recursive && !w.limitHit {
				if w.add(rel) == nil {
					w.addTree(rel, false)
				}
			}
		}
	}
}

// settleMoves reports moves out of the watched tree (a MOVED_FROM whose
// MOVED_TO never came) as deletes.
func (w *watcher) settleMoves() {
	if len(w.moves) == 0 {
		return
	}
	cookies := make([]uint32, 0, len(w.moves))
	for c := range w.moves {
		cookies = append(cookies, c)
	}
	slices.Sort(cookies)
	for _, c := range cookies {
		w.emit(w.moves[c])
	}
	clear(w.moves)
}

// emit filters, coalesces and counts one event.
func (w *watcher) emit(e WatchEvent) {
	name := e.Path[strings.LastIndexByte(e.Path, '/')+1:]
	// The event that matches until is reported even when glob filters it.
	if w.req.Until != "" && !w.untilDone && globMatch(w.req.Until, e.Path, name) {
		w.untilDone = true
	} else if w.req.Glob != "" && !globMatch(w.req.Glob, e.Path, name) {
		return
	}
	// A modify right after a create or modify of the same path (in the
	// same window) says nothing new.
	if e.Type == EventModify {
		if i, ok := w.lastIdx[e.Path]; ok {
			if t := w.pending[i].Type; t == EventCreate || t == EventModify {
				return
			}
		}
	}
	if w.sent >= w.max {
		w.dropped++
		return
	}
	w.sent++
	w.lastIdx[e.Path] = len(w.pending)
	w.pending = append(w.pending, e)
}

func validGlob(g string) bool { return doublestar.ValidatePattern(strings.TrimPrefix(g, "/")) }
