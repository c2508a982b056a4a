package interp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sbx-mcp/sbx-mcp/isolation"
	"github.com/sbx-mcp/sbx-mcp/outbuf"
)

// markEnv carries the per-driver end-of-cell marker to the driver.
const markEnv = "SBX_INTERP_MARK"

// cwdEnv carries the directory the driver changes to before anything else.
const cwdEnv = "SBX_INTERP_CWD"

// MaxRecord bounds one line on the driver's result channel (fd 4). A
// result that large could not reach a client anyway (clients drop messages
// over 10 MiB); a driver that writes a longer line is killed.
const MaxRecord = 8 << 20

// response is one line the driver writes on fd 4: the ready message at start,
// then one per cell.
type response struct {
	Ready   bool       `json:"ready"`
	ID      int64      `json:"id"`
	Results []Output   `json:"results"`
	Error   *CellError `json:"error"`
	Count   int        `json:"execution_count"`
}

// driver is one running interpreter process and the goroutines reading its
// pipes. Owners: readStream goroutines (one per fd 1/2) exit at EOF; the
// response reader closes resps at EOF of fd 4.
type driver struct {
	proc  proc
	reqs  *os.File      // write end of the driver's fd 3
	resps chan response // closed by the response reader at EOF
	mark  []byte

	mu    sync.Mutex
	sink  *sink
	marks [2]int64      // markers seen per stream
	tick  chan struct{} // closed and replaced whenever marks change
	next  int64         // id of the next request

	overflow atomic.Bool // killed for a result line over MaxRecord
}

type langSpec struct {
	path   string
	args   func(src string) []string
	source string
}

// start spawns a driver and waits for its ready message.
func start(ctx context.Context, spawn spawnFunc, ls langSpec, env []string, dir, tag string) (*driver, error) {
	var nonce [12]byte
	rand.Read(nonce[:])
	mark := "\x1e\x1fsbx-end-" + hex.EncodeToString(nonce[:]) + "\x1f"

	var parent, child []*os.File // parent's ends, child's ends (closed after spawn)
	defer func() {
		for _, f := range child {
			f.Close()
		}
	}()
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		return
	}
	outR, outW, err := pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	reqR, reqW, err := pipe()
	if err != nil {
		return nil, err
	}
	respR, respW, err := pipe()
	if err != nil {
		return nil, err
	}
	parent = []*os.File{outR, errR, reqW, respR}
	child = []*os.File{outW, errW, reqR, respW}
	for _, f := range child {
		f.Fd() // puts the child's ends in blocking mode, as os/exec does
	}

	// The driver is non-dumpable (isolation.Spec.NonDumpable): no program a
	// cell starts, nor any other sandbox process, can ptrace it or open its
	// result channel through /proc/PID/fd to forge results. Such a spawn
	// starts without root's DAC capabilities, which a working directory
	// owned by another user may need: it starts in "/" and the driver
	// changes to its directory first thing (cwdEnv).
	spec := isolation.Spec{
		Path:        ls.path,
		Args:        ls.args(ls.source),
		Env:         append(append([]string(nil), env...), markEnv+"="+mark, cwdEnv+"="+dir),
		Dir:         "/",
		Files:       []*os.File{nil, outW, errW, reqR, respW},
		Tag:         tag,
		NonDumpable: true,
	}
	p, err := spawn(ctx, spec)
	if err != nil {
		for _, f := range parent {
			f.Close()
		}
		return nil, err
	}
	d := &driver{proc: p, reqs: reqW, resps: make(chan response, 1), mark: []byte(mark), tick: make(chan struct{})}
	go d.readStream(0, outR)
	go d.readStream(1, errR)
	go d.readResponses(respR)

	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case r, ok := <-d.resps:
		if ok && r.Ready {
			return d, nil
		}
		d.kill()
		return nil, fmt.Errorf("%s did not start: %s", ls.path, exitText(p))
	case <-t.C:
		d.kill()
		return nil, fmt.Errorf("%s did not start within 30s", ls.path)
	case <-ctx.Done():
		d.kill()
		return nil, ctx.Err()
	}
}

func exitText(p proc) string {
	select {
	case <-p.Done():
	case <-time.After(time.Second):
		return "no ready message"
	}
	e := p.Exit()
	if e.Signal != 0 {
		return fmt.Sprintf("killed by signal %d", e.Signal)
	}
	return fmt.Sprintf("exit code %d", e.Code)
}

func (d *driver) kill() {
	d.proc.Kill()
	d.reqs.Close()
}

// readResponses reads result lines (each at most MaxRecord: a longer one
// kills the driver) until EOF.
func (d *driver) readResponses(f *os.File) {
	defer close(d.resps)
	defer f.Close()
	rr := recordReader{br: bufio.NewReaderSize(f, 64<<10), max: MaxRecord}
	for {
		line, err := rr.next()
		if err == errRecordTooLong {
			d.overflow.Store(true)
			d.proc.Kill()
			return
		}
		if len(line) > 0 {
			var r response
			if json.Unmarshal(line, &r) == nil {
				d.resps <- r
			}
		}
		if err != nil {
			return
		}
	}
}

var errRecordTooLong = errors.New("result record too long")

// recordReader reads newline-terminated records of at most max bytes.
type recordReader struct {
	br   *bufio.Reader
	max  int
	line []byte
}

// next returns the next record (without its newline; valid until the next
// call), the last unterminated bytes with the read error at EOF, or
// errRecordTooLong as soon as a record passes max bytes.
func (r *recordReader) next() ([]byte, error) {
	if cap(r.line) > 1<<20 {
		r.line = nil // do not keep a big record's buffer
	}
	r.line = r.line[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		body := len(r.line) + len(chunk) // the record's bytes so far
		if err == nil {
			body-- // the newline
		}
		if body > r.max {
			return nil, errRecordTooLong
		}
		r.line = append(r.line, chunk...)
		switch err {
		case nil:
			return r.line[:body], nil
		case bufio.ErrBufferFull:
			continue
		default:
			return r.line, err
		}
	}
}

// readStream forwards one output pipe to the current cell's sink, cutting
// out end markers and counting them.
func (d *driver) readStream(i int, f *os.File) {
	defer f.Close()
	buf := make([]byte, 32<<10)
	var pend []byte
	for {
		n, err := f.Read(buf)
		data := append(pend, buf[:n]...)
		pend = nil
		for {
			j := bytes.Index(data, d.mark)
			if j < 0 {
				break
			}
			d.emit(i, data[:j])
			d.mu.Lock()
			d.marks[i]++
			close(d.tick)
			d.tick = make(chan struct{})
			d.mu.Unlock()
			data = data[j+len(d.mark):]
		}
		if err != nil {
			d.emit(i, data)
			return
		}
		k := partialSuffix(data, d.mark)
		d.emit(i, data[:len(data)-k])
		pend = append([]byte(nil), data[len(data)-k:]...)
	}
}

// partialSuffix is the length of the longest suffix of data that is a proper
// prefix of mark (output held back until the next read decides).
func partialSuffix(data, mark []byte) int {
	for k := min(len(mark)-1, len(data)); k > 0; k-- {
		if bytes.HasPrefix(mark, data[len(data)-k:]) {
			return k
		}
	}
	return 0
}

func (d *driver) emit(i int, b []byte) {
	if len(b) == 0 {
		return
	}
	d.mu.Lock()
	s := d.sink
	d.mu.Unlock()
	if s != nil { // output between cells (background threads) is dropped
		s.write(i, b)
	}
}

// waitMarks waits until both streams have delivered n markers, the timer
// fires or the driver's pipes close.
func (d *driver) waitMarks(n int64, limit time.Duration) {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		d.mu.Lock()
		ok := d.marks[0] >= n && d.marks[1] >= n
		tick := d.tick
		d.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-tick:
		case <-t.C:
			return
		case <-d.proc.Done():
			return
		}
	}
}

// sink collects one cell's output and streams it as progress.
type sink struct {
	mu       sync.Mutex
	cap      [2]*outbuf.Capture
	held     [2][]byte // incomplete UTF-8 sequence held back from progress
	total    int64
	progress func(progress float64, message string, meta map[string]any)
}

var streamNames = [2]string{"stdout", "stderr"}

func newSink(limit int, progress func(float64, string, map[string]any)) *sink {
	return &sink{cap: [2]*outbuf.Capture{outbuf.New(limit), outbuf.New(limit)}, progress: progress}
}

func (s *sink) write(i int, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cap[i].Write(b)
	s.total += int64(len(b))
	if s.progress == nil {
		return
	}
	chunk := append(s.held[i], b...)
	ready := outbuf.TrimEnd(chunk)
	if len(chunk)-len(ready) > 0 && utf8.Valid(chunk[len(ready):]) {
		ready = chunk
	}
	s.held[i] = append([]byte(nil), chunk[len(ready):]...)
	if len(ready) > 0 {
		s.progress(float64(s.total), string(ready), map[string]any{"stream": streamNames[i]})
	}
}
