package fileops

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// BenchmarkSandboxReadFile1MiB: read_file's round trip through init (the
// work directory's filesystem: init hands the open file over) and the read.
func BenchmarkSandboxReadFile1MiB(b *testing.B) {
	dir := b.TempDir()
	s := startSandbox(b, dir)
	p := dir + "/1m"
	if err := os.WriteFile(p, bytes.Repeat([]byte("abcdefghijklmno\n"), 1<<16), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(1 << 20)
	for b.Loop() {
		res, err := ReadFile(context.Background(), s, ReadFileRequest{Path: p})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Data) != 1<<20 {
			b.Fatalf("read %d bytes", len(res.Data))
		}
		res.Release()
	}
}

// BenchmarkSandboxWriteFile1MiB: write_file's round trip through init,
// replacing a 1 MiB file (the bytes cross a pipe).
func BenchmarkSandboxWriteFile1MiB(b *testing.B) {
	dir := b.TempDir()
	s := startSandbox(b, dir)
	data := bytes.Repeat([]byte("abcdefghijklmno\n"), 1<<16)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := WriteFile(context.Background(), s, WriteFileRequest{Path: dir + "/1m", Data: data}); err != nil {
			b.Fatal(err)
		}
	}
}
