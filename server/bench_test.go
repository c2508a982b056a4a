package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/sbx-mcp/sbx-mcp/jsonwire"
)

type chunkArgs struct {
	Chunks int `json:"chunks"`
	Size   int `json:"size"`
}

// benchServer starts an in-process server over pipes; it returns the
// client's writer and a line reader.
func benchServer(b testing.TB) (io.WriteCloser, *bufio.Reader) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	stream := NewTool("stream", "d", Annotations{}, func(ctx context.Context, call *Call, a chunkArgs) (doneResult, error) {
		chunk := strings.Repeat("x", a.Size)
		for i := 1; i <= a.Chunks; i++ {
			call.Progress(float64(i*a.Size), chunk, map[string]any{"stream": "stdout"})
		}
		return doneResult{Done: a.Chunks}, nil
	})
	srv := New(Options{Tools: []Tool{stream}, Log: zerolog.Nop()})
	go srv.Serve(context.Background(), inR, outW)
	b.Cleanup(func() { inW.Close(); outR.Close() })
	r := bufio.NewReaderSize(outR, 1<<20)
	io.WriteString(inW, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}`+"\n")
	r.ReadSlice('\n')
	return inW, r
}

// BenchmarkPing: one ping round trip through framing, jsonrpc2 and the reply path.
func BenchmarkPing(b *testing.B) {
	w, r := benchServer(b)
	for b.Loop() {
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"method":"ping"}`+"\n")
		if _, err := r.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProgress64K: throughput of progress notifications carrying
// 64 KiB chunks (the exec_stream path), in bytes of chunk per second.
func BenchmarkProgress64K(b *testing.B) {
	w, r := benchServer(b)
	const size, chunks = 64 << 10, 64
	b.SetBytes(size * chunks)
	for b.Loop() {
		io.WriteString(w, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"stream","arguments":{"chunks":64,"size":65536},"_meta":{"progressToken":1}}}`+"\n")
		for i := 0; i <= chunks; i++ {
			line, err := r.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if i == chunks && !strings.Contains(line, `"id":2`) {
				b.Fatalf("last line: %.200s", line)
			}
		}
	}
}

// TestIDReuse: a client may reuse a call's id as soon as it has the
// response (the id is freed before the response is written).
func TestIDReuse(t *testing.T) {
	w, r := benchServer(t)
	for i := 0; i < 300; i++ {
		io.WriteString(w, `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"stream","arguments":{"chunks":0,"size":1}}}`+"\n")
		line, err := r.ReadString('\n')
		if err != nil || !strings.Contains(line, `"result":{"content"`) {
			t.Fatalf("call %d: %v %s", i, err, line)
		}
	}
}

type contentArgs struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// benchText is 1 MiB of 64-byte lines, as sbx-bench writes.
var benchText = strings.Repeat(strings.Repeat("7", 63)+"\n", 1<<20/64)

// BenchmarkDecodeArgs1MiB: the schema check and typed decode of a
// write_file-like call carrying 1 MiB of text.
func BenchmarkDecodeArgs1MiB(b *testing.B) {
	raw, _ := json.Marshal(contentArgs{Path: "/tmp/x", Content: benchText})
	var schema map[string]any
	json.Unmarshal(mustSchema("t", reflect.TypeFor[contentArgs](), false), &schema)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var a contentArgs
		if err := decodeArgs(raw, schema, &a, jsonwire.TextFields{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeTextArgs1MiB: the same for write_file's own argument
// type, whose content is a TextBytes (taken apart by jsonwire.TextFields).
func BenchmarkDecodeTextArgs1MiB(b *testing.B) {
	type textArgs struct {
		Path    string    `json:"path"`
		Content TextBytes `json:"content"`
	}
	raw, _ := json.Marshal(contentArgs{Path: "/tmp/x", Content: benchText})
	var schema map[string]any
	json.Unmarshal(mustSchema("t", reflect.TypeFor[textArgs](), false), &schema)
	for _, mode := range []struct {
		name  string
		texts jsonwire.TextFields
	}{{"typed decode", jsonwire.TextFields{}}, {"taken apart", jsonwire.TextFieldsOf(reflect.TypeFor[textArgs]())}} {
		b.Run(mode.name, func(b *testing.B) {
			fields := jsonwire.TextFieldsOf(reflect.TypeFor[textArgs]())
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				var a textArgs
				if err := decodeArgs(raw, schema, &a, mode.texts); err != nil {
					b.Fatal(err)
				}
				fields.Release(&a)
			}
		})
	}
}

// BenchmarkParseFrame1MiB: splitting a tools/call line carrying 1 MiB.
func BenchmarkParseFrame1MiB(b *testing.B) {
	line, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": "write_file", "arguments": contentArgs{Path: "/tmp/x", Content: benchText}}})
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		f, bad := parseFrame(line)
		if f == nil || bad != nil {
			b.Fatal("bad frame")
		}
		f.release()
	}
}

// BenchmarkCallEmpty: a tools/call round trip of a tool that does nothing
// (stream with 0 chunks): the protocol layer's share of every call.
func BenchmarkCallEmpty(b *testing.B) {
	w, r := benchServer(b)
	for b.Loop() {
		io.WriteString(w, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"stream","arguments":{"chunks":0,"size":1}}}`+"\n")
		if _, err := r.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallEmptyModern: BenchmarkCallEmpty as a 2026-07-28 request
// (no initialize needed; _meta parsed on every call, resultType and
// serverInfo added to the result).
func BenchmarkCallEmptyModern(b *testing.B) {
	w, r := benchServer(b)
	for b.Loop() {
		io.WriteString(w, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"stream","arguments":{"chunks":0,"size":1},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"bench","version":"0"},"io.modelcontextprotocol/clientCapabilities":{}}}}`+"\n")
		line, err := r.ReadSlice('\n')
		if err != nil || !strings.Contains(string(line), `"resultType":"complete"`) {
			b.Fatalf("%v %s", err, line)
		}
	}
}
