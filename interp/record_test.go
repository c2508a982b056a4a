package interp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRecordReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		max      int
		want     []string // records, then "ERR:..." for the final error
	}{
		{"lines", "a\nbb\n", 4, []string{"a", "bb", "ERR:EOF"}},
		{"exactly max", "abcd\nx\n", 4, []string{"abcd", "x", "ERR:EOF"}},
		{"over max", "abcde\nx\n", 4, []string{"ERR:too long"}},
		{"over max without newline", "abcdefgh", 4, []string{"ERR:too long"}},
		{"unterminated tail", "ab\ncd", 4, []string{"ab", "cd ERR:EOF"}},
		{"empty lines", "\n\n", 4, []string{"", "", "ERR:EOF"}},
		{"long record across buffer", strings.Repeat("x", 100) + "\n", 200, []string{strings.Repeat("x", 100), "ERR:EOF"}},
		{"endless across buffer", strings.Repeat("x", 1000), 200, []string{"ERR:too long"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := recordReader{br: bufio.NewReaderSize(strings.NewReader(tc.in), 16), max: tc.max}
			var got []string
			for {
				line, err := rr.next()
				switch {
				case errors.Is(err, errRecordTooLong):
					got = append(got, "ERR:too long")
				case err == io.EOF && len(line) > 0:
					got = append(got, string(line)+" ERR:EOF")
				case err == io.EOF:
					got = append(got, "ERR:EOF")
				case err != nil:
					got = append(got, "ERR:"+err.Error())
				default:
					got = append(got, string(line))
					continue
				}
				break
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// endless never ends and never writes a newline.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += int64(len(p))
	return len(p), nil
}

// TestRecordReaderEndless: a record without a newline stops the reader after
// max bytes, whatever follows.
func TestRecordReaderEndless(t *testing.T) {
	src := &endless{}
	rr := recordReader{br: bufio.NewReaderSize(src, 64<<10), max: 1 << 20}
	if _, err := rr.next(); !errors.Is(err, errRecordTooLong) {
		t.Fatalf("err = %v", err)
	}
	if src.n > 2<<20 {
		t.Fatalf("read %d bytes for a 1 MiB bound", src.n)
	}
}

// FuzzRecordReader: records come back as the newline-split input, every
// record is at most max bytes, and a longer one ends the reading.
func FuzzRecordReader(f *testing.F) {
	f.Add([]byte("{\"ready\":true}\n{\"id\":1}\n"), 16, 8)
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaaaaaaaaa"), 4, 16)
	f.Add([]byte("\n\n\nx"), 1, 16)
	f.Fuzz(func(t *testing.T, in []byte, max, size int) {
		if max < 1 || max > 1<<16 || size < 16 || size > 1<<16 {
			t.Skip()
		}
		rr := recordReader{br: bufio.NewReaderSize(bytes.NewReader(in), size), max: max}
		var got [][]byte
		for {
			line, err := rr.next()
			if errors.Is(err, errRecordTooLong) {
				// the first record not returned must be longer than max
				rest := in[len(bytes.Join(got, []byte("\n")))+min(len(got), 1):]
				if i := bytes.IndexByte(rest, '\n'); (i < 0 && len(rest) <= max) || (i >= 0 && i <= max) {
					t.Fatalf("too long reported for %q (max %d)", rest, max)
				}
				return
			}
			if len(line) > max {
				t.Fatalf("record of %d bytes, max %d", len(line), max)
			}
			got = append(got, append([]byte(nil), line...))
			if err != nil {
				break
			}
		}
		want := bytes.Split(in, []byte("\n")) // the tail after the last newline comes with io.EOF
		if !bytes.Equal(bytes.Join(got, []byte("\n")), bytes.Join(want, []byte("\n"))) {
			t.Fatalf("records %q from %q", got, in)
		}
	})
}
