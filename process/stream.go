package process

import (
	"context"
	"time"
)

// Coalescing of streamed output.
const (
	flushBytes = 16 << 10              // a chunk goes out at this size...
	flushEvery = 10 * time.Millisecond // ...or this long after its first byte
)

// Chunk is a piece of streamed output.
type Chunk struct {
	Stream   string // stdout or stderr
	Text     string // UTF-8 text, or base64 per Encoding
	Encoding string
	Bytes    int   // raw bytes in this chunk
	Skipped  int64 // bytes lost (not kept in the log) just before this chunk
}

// StreamResult is how a stream ended.
type StreamResult struct {
	Info
	StdoutOffset, StderrOffset int64 // where a get_process_logs can continue
	TimedOut                   bool
}

// Stream replays the buffered output of process id and then follows it,
// calling emit (from this goroutine) with coalesced chunks, until the
// process ends and its output is drained, timeout passes, or ctx ends.
func (m *Manager) Stream(ctx context.Context, id string, timeout time.Duration, emit func(Chunk)) (StreamResult, error) {
	p, err := m.get(id)
	if err != nil {
		return StreamResult{}, err
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	names := [2]string{"stdout", "stderr"}
	var (
		offs    [2]int64
		pending [2][]byte
		skipped [2]int64
		since   time.Time // when the oldest pending byte arrived
	)
	flush := func(final bool) {
		for i := range pending {
			b := pending[i]
			if !final {
				b, _ = splitUTF8(b)
			}
			if len(b) == 0 && skipped[i] == 0 {
				continue
			}
			text, enc := encode(b)
			emit(Chunk{Stream: names[i], Text: text, Encoding: enc, Bytes: len(b), Skipped: skipped[i]})
			pending[i] = append(pending[i][:0], pending[i][len(b):]...)
			skipped[i] = 0
		}
		since = time.Time{}
	}
	var flushT <-chan time.Time
	for {
		ended := false // checked before reading: then every byte is in the logs
		select {
		case <-p.done:
			ended = true
		default:
		}
		p.mu.Lock()
		more := false
		for i, lb := range []*logBuf{p.out, p.err} {
			data, start, sk := lb.Read(offs[i], flushBytes)
			if len(data) > 0 && since.IsZero() {
				since = time.Now()
			}
			pending[i] = append(pending[i], data...)
			skipped[i] += sk
			offs[i] = start + int64(len(data))
			more = more || offs[i] < lb.Total()
		}
		notify := p.notify
		p.mu.Unlock()
		n := len(pending[0]) + len(pending[1])
		switch {
		case ended && !more:
			flush(true)
			return StreamResult{Info: p.info(), StdoutOffset: offs[0], StderrOffset: offs[1]}, nil
		case n >= flushBytes || (n > 0 && time.Since(since) >= flushEvery) || skipped[0]+skipped[1] > 0:
			flush(false)
		}
		if more {
			continue
		}
		flushT = nil
		if !since.IsZero() {
			flushT = time.After(flushEvery - time.Since(since))
		}
		select {
		case <-notify:
		case <-p.done: // ended after the check above, maybe after its last notify
		case <-flushT:
		case <-deadline.C:
			flush(true)
			return StreamResult{Info: p.info(), StdoutOffset: offs[0], StderrOffset: offs[1], TimedOut: true}, nil
		case <-ctx.Done():
			return StreamResult{}, ctx.Err()
		}
	}
}
