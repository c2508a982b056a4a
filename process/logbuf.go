package process

// logBuf is the bounded log of one output stream. It keeps the first
// headCap bytes verbatim (start-up messages matter) and the last ringCap
// bytes in a ring; what falls between is dropped and reported as a gap.
// Offsets are absolute byte positions in everything the stream produced, so
// an offset handed out once stays meaningful forever:
//
//	0            len(head)        ringStart()               total
//	|--- head ---|------ gap ------|---------- ring ----------|
//
// Memory grows with the output up to headCap+ringCap and never beyond.
// logBuf is not safe for concurrent use; the owning proc locks it.
type logBuf struct {
	headCap int
	ringCap int
	head    []byte
	ring    []byte // grows to ringCap, then wraps
	rpos    int    // once len(ring) == ringCap: index of the oldest byte
	total   int64  // bytes ever written
}

// newLogBuf returns a buffer keeping about limit bytes: a quarter as head,
// the rest as ring.
func newLogBuf(limit int) *logBuf {
	if limit < 4 {
		limit = 4
	}
	h := limit / 4
	return &logBuf{headCap: h, ringCap: limit - h}
}

// Write appends p. It never fails.
func (b *logBuf) Write(p []byte) {
	b.total += int64(len(p))
	if n := b.headCap - len(b.head); n > 0 {
		n = min(n, len(p))
		b.head = append(b.head, p[:n]...)
		p = p[n:]
	}
	if len(p) == 0 {
		return
	}
	if len(p) >= b.ringCap {
		if cap(b.ring) < b.ringCap {
			b.ring = make([]byte, b.ringCap)
		}
		b.ring = b.ring[:b.ringCap]
		copy(b.ring, p[len(p)-b.ringCap:])
		b.rpos = 0
		return
	}
	if len(b.ring) < b.ringCap {
		// Still growing: append what fits, grow capacity at most to ringCap.
		n := min(b.ringCap-len(b.ring), len(p))
		if need := len(b.ring) + n; need > cap(b.ring) {
			c := min(max(need, 2*cap(b.ring), 4096), b.ringCap)
			nr := make([]byte, len(b.ring), c)
			copy(nr, b.ring)
			b.ring = nr
		}
		b.ring = append(b.ring, p[:n]...)
		p = p[n:]
		b.rpos = 0
	}
	// Full: overwrite the oldest bytes.
	for len(p) > 0 {
		n := copy(b.ring[b.rpos:], p)
		p = p[n:]
		b.rpos = (b.rpos + n) % b.ringCap
	}
}

// Total is the number of bytes ever written.
func (b *logBuf) Total() int64 { return b.total }

// ringStart is the absolute offset of the oldest byte in the ring (== total
// when the ring is empty).
func (b *logBuf) ringStart() int64 { return b.total - int64(len(b.ring)) }

// retained is the number of bytes currently held.
func (b *logBuf) retained() int { return len(b.head) + len(b.ring) }

// Read returns up to max bytes starting at absolute offset off. Offsets
// beyond the end are clamped to the end, negative ones to 0. When off falls
// into the gap, reading resumes at the ring's start and skipped says how
// many bytes were lost. start is the offset of data[0]; the next offset to
// read from is start+len(data).
func (b *logBuf) Read(off int64, max int) (data []byte, start, skipped int64) {
	off = clamp(off, 0, b.total)
	if max <= 0 {
		return nil, off, 0
	}
	if off < int64(len(b.head)) {
		data = append(data, b.head[off:min(int64(len(b.head)), off+int64(max))]...)
		if len(data) == max || b.ringStart() > int64(len(b.head)) {
			return data, off, 0 // stop at the gap: the caller sees it next time
		}
		start = off
		off = int64(len(b.head))
	} else {
		if rs := b.ringStart(); off < rs {
			skipped = rs - off
			off = rs
		}
		start = off
	}
	return b.appendRing(data, off, max-len(data)), start, skipped
}

// appendRing appends up to n bytes of the ring from absolute offset off
// (ringStart <= off <= total).
func (b *logBuf) appendRing(dst []byte, off int64, n int) []byte {
	i := int(off - b.ringStart()) // logical index into the ring
	n = min(n, len(b.ring)-i)
	if n <= 0 {
		return dst
	}
	p := (b.rpos + i) % len(b.ring)
	k := min(n, len(b.ring)-p)
	dst = append(dst, b.ring[p:p+k]...)
	return append(dst, b.ring[:n-k]...)
}

// firstContiguous is the lowest offset from which the retained data runs
// without a gap to the end.
func (b *logBuf) firstContiguous() int64 {
	if rs := b.ringStart(); rs > int64(len(b.head)) {
		return rs
	}
	return 0
}

// Tail returns the offset where the last n lines begin (a final newline does
// not start an empty line), looking back at most max bytes and never past a
// gap. n <= 0 means the end.
func (b *logBuf) Tail(n, max int) int64 {
	if n <= 0 {
		return b.total
	}
	lo := b.firstContiguous()
	if max > 0 && b.total-int64(max) > lo {
		lo = b.total - int64(max)
	}
	data, start, _ := b.Read(lo, int(b.total-lo))
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if data[i] == '\n' {
			n--
			if n == 0 {
				return start + int64(i) + 1
			}
		}
	}
	return start
}

func clamp(v, lo, hi int64) int64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
