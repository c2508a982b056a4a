package process

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// model is the reference: everything written, and what logBuf must keep.
func checkAgainst(t *testing.T, b *logBuf, all []byte) {
	t.Helper()
	if b.Total() != int64(len(all)) {
		t.Fatalf("total %d, want %d", b.Total(), len(all))
	}
	if b.retained() > b.headCap+b.ringCap {
		t.Fatalf("retains %d bytes, cap %d", b.retained(), b.headCap+b.ringCap)
	}
	headLen := min(len(all), b.headCap)
	ringStart := max(headLen, len(all)-b.ringCap)
	// Paging from 0 with a small page size yields head, then the gap is
	// reported once, then the ring, byte for byte.
	for _, page := range []int{1, 3, 7, 1 << 20} {
		var got []byte
		var skipped int64
		off := int64(0)
		for steps := 0; off < b.Total(); steps++ {
			if steps > len(all)+10 {
				t.Fatalf("page %d: paging does not advance at %d", page, off)
			}
			data, start, sk := b.Read(off, page)
			if start != off+sk {
				t.Fatalf("page %d: start %d, off %d, skipped %d", page, start, off, sk)
			}
			if len(data) == 0 && sk == 0 {
				t.Fatalf("page %d: empty read at %d of %d", page, off, b.Total())
			}
			if len(data) > page {
				t.Fatalf("page %d: read %d bytes", page, len(data))
			}
			if !bytes.Equal(data, all[start:start+int64(len(data))]) {
				t.Fatalf("page %d: wrong bytes at %d", page, start)
			}
			skipped += sk
			got = append(got, data...)
			off = start + int64(len(data))
		}
		want := append(append([]byte(nil), all[:headLen]...), all[ringStart:]...)
		if !bytes.Equal(got, want) {
			t.Fatalf("page %d: reconstructed %d bytes, want %d", page, len(got), len(want))
		}
		if skipped != int64(ringStart-headLen) {
			t.Fatalf("page %d: skipped %d, want %d", page, skipped, ringStart-headLen)
		}
	}
	// Every offset reads the right byte or reports the gap.
	for off := 0; off <= len(all); off += max(1, len(all)/50) {
		data, start, sk := b.Read(int64(off), 5)
		switch {
		case off < headLen || off >= ringStart:
			if sk != 0 || start != int64(off) {
				t.Fatalf("offset %d: start %d skipped %d", off, start, sk)
			}
		default:
			if start != int64(ringStart) || sk != int64(ringStart-off) {
				t.Fatalf("gap offset %d: start %d skipped %d, ring starts at %d", off, start, sk, ringStart)
			}
		}
		if !bytes.Equal(data, all[start:start+int64(len(data))]) {
			t.Fatalf("offset %d: wrong bytes", off)
		}
	}
}

func TestLogBuf(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		writes []string
	}{
		{"empty", 16, nil},
		{"small", 16, []string{"hello\n"}},
		{"exact", 16, []string{"0123456789abcdef"}},
		{"wrap", 16, []string{"0123456789", "abcdefghij", "klmnopqrstuvwxyz"}},
		{"huge write", 16, []string{"ab", string(bytes.Repeat([]byte("x"), 100)), "yz"}},
		{"byte by byte", 8, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newLogBuf(tt.limit)
			var all []byte
			for _, w := range tt.writes {
				b.Write([]byte(w))
				all = append(all, w...)
				checkAgainst(t, b, all)
			}
			checkAgainst(t, b, all)
		})
	}
}

func TestLogBufReadBeyondEnd(t *testing.T) {
	b := newLogBuf(64)
	b.Write([]byte("abc"))
	data, start, sk := b.Read(100, 10)
	if len(data) != 0 || start != 3 || sk != 0 {
		t.Fatalf("Read(100) = %q, %d, %d", data, start, sk)
	}
	data, start, _ = b.Read(-5, 10)
	if string(data) != "abc" || start != 0 {
		t.Fatalf("Read(-5) = %q, %d", data, start)
	}
}

func TestLogBufTail(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 1, "c\n"},
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 1, "c"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"", 3, ""},
		{"\n\n", 1, "\n"},
		{"a\nb\n", 0, ""},
	}
	for _, tt := range tests {
		b := newLogBuf(1024)
		b.Write([]byte(tt.in))
		off := b.Tail(tt.n, 0)
		data, _, _ := b.Read(off, 1<<20)
		if string(data) != tt.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", tt.in, tt.n, data, tt.want)
		}
	}
	// Tail never looks back past the gap or max.
	b := newLogBuf(16)
	b.Write([]byte("l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n"))
	if off := b.Tail(100, 0); off != b.ringStart() {
		t.Fatalf("Tail across gap = %d, ring starts at %d", off, b.ringStart())
	}
	if off := b.Tail(100, 4); off != b.Total()-4 {
		t.Fatalf("Tail with max 4 = %d, total %d", off, b.Total())
	}
}

func FuzzLogBuf(f *testing.F) {
	f.Add(uint8(16), []byte("hello world, this is a log line\nand another\n"))
	f.Add(uint8(5), []byte{0, 1, 2, 3, 250, 251, 252, 7, 8, 9, 10, 11})
	f.Fuzz(func(t *testing.T, limit uint8, script []byte) {
		b := newLogBuf(int(limit))
		var all []byte
		// The script is a sequence of (length byte, data) writes.
		for len(script) > 0 {
			n := int(script[0])
			script = script[1:]
			if n > len(script) {
				n = len(script)
			}
			w := script[:n]
			script = script[n:]
			if len(script) >= 2 && script[0] == 0xff {
				// Occasionally a big write made of repeated data.
				k := int(binary.LittleEndian.Uint16(script[:2])) % 4096
				w = bytes.Repeat(append([]byte(nil), w...), k%7+1)
			}
			b.Write(w)
			all = append(all, w...)
		}
		checkAgainst(t, b, all)
	})
}
