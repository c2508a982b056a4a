package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// drain reads every frame from input through a Stream and returns the
// frames and the answer lines written for bad input.
func drain(t testing.TB, input []byte, maxLine int) ([]*frame, [][]byte) {
	var out bytes.Buffer
	s := NewStream(bytes.NewReader(input), &out, maxLine)
	var frames []*frame
	for {
		f, err := s.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next: %v (a bad line must never end the stream)", err)
		}
		frames = append(frames, f)
	}
	var lines [][]byte
	for _, l := range bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n")) {
		if len(l) > 0 {
			lines = append(lines, l)
		}
	}
	return frames, lines
}

// checkAnswer fails unless line is a well-formed JSON-RPC error object.
func checkAnswer(t testing.TB, line []byte) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %q", line)
	}
	if string(m["jsonrpc"]) != `"2.0"` {
		t.Fatalf("answer without jsonrpc 2.0: %s", line)
	}
	if id, ok := m["id"]; ok && !validID(id) {
		t.Fatalf("answer with invalid id: %s", line)
	}
	var e wireError
	if err := json.Unmarshal(m["error"], &e); err != nil || e.Message == "" {
		t.Fatalf("answer without error object: %s", line)
	}
	switch e.Code {
	case CodeParseError, CodeInvalidRequest:
	default:
		t.Fatalf("unexpected code %d: %s", e.Code, line)
	}
	if _, ok := m["result"]; ok {
		t.Fatalf("answer with result: %s", line)
	}
}

func TestStreamTable(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		frames int    // valid frames
		codes  []int  // answers, in order
		id     string // id of the first answer ("" when omitted)
	}{
		{"request", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, 1, nil, ""},
		{"notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, 1, nil, ""},
		{"not json", `{nope`, 0, []int{CodeParseError}, ""},
		{"truncated", `{"jsonrpc":"2.0","id":1,"method":"ping"`, 0, []int{CodeParseError}, ""},
		{"array", `[1]`, 0, []int{CodeInvalidRequest}, ""},
		{"number", `7`, 0, []int{CodeInvalidRequest}, ""},
		{"bad version", `{"jsonrpc":"1.0","id":3,"method":"ping"}`, 0, []int{CodeInvalidRequest}, "3"},
		{"null id", `{"jsonrpc":"2.0","id":null,"method":"ping"}`, 0, []int{CodeInvalidRequest}, ""},
		{"bool id", `{"jsonrpc":"2.0","id":false,"method":"ping"}`, 0, []int{CodeInvalidRequest}, ""},
		{"float id", `{"jsonrpc":"2.0","id":2.5,"method":"ping"}`, 0, []int{CodeInvalidRequest}, ""},
		{"negative id", `{"jsonrpc":"2.0","id":-3,"method":"ping"}`, 1, nil, ""},
		{"no method", `{"jsonrpc":"2.0","id":"x"}`, 0, []int{CodeInvalidRequest}, `"x"`},
		{"response ignored", `{"jsonrpc":"2.0","id":1,"result":{}}`, 0, nil, ""},
		{"blank lines", "\n\n  \n\t\n", 0, nil, ""},
		{"crlf", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n", 1, nil, ""},
		{"bom", "\ufeff{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 1, nil, ""},
		{"mixed", "x\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n[]\n{\"jsonrpc\":\"2.0\",\"method\":\"a\"}", 2, []int{CodeParseError, CodeInvalidRequest}, ""},
		{"too long", `{"jsonrpc":"2.0","id":9,"method":"ping","params":{"x":"` + strings.Repeat("a", 300) + `"}}`, 0, []int{CodeInvalidRequest}, "9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, answers := drain(t, []byte(tt.in), 256)
			if len(frames) != tt.frames {
				t.Errorf("frames = %d, want %d", len(frames), tt.frames)
			}
			if len(answers) != len(tt.codes) {
				t.Fatalf("answers = %q, want codes %v", answers, tt.codes)
			}
			for i, a := range answers {
				checkAnswer(t, a)
				var r struct {
					ID    json.RawMessage `json:"id"`
					Error wireError       `json:"error"`
				}
				json.Unmarshal(a, &r)
				if r.Error.Code != tt.codes[i] {
					t.Errorf("answer %d code = %d, want %d", i, r.Error.Code, tt.codes[i])
				}
				if i == 0 && string(r.ID) != tt.id {
					t.Errorf("answer id = %s, want %q", r.ID, tt.id)
				}
			}
		})
	}
}

// endless yields a line of n bytes of padding inside a JSON string, then
// a valid ping, without ever holding the line in memory.
type endless struct {
	head, tail []byte
	pad        int64
}

func (e *endless) Read(p []byte) (int, error) {
	switch {
	case len(e.head) > 0:
		n := copy(p, e.head)
		e.head = e.head[n:]
		return n, nil
	case e.pad > 0:
		n := min(int64(len(p)), e.pad)
		for i := range p[:n] {
			p[i] = 'a'
		}
		e.pad -= n
		return int(n), nil
	case len(e.tail) > 0:
		n := copy(p, e.tail)
		e.tail = e.tail[n:]
		return n, nil
	}
	return 0, io.EOF
}

// TestStreamLongLineBounded feeds a 64 MiB line at the default 16 MiB
// limit: it is answered with the id from its head, the next line still
// works, and the reader never holds more than the limit.
func TestStreamLongLineBounded(t *testing.T) {
	r := &endless{
		head: []byte(`{"jsonrpc":"2.0","id":"huge","method":"tools/call","params":{"x":"`),
		pad:  64 << 20,
		tail: []byte("\"}}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n"),
	}
	var out bytes.Buffer
	s := NewStream(r, &out, 0)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f, err := s.next()
	if err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if string(f.id) != "2" || f.method != "ping" {
		t.Fatalf("frame after the long line = %+v", f)
	}
	if !strings.Contains(out.String(), `"id":"huge"`) || !strings.Contains(out.String(), "line limit") {
		t.Fatalf("answer = %s", out.String())
	}
	if c := cap(s.lr.buf); c > MaxLine+64<<10 {
		t.Errorf("line buffer grew to %d bytes, limit %d", c, MaxLine)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 3*MaxLine {
		t.Errorf("allocated %d bytes for a 64 MiB line; want it bounded by the 16 MiB limit", grew)
	}
}

// seeds are the transcripts' input lines plus the table above.
func seeds(t testing.TB) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob("testdata/*.txt")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if l := sc.Text(); !strings.HasPrefix(l, "!") && !strings.HasPrefix(l, "#") {
				out = append(out, []byte(l))
			}
		}
	}
	out = append(out, []byte("\ufeff{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n"), []byte("\n\n"), []byte("{\"jsonrpc\":\"2.0\",\"id\":-1,\"method\":\"x\"}\n[]\n7"))
	return out
}

// FuzzFrames: whatever bytes arrive, the stream never fails, every answer
// is a well-formed error object, and every frame has a valid id (or none)
// and a method.
func FuzzFrames(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frames, answers := drain(t, data, 512)
		for _, a := range answers {
			checkAnswer(t, a)
		}
		for _, fr := range frames {
			if fr.id != nil && !validID(fr.id) {
				t.Fatalf("frame with invalid id %q", fr.id)
			}
			if fr.params != nil && fr.params[0] != '{' && fr.params[0] != '[' {
				t.Fatalf("frame with params %q", fr.params)
			}
			if _, ok := idKey(fr.id); fr.id != nil && !ok {
				t.Fatalf("id %q has no key", fr.id)
			}
		}
	})
}

func TestWriteProgress(t *testing.T) {
	var out bytes.Buffer
	s := NewStream(strings.NewReader(""), &out, 0)
	msg := "tab\there \"quoted\" back\\slash <b>&amp; \u2028 é \x01 end"
	s.writeProgress(json.RawMessage(`7`), 65536, Bytes([]byte(msg)), map[string]any{"stream": "stdout", "encoding": "x"})
	s.writeProgress(json.RawMessage(`"tok"`), 2.5, String(""), nil)
	s.writeProgress(json.RawMessage(`"tok"`), 3, String("n"), map[string]any{"count": 3}) // non-string meta: general encoder
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines: %q", len(lines), out.String())
	}
	type params struct {
		ProgressToken json.RawMessage `json:"progressToken"`
		Progress      float64         `json:"progress"`
		Message       *string         `json:"message"`
		Meta          map[string]any  `json:"_meta"`
	}
	var got []params
	for _, l := range lines {
		var m struct {
			JSONRPC, Method string
			Params          params
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.JSONRPC != "2.0" || m.Method != "notifications/progress" {
			t.Fatalf("line %s: %v %+v", l, err, m)
		}
		got = append(got, m.Params)
	}
	if p := got[0]; string(p.ProgressToken) != "7" || p.Progress != 65536 || p.Message == nil || *p.Message != msg ||
		p.Meta["stream"] != "stdout" || p.Meta["encoding"] != "x" {
		t.Errorf("first: %+v", p)
	}
	if strings.Index(lines[0], `"encoding"`) > strings.Index(lines[0], `"stream"`) {
		t.Errorf("meta keys not sorted: %s", lines[0])
	}
	if p := got[1]; string(p.ProgressToken) != `"tok"` || p.Progress != 2.5 || p.Message != nil || p.Meta != nil {
		t.Errorf("second: %+v (%s)", p, lines[1])
	}
	if p := got[2]; p.Meta["count"] != 3.0 || *p.Message != "n" {
		t.Errorf("third: %+v", p)
	}
}
