package fileops

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

func TestMain(m *testing.M) {
	if isolation.InitMain(os.Args) {
		return
	}
	os.Exit(m.Run())
}

// startSandbox starts a sandbox on workdir (a fresh one when ""), closed at
// cleanup. It skips where namespaces are unsupported, unless
// SBX_REQUIRE_ISOLATION=1.
func startSandbox(t testing.TB, workdir string) *isolation.Sandbox {
	t.Helper()
	if workdir == "" {
		workdir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := isolation.Start(ctx, isolation.Config{
		Isolation: os.Getenv("SBX_BENCH_ISOLATION"),
		Workdir:   workdir,
		Log:       zerolog.New(io.Discard),
	})
	if err != nil {
		if os.Getenv("SBX_REQUIRE_ISOLATION") != "1" && unsupported(err) {
			t.Skipf("sandbox unsupported here: %v", err)
		}
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// unsupported tells whether err means "the kernel or our privileges do not
// allow namespaces here".
func unsupported(err error) bool {
	for _, e := range []error{syscall.EPERM, syscall.EINVAL, syscall.ENOSYS, syscall.EACCES, syscall.EUSERS, syscall.ENOSPC} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
