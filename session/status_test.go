package session

import (
	"bytes"
	"fmt"
	"testing"
)

func TestNextRecord(t *testing.T) {
	for _, tc := range []struct {
		in      string
		n       int
		rec     statusRecord
		wantErr bool
	}{
		{"3 0\x00/tmp\x00", 9, statusRecord{3, 0, "/tmp"}, false},
		{"3 0\x00/tmp\x00rest", 9, statusRecord{3, 0, "/tmp"}, false},
		{"3 0\x00/tmp", 0, statusRecord{}, false},
		{"3 0", 0, statusRecord{}, false},
		{"x 0\x00/\x00", 6, statusRecord{}, true},
		{"30\x00/\x00", 5, statusRecord{}, true},
		{"-1 0\x00/\x00", 7, statusRecord{}, true},
		{"1 -3\x00/a b\x00", 10, statusRecord{1, -3, "/a b"}, false},
	} {
		rec, n, err := nextRecord([]byte(tc.in))
		if n != tc.n || (err != nil) != tc.wantErr || (err == nil && rec != tc.rec) {
			t.Errorf("%q: got %+v %d %v", tc.in, rec, n, err)
		}
	}
}

// FuzzNextRecord: the parser never panics, consumes a whole record or
// nothing, and reads back what __sbx_post writes.
func FuzzNextRecord(f *testing.F) {
	f.Add([]byte("1 0\x00/tmp\x00"), 7, 0, "/x")
	f.Add([]byte("\x00\x00\x00"), 1, 255, "")
	f.Add([]byte("99999999999999999999 1\x00/\x00"), 0, 1, "/ä")
	f.Fuzz(func(t *testing.T, in []byte, seq, code int, pwd string) {
		rec, n, err := nextRecord(in)
		if n < 0 || n > len(in) {
			t.Fatalf("consumed %d of %d", n, len(in))
		}
		if n > 0 && in[n-1] != 0 {
			t.Fatalf("consumed %d bytes not ending a record: %q", n, in)
		}
		if n == 0 && bytes.Count(in, []byte{0}) >= 2 {
			t.Fatalf("complete record not consumed: %q", in)
		}
		if err == nil && n > 0 && rec.seq < 0 {
			t.Fatalf("negative seq %+v", rec)
		}
		if seq < 0 || bytes.IndexByte([]byte(pwd), 0) >= 0 {
			return
		}
		w := []byte(fmt.Sprintf("%d %d\x00%s\x00", seq, code, pwd))
		rec, n, err = nextRecord(append(w, in...))
		if err != nil || n != len(w) || rec != (statusRecord{seq, code, pwd}) {
			t.Fatalf("round trip of %q: %+v %d %v", w, rec, n, err)
		}
	})
}
