package isolation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// canary is put into the test process's environment: no sandbox process may
// ever see it.
const canary = "SBX_CANARY_SECRET=c4n4ry-7f3a9e"

func TestMain(m *testing.M) {
	if InitMain(os.Args) {
		return
	}
	if miniServerMain(os.Args) {
		return
	}
	k, v, _ := strings.Cut(canary, "=")
	os.Setenv(k, v)
	os.Exit(m.Run())
}

// requireIsolation reports whether SBX_REQUIRE_ISOLATION forbids skipping.
func requireIsolation() bool { return os.Getenv("SBX_REQUIRE_ISOLATION") == "1" }

// isUnsupported tells whether err means "the kernel or our privileges do
// not allow namespaces here".
func isUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EUSERS) ||
		errors.Is(err, syscall.ENOSPC)
}

// startSandbox starts a sandbox for t, closed at cleanup.
func startSandbox(t testing.TB, cfg Config) *Sandbox {
	t.Helper()
	if cfg.Workdir == "" {
		cfg.Workdir = t.TempDir()
	}
	cfg.Log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		if isUnsupported(err) && !requireIsolation() {
			t.Skipf("sandbox unsupported here: %v", err)
		}
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// wantLevel is the level the suite expects: full as root, userns as an
// unprivileged user (SBX_EXPECT_LEVEL overrides).
func wantLevel() Level {
	if l := os.Getenv("SBX_EXPECT_LEVEL"); l != "" {
		return Level(l)
	}
	if os.Geteuid() == 0 {
		return LevelFull
	}
	return LevelUserNS
}

// nsSandbox starts a sandbox and insists on a namespace level.
func nsSandbox(t testing.TB, cfg Config) *Sandbox {
	t.Helper()
	s := startSandbox(t, cfg)
	info := s.Info()
	if info.Level == LevelNone {
		if requireIsolation() {
			t.Fatalf("level none; reasons: %v", info.Reasons)
		}
		t.Skipf("namespaces unsupported: %v", info.Reasons)
	}
	if w := wantLevel(); info.Level != w {
		t.Fatalf("level %s, want %s; reasons %v", info.Level, w, info.Reasons)
	}
	return s
}

type result struct {
	stdout, stderr string
	exit           ExitStatus
}

// run runs bash -c script in the sandbox with piped stdio and waits.
func run(t testing.TB, s *Sandbox, script string) result {
	t.Helper()
	return runSpec(t, s, Spec{Path: "/bin/bash", Args: []string{"bash", "-c", script}, Env: s.BaseEnv()})
}

func runSpec(t testing.TB, s *Sandbox, spec Spec) result {
	t.Helper()
	or, ow, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	er, ew, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	spec.Files = []*os.File{nil, ow, ew}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := s.Spawn(ctx, spec)
	ow.Close()
	ew.Close()
	if err != nil {
		or.Close()
		er.Close()
		t.Fatalf("spawn: %v", err)
	}
	var wg sync.WaitGroup
	var out, errb bytes.Buffer
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(&out, or); or.Close() }()
	go func() { defer wg.Done(); io.Copy(&errb, er); er.Close() }()
	select {
	case <-p.Done():
	case <-ctx.Done():
		t.Fatalf("process %d did not exit", p.Pid)
	}
	wg.Wait()
	return result{out.String(), errb.String(), p.Exit()}
}

func (r result) String() string {
	return fmt.Sprintf("exit=%+v stdout=%q stderr=%q", r.exit, r.stdout, r.stderr)
}
