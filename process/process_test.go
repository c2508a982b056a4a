package process

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"unicode/utf8"
)

func TestParseSignal(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want syscall.Signal
		ok   bool
	}{
		{"", syscall.SIGTERM, true},
		{"SIGTERM", syscall.SIGTERM, true},
		{"term", syscall.SIGTERM, true},
		{"INT", syscall.SIGINT, true},
		{"SIGKILL", syscall.SIGKILL, true},
		{"9", syscall.SIGKILL, true},
		{" 15 ", syscall.SIGTERM, true},
		{"0", 0, false},
		{"65", 0, false},
		{"-1", 0, false},
		{"SIGNOPE", 0, false},
	} {
		got, err := ParseSignal(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestOverlayEnv(t *testing.T) {
	s := func(v string) *string { return &v }
	got, err := overlayEnv(
		[]string{"A=1", "B=2", "SBX_JOB=S1/4", "C=3"},
		map[string]*string{"B": nil, "C": s("x=y"), "D": s("")},
	)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1", "C=x=y", "D="}; !slices.Equal(got, want) {
		t.Fatalf("overlayEnv = %q, want %q", got, want)
	}
	for _, bad := range []map[string]*string{{"": s("1")}, {"A=B": s("1")}, {"A": s("a\x00b")}} {
		if _, err := overlayEnv(nil, bad); err == nil {
			t.Errorf("overlayEnv(%v) accepted", bad)
		}
	}
}

func TestLineScanner(t *testing.T) {
	re := regexp.MustCompile(`^ready on (\d+)$`)
	var s lineScanner
	for _, chunk := range []string{"start\nrea", "dy on", " 80", "80\r\nmore\n"} {
		line, ok := s.feed([]byte(chunk), re)
		if ok {
			if line != "ready on 8080" {
				t.Fatalf("matched %q", line)
			}
			return
		}
	}
	t.Fatal("no match across chunks")
}

func TestLineScannerPartial(t *testing.T) {
	var s lineScanner
	re := regexp.MustCompile(`^Password:`)
	if _, ok := s.feed([]byte("a\nPassword: "), re); ok {
		t.Fatal("feed matched an unfinished line")
	}
	if line, ok := s.tryPartial(re); !ok || line != "Password: " {
		t.Fatalf("prompt without newline: %q %v", line, ok)
	}
}

func TestReadPageUTF8(t *testing.T) {
	b := newLogBuf(1 << 10)
	b.Write([]byte("héllo wörld")) // é, ö are two bytes
	// A page that would end inside é ends before it.
	p := readPage(b, 0, 2, false, true)
	if p.Text != "h" || p.Encoding != "utf-8" || p.Next != 1 {
		t.Fatalf("page = %+v", p)
	}
	p = readPage(b, p.Next, 100, false, true)
	if p.Text != "éllo wörld" || p.Encoding != "utf-8" {
		t.Fatalf("page = %+v", p)
	}
	// Invalid bytes are base64, never mangled.
	b.Write([]byte{0xff, 'x'})
	p = readPage(b, 0, 100, false, true)
	raw, _ := base64.StdEncoding.DecodeString(p.Text)
	if p.Encoding != "base64" || string(raw) != "héllo wörld\xffx" {
		t.Fatalf("page = %+v", p)
	}
}

// FuzzReadPage checks that paging from 0 with any page size yields every
// kept byte exactly once, decoded, with the gap accounted for.
func FuzzReadPage(f *testing.F) {
	f.Add(uint16(64), uint8(3), []byte("héllo\xffwörld\n日本語\n"))
	f.Add(uint16(8), uint8(1), []byte("ééééééééééééé"))
	f.Fuzz(func(t *testing.T, limit uint16, page uint8, data []byte) {
		b := newLogBuf(int(limit))
		b.Write(data)
		size := int(page)%32 + 1
		var got []byte
		var skipped int64
		off := int64(0)
		for i := 0; off < b.Total(); i++ {
			if i > len(data)+10 {
				t.Fatalf("paging stuck at %d", off)
			}
			p := readPage(b, off, size, false, true)
			chunk := []byte(p.Text)
			if p.Encoding == "base64" {
				var err error
				if chunk, err = base64.StdEncoding.DecodeString(p.Text); err != nil {
					t.Fatal(err)
				}
			} else if !utf8.ValidString(p.Text) {
				t.Fatal("utf-8 page is not valid UTF-8")
			}
			if p.Start != off+p.Skipped || p.Next != p.Start+int64(len(chunk)) || len(chunk) > size {
				t.Fatalf("page at %d: %+v (%d bytes)", off, p, len(chunk))
			}
			if !bytes.Equal(chunk, data[p.Start:p.Next]) {
				t.Fatalf("page at %d: wrong bytes", off)
			}
			if p.Next == off && p.Skipped == 0 {
				t.Fatalf("page at %d does not advance", off)
			}
			got = append(got, chunk...)
			skipped += p.Skipped
			off = p.Next
		}
		if int64(len(got))+skipped != int64(len(data)) {
			t.Fatalf("got %d + skipped %d, want %d", len(got), skipped, len(data))
		}
	})
}
