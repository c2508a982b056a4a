package tools

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/sbx-mcp/sbx-mcp/fileops"
	"github.com/sbx-mcp/sbx-mcp/server"
)

var png1x1, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

func TestEncodeRead(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		enc       string
		offset    int64
		res       fileops.ReadFileResult
		content   string
		encoding  string
		mime      string
		binary    bool
		truncated bool
		next      int64
		image     bool
		err       string
	}{
		{name: "text", path: "/a.txt", res: fileops.ReadFileResult{Data: []byte("héllo"), Size: 6},
			content: "héllo", encoding: "utf-8", mime: "text/plain"},
		{name: "go source", path: "/m.go", res: fileops.ReadFileResult{Data: []byte("package main\n")},
			content: "package main\n", encoding: "utf-8", mime: "text/x-go"},
		{name: "json", path: "/x.json", res: fileops.ReadFileResult{Data: []byte(`{"a":1}`)},
			content: `{"a":1}`, encoding: "utf-8", mime: "application/json"},
		{name: "png", path: "/p.png", res: fileops.ReadFileResult{Data: png1x1, Size: int64(len(png1x1))},
			content: base64.StdEncoding.EncodeToString(png1x1), encoding: "base64", mime: "image/png", binary: true, image: true},
		{name: "png without extension", path: "/p", res: fileops.ReadFileResult{Data: png1x1},
			content: base64.StdEncoding.EncodeToString(png1x1), encoding: "base64", mime: "image/png", binary: true, image: true},
		{name: "png page is no image", path: "/p.png", res: fileops.ReadFileResult{Data: png1x1[:10], Truncated: true},
			content: base64.StdEncoding.EncodeToString(png1x1[:10]), encoding: "base64", mime: "image/png", binary: true, truncated: true, next: 10},
		{name: "binary auto", path: "/b", res: fileops.ReadFileResult{Data: []byte{0xff, 0xfe, 0}},
			content: "//4A", encoding: "base64", mime: "application/octet-stream", binary: true},
		{name: "NUL is binary", path: "/b", res: fileops.ReadFileResult{Data: []byte("a\x00b")},
			content: "YQBi", encoding: "base64", mime: "application/octet-stream", binary: true},
		{name: "text as base64", path: "/a.txt", enc: "base64", res: fileops.ReadFileResult{Data: []byte("hi")},
			content: "aGk=", encoding: "base64", mime: "text/plain"},
		{name: "utf-8 of binary", path: "/b.bin", enc: "utf-8", res: fileops.ReadFileResult{Data: []byte{0xff}},
			err: `not valid UTF-8 text (application/octet-stream); read it with encoding "base64"`},
		{name: "page splits a rune", path: "/a.txt", res: fileops.ReadFileResult{Data: []byte("ab\xc3"), Truncated: true, Size: 10},
			content: "ab", encoding: "utf-8", mime: "text/plain", truncated: true, next: 2},
		{name: "page at offset", path: "/a.txt", offset: 100, res: fileops.ReadFileResult{Data: []byte("xyz"), Head: []byte("hello"), Truncated: true},
			content: "xyz", encoding: "utf-8", mime: "text/plain", truncated: true, next: 103},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeRead(tt.path, tt.enc, tt.offset, tt.res, true)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.path) {
					t.Fatalf("err = %v, want one naming %s and containing %q", err, tt.path, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Content.String() != tt.content || got.Encoding != tt.encoding || got.MimeType != tt.mime || got.IsBinary != tt.binary ||
				got.Truncated != tt.truncated || got.NextOffset != tt.next || got.image != tt.image {
				t.Errorf("got %+v", got)
			}
			if imgs := got.Images(); tt.image != (len(imgs) == 1) || tt.image && (imgs[0].MimeType != tt.mime || imgs[0].Data != tt.content) {
				t.Errorf("images %+v", imgs)
			}
			if tt.truncated && !strings.Contains(got.Text(), "offset=") {
				t.Errorf("text of a truncated read does not say how to go on: %q", got.Text())
			}
		})
	}
}

// Whatever the text, a full page stays far below 10 MiB once encoded twice.
func TestReadResultSizeBound(t *testing.T) {
	worst := map[string][]byte{
		"control chars": bytes.Repeat([]byte{0x01}, fileops.ReadFileMaxBytes),
		"html":          bytes.Repeat([]byte("<>&"), fileops.ReadFileMaxBytes/3),
		"binary":        bytes.Repeat([]byte{0xff}, fileops.ReadFileMaxBytes),
		"plain":         bytes.Repeat([]byte("a"), fileops.ReadFileMaxBytes),
	}
	for name, data := range worst {
		for _, enc := range []string{"auto", "utf-8", "base64"} {
			r, err := encodeRead("/f", enc, 0, fileops.ReadFileResult{Data: data, Size: int64(len(data))}, true)
			if err != nil {
				continue
			}
			structured, _ := server.Encode(r)
			text, _ := server.Encode(r.Text())
			if total := len(structured) + len(text); total > 7<<20 {
				t.Errorf("%s/%s: result is %d bytes", name, enc, total)
			}
			if r.Encoding == "utf-8" && r.Truncated && r.NextOffset != int64(r.Content.Len()) {
				t.Errorf("%s/%s: next_offset %d for %d bytes of content", name, enc, r.NextOffset, r.Content.Len())
			}
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]uint32{"0644": 0o644, "644": 0o644, "0o755": 0o755, "4755": 0o4755, "00600": 0o600} {
		if got, err := parseMode(in); err != nil || got != want {
			t.Errorf("parseMode(%q) = %o, %v; want %o", in, got, err, want)
		}
	}
	for _, in := range []string{"", "rw-r--r--", "0999", "12", "017777", "0x1ff", "-644"} {
		if _, err := parseMode(in); err == nil || !strings.Contains(err.Error(), `"0644"`) {
			t.Errorf("parseMode(%q) err = %v", in, err)
		}
	}
}

func TestDecodeBase64(t *testing.T) {
	for in, want := range map[string]string{"aGk=": "hi", "aGk": "hi", "aG\nk=": "hi", "": ""} {
		if got, err := decodeBase64(in); err != nil || string(got) != want {
			t.Errorf("decodeBase64(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"not base64!", "a===", "aGk=aGk=x"} {
		if _, err := decodeBase64(in); err == nil || !strings.Contains(err.Error(), "not valid base64") {
			t.Errorf("decodeBase64(%q) err = %v", in, err)
		}
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[uint32]string{0o755: "rwxr-xr-x", 0o644: "rw-r--r--", 0: "---------", 0o4755: "rwsr-xr-x", 0o1777: "rwxrwxrwt", 0o2644: "rw-r-Sr--"} {
		if got := modeString(m); got != want {
			t.Errorf("modeString(%o) = %s, want %s", m, got, want)
		}
	}
}

func TestEncodeReadTextBudget(t *testing.T) {
	for name, tc := range map[string]struct {
		data []byte
		want int // bytes of content kept
	}{
		"plain fits":   {bytes.Repeat([]byte("abcdefg\n"), 1<<17), 1 << 20},
		"controls cut": {bytes.Repeat([]byte{1}, 1<<20), (readFileTextBudget - 2) / 6},
		// 9 bytes of budget are left after "a": four é fit, the fifth would be cut
		"cut at a rune":    {append(bytes.Repeat([]byte{1}, (readFileTextBudget-2)/6-1), append([]byte("a"), bytes.Repeat([]byte("é"), 1<<10)...)...), (readFileTextBudget-2)/6 - 1 + 1 + 8},
		"quotes and runes": {bytes.Repeat([]byte(`"✓`), 1<<19), 2 << 20},
	} {
		out, err := encodeRead("/f.txt", "auto", 0, fileops.ReadFileResult{Data: tc.data, Size: int64(len(tc.data))}, true)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		truncated := tc.want < len(tc.data)
		if out.Content.Len() != tc.want || out.Truncated != truncated || out.Encoding != "utf-8" {
			t.Errorf("%s: %d bytes of content (truncated %v, %s), want %d (truncated %v)", name, out.Content.Len(), out.Truncated, out.Encoding, tc.want, truncated)
		}
		if truncated && out.NextOffset != int64(tc.want) {
			t.Errorf("%s: next_offset %d, want %d", name, out.NextOffset, tc.want)
		}
		if enc, _ := server.Encode(out.Content); len(enc) > readFileTextBudget {
			t.Errorf("%s: content encodes to %d bytes, over the budget %d", name, len(enc), readFileTextBudget)
		}
	}
}

// Without length a read returns at most readFileDefault bytes (images
// whole), so a default result stays small; length asks for more.
func TestReadFileDefaultLength(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcde\n"), 8<<10) // 128 KiB of text
	out, err := encodeRead("/f.txt", "auto", 0, fileops.ReadFileResult{Data: big, Size: int64(len(big))}, false)
	// the budget is the quoted size: a newline counts twice
	if err != nil || !out.Truncated || out.Content.Len() > readFileDefault || out.Content.Len() < readFileDefault*8/10 || out.NextOffset != int64(out.Content.Len()) {
		t.Fatalf("default text read: %d bytes, truncated %v, next %d, %v", out.Content.Len(), out.Truncated, out.NextOffset, err)
	}
	out, _ = encodeRead("/f.txt", "auto", 0, fileops.ReadFileResult{Data: big, Size: int64(len(big))}, true)
	if out.Truncated || out.Content.Len() != len(big) {
		t.Fatalf("read with length: %d bytes, truncated %v", out.Content.Len(), out.Truncated)
	}
	bin := bytes.Repeat([]byte{0, 1, 2, 0xff}, 16<<10)
	out, _ = encodeRead("/f.bin", "auto", 0, fileops.ReadFileResult{Data: bin, Size: int64(len(bin))}, false)
	if out.Encoding != "base64" || !out.Truncated || out.NextOffset != readFileDefault {
		t.Fatalf("default binary read: %s truncated %v next %d", out.Encoding, out.Truncated, out.NextOffset)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bin...)
	out, _ = encodeRead("/f.png", "auto", 0, fileops.ReadFileResult{Data: png, Size: int64(len(png))}, false)
	if out.Truncated || !out.image {
		t.Fatalf("an image is read whole: truncated %v image %v (%s)", out.Truncated, out.image, out.MimeType)
	}
}
