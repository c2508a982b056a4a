package process

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Waits of write_process_stdin.
const (
	DefaultQuiet = 300 * time.Millisecond // tty processes, when no wait is given
	DefaultUntil = 10 * time.Second       // the longest wait for until, when no wait is given
	MaxWait      = 30 * time.Second
	quietCap     = 10 * time.Second // a quiet wait ends by then even if output never pauses
)

// keySeqs are the named keys. Cursor keys have a second form for the
// terminal's application cursor mode (DECCKM), which vim and less switch on.
var keySeqs = map[string]string{
	"enter": "\r", "tab": "\t", "esc": "\x1b", "backspace": "\x7f", "space": " ",
	"delete": "\x1b[3~", "insert": "\x1b[2~", "shift-tab": "\x1b[Z",
	"pgup": "\x1b[5~", "pgdn": "\x1b[6~",
	"f1": "\x1bOP", "f2": "\x1bOQ", "f3": "\x1bOR", "f4": "\x1bOS",
	"f5": "\x1b[15~", "f6": "\x1b[17~", "f7": "\x1b[18~", "f8": "\x1b[19~",
	"f9": "\x1b[20~", "f10": "\x1b[21~", "f11": "\x1b[23~", "f12": "\x1b[24~",
}

var cursorKeys = map[string]byte{"up": 'A', "down": 'B', "right": 'C', "left": 'D', "home": 'H', "end": 'F'}

func init() {
	for c := 'a'; c <= 'z'; c++ {
		keySeqs["ctrl-"+string(c)] = string(rune(c - 'a' + 1))
	}
}

// KeyNames lists the names EncodeKeys accepts.
func KeyNames() []string {
	names := make([]string, 0, len(keySeqs)+len(cursorKeys))
	for k := range keySeqs {
		names = append(names, k)
	}
	for k := range cursorKeys {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// encodeKeys turns key names into bytes; appCursor selects SS3 cursor keys.
// On a pipe (tty false) enter is a newline.
func encodeKeys(keys []string, tty, appCursor bool) ([]byte, error) {
	var b []byte
	for _, k := range keys {
		name := strings.ToLower(strings.TrimSpace(k))
		if c, ok := cursorKeys[name]; ok {
			if appCursor {
				b = append(b, '\x1b', 'O', c)
			} else {
				b = append(b, '\x1b', '[', c)
			}
			continue
		}
		seq, ok := keySeqs[name]
		if !ok {
			return nil, fmt.Errorf("unknown key %q: use one of %s (text goes in data)", k, strings.Join(KeyNames(), " "))
		}
		if name == "enter" && !tty {
			seq = "\n"
		}
		b = append(b, seq...)
	}
	return b, nil
}

// InteractRequest are write_process_stdin's arguments.
type InteractRequest struct {
	ID    string
	Data  []byte
	Keys  []string
	Close bool
	// Wait: without Until, return once the output has been quiet this long
	// (0: DefaultQuiet for a tty, no wait on pipes); with Until, the longest
	// to wait for a match (0: DefaultUntil).
	Wait  time.Duration
	Until string
}

// InteractResult is what happened in the window after the write.
type InteractResult struct {
	BytesWritten int
	Closed       bool
	Waited       bool
	Output       string // stdout (a tty's one stream) in the window, escapes stripped
	Stderr       string // pipes only
	Truncated    bool   // Output or Stderr kept only their tail
	Offset       int64  // stdout offset where the window began (get_process_logs)
	Matched      bool
	MatchedText  string
	Exited       bool
	Info         Info
	Screen       *Screen // tty only

	stops [2]int64 // where a match ended, per stream (-1: none)
}

// Interact writes data then keys to a process's stdin (a tty process's
// terminal), then waits as req says and reports the output of the window:
// everything written since the previous Interact returned (as expect
// does, so a prompt printed between two calls is neither lost nor matched
// twice), escapes stripped.
func (m *Manager) Interact(ctx context.Context, req InteractRequest) (InteractResult, error) {
	p, err := m.get(req.ID)
	if err != nil {
		return InteractResult{}, err
	}
	if req.Wait < 0 || req.Wait > MaxWait {
		return InteractResult{}, fmt.Errorf("wait_ms must be 0-%d", MaxWait.Milliseconds())
	}
	var re *regexp.Regexp
	if req.Until != "" {
		if re, err = regexp.Compile(req.Until); err != nil {
			return InteractResult{}, fmt.Errorf("until is not a valid regular expression (Go RE2 syntax): %v", err)
		}
	}
	tty := p.term != nil
	data := req.Data
	if len(req.Keys) > 0 {
		app := false
		if tty {
			p.term.mu.Lock()
			app = p.term.appCursor
			p.term.mu.Unlock()
		}
		keys, err := encodeKeys(req.Keys, tty, app)
		if err != nil {
			return InteractResult{}, err
		}
		data = append(data[:len(data):len(data)], keys...)
	}
	closeIn := req.Close
	if tty && req.Close {
		data = append(data[:len(data):len(data)], 4) // VEOF: a terminal has no stdin to close
		closeIn = false
	}
	p.mu.Lock()
	outOff, errOff := p.seenOut, p.seenErr
	p.mu.Unlock()
	res := InteractResult{Offset: outOff, Closed: req.Close}
	res.BytesWritten, err = m.WriteStdin(ctx, req.ID, data, closeIn)
	if err != nil {
		return res, err
	}
	wait := req.Wait
	switch {
	case re != nil && wait == 0:
		wait = DefaultUntil
	case re == nil && wait == 0 && tty:
		wait = DefaultQuiet
	}
	if wait > 0 || re != nil {
		res.Waited = true
		if err := m.waitWindow(ctx, p, &res, outOff, errOff, wait, re); err != nil {
			return res, err
		}
	}
	stops := [2]int64{-1, -1}
	if res.Matched {
		stops = res.stops
	}
	w := m.windows(p, [2]int64{outOff, errOff}, stops)
	res.Output, res.Stderr = w[0].text, w[1].text
	res.Truncated = w[0].truncated || w[1].truncated
	p.mu.Lock()
	p.seenOut, p.seenErr = max(p.seenOut, w[0].end), max(p.seenErr, w[1].end)
	p.mu.Unlock()
	res.Info = p.info()
	res.Exited = res.Info.Status != StatusRunning
	if tty {
		p.term.mu.Lock()
		s := p.term.snapshotLocked(0)
		p.term.mu.Unlock()
		res.Screen = &s
	}
	return res, nil
}

// waitWindow waits for re (on the window's output), for
// quiet output (re == nil), or for the process to end.
func (m *Manager) waitWindow(ctx context.Context, p *proc, res *InteractResult, outOff, errOff int64, wait time.Duration, re *regexp.Regexp) error {
	limit := wait
	if re == nil {
		limit = max(wait, quietCap)
	}
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	quiet := time.NewTimer(wait)
	defer quiet.Stop()
	last := int64(-1)
	for {
		p.mu.Lock()
		ch, total, running := p.notify, p.out.Total()+p.err.Total(), p.status == StatusRunning
		p.mu.Unlock()
		if re != nil && total != last {
			if m.match(p, re, outOff, errOff, res) {
				return nil
			}
		}
		if !running {
			return nil
		}
		if re == nil && total != last {
			quiet.Reset(wait) // quiet counts from the latest output
		}
		last = total
		select {
		case <-ch:
		case <-quiet.C:
			if re == nil {
				return nil
			}
		case <-deadline.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// match tries re on the window's output (escapes stripped) and stops each
// stream's window where the match ends: what follows stays for the next
// call, as with expect. Not on the screen: text still shown from before
// would match at once.
func (m *Manager) match(p *proc, re *regexp.Regexp, outOff, errOff int64, res *InteractResult) bool {
	ws := m.windows(p, [2]int64{outOff, errOff}, [2]int64{-1, -1})
	for i, w := range ws {
		if loc := re.FindStringIndex(w.text); loc != nil {
			res.Matched, res.MatchedText = true, w.text[loc[0]:loc[1]]
			res.stops = [2]int64{-1, -1}
			res.stops[i] = w.start + int64(rawLen(w.raw, loc[1]))
			return true
		}
	}
	return false
}

// rawLen is the shortest prefix of raw whose cleanText is at least n bytes long.
func rawLen(raw []byte, n int) int {
	cut := func(k int) int { // never stop inside a character
		for k < len(raw) && !utf8.RuneStart(raw[k]) {
			k++
		}
		return k
	}
	lo, hi := 0, len(raw)
	for lo < hi {
		mid := (lo + hi) / 2
		if len(cleanText(raw[:cut(mid)])) >= n {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return cut(lo)
}

// window is one stream's output between two offsets.
type window struct {
	raw        []byte
	text       string // raw cleaned
	start, end int64  // log offsets of raw
	truncated  bool   // only the tail is kept
}

// windows reads each stream from offs[i] to stops[i] (-1: the end),
// keeping the tail when it exceeds the output cap.
func (m *Manager) windows(p *proc, offs, stops [2]int64) [2]window {
	limit := int64(max(m.opts.MaxOutput, 4096))
	var ws [2]window
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, lb := range []*logBuf{p.out, p.err} {
		w := &ws[i]
		off, end := offs[i], lb.Total()
		if stops[i] >= 0 {
			end = min(end, stops[i])
		}
		if end-off > limit {
			off, w.truncated = end-limit, true
		}
		var skipped int64
		w.raw, w.start, skipped = lb.Read(off, int(max(0, end-off)))
		w.truncated = w.truncated || skipped > 0
		w.end = w.start + int64(len(w.raw))
		w.text = cleanText(w.raw)
	}
	return ws
}

// cleanText strips escape sequences and carriage returns from terminal
// output and keeps it valid UTF-8.
func cleanText(b []byte) string {
	s := ansi.Strip(strings.ToValidUTF8(string(b), "\uFFFD"))
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "")
}
