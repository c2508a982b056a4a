package isolation

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func init() {
	RegisterOp("test.echo", func(ctx context.Context, req json.RawMessage, files []*os.File) (any, error) {
		var in struct {
			S    string `json:"s"`
			Fail bool   `json:"fail"`
		}
		if err := json.Unmarshal(req, &in); err != nil {
			return nil, err
		}
		if in.Fail {
			return nil, &OpError{Op: "echo", Path: "/x", Kind: "not_found", Msg: "no such thing"}
		}
		for _, f := range files {
			f.WriteString(in.S)
		}
		h, _ := os.Hostname()
		return map[string]any{"s": in.S, "pid": os.Getpid(), "host": h}, nil
	})
}

func init() {
	RegisterOp("test.nprocs", func(ctx context.Context, req json.RawMessage, files []*os.File) (any, error) {
		return len(scanProcs()), nil
	})
}

func TestSpawnOutputAndExit(t *testing.T) {
	s := startSandbox(t, Config{})
	r := run(t, s, `echo out; echo err >&2; exit 7`)
	if r.stdout != "out\n" || r.stderr != "err\n" || r.exit.Code != 7 || r.exit.Signal != 0 {
		t.Fatalf("got %v", r)
	}
	r = run(t, s, `kill -TERM $$`)
	if r.exit.Code != -1 || r.exit.Signal != 15 {
		t.Fatalf("signalled: %v", r)
	}
	// Dir, PATH lookup inside, and Tag in the environment. Dir lies in the
	// workdir: the host's /tmp outside it is not the sandbox's.
	dir := filepath.Join(s.Workdir(), "sub")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r = runSpec(t, s, Spec{Path: "sh", Args: []string{"sh", "-c", "pwd; echo $" + TagEnv}, Env: s.BaseEnv(), Dir: dir, Tag: "S1/2"})
	if r.stdout != dir+"\n"+"S1/2\n" {
		t.Fatalf("dir/tag: %v", r)
	}
	_, err := s.Spawn(context.Background(), Spec{Path: "no-such-binary-xyz", Env: s.BaseEnv()})
	if !errors.Is(err, os.ErrNotExist) || strings.Count(err.Error(), "no-such-binary-xyz") != 1 {
		t.Fatalf("spawn of a missing binary: %v", err)
	}
	noexec := filepath.Join(dir, "noexec")
	os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644)
	_, err = s.Spawn(context.Background(), Spec{Path: noexec, Env: s.BaseEnv()})
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("spawn of a non-executable: %v", err)
	}
}

func TestFastExitNotLost(t *testing.T) {
	s := startSandbox(t, Config{})
	for i := 0; i < 200; i++ {
		p, err := s.Spawn(context.Background(), Spec{Path: "/bin/true", Env: s.BaseEnv()})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.Done():
		case <-time.After(30 * time.Second):
			t.Fatalf("exit of pid %d lost", p.Pid)
		}
		if p.Exit().Code != 0 {
			t.Fatalf("exit %+v", p.Exit())
		}
	}
}

func TestDoAndOpError(t *testing.T) {
	s := startSandbox(t, Config{})
	pr, pw, _ := os.Pipe()
	defer pr.Close()
	var out struct {
		S    string `json:"s"`
		Pid  int    `json:"pid"`
		Host string `json:"host"`
	}
	if err := s.Do(context.Background(), "test.echo", map[string]any{"s": "hi"}, &out, pw); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	b := make([]byte, 10)
	n, _ := pr.Read(b)
	if out.S != "hi" || string(b[:n]) != "hi" {
		t.Fatalf("got %+v / %q", out, b[:n])
	}
	if s.Info().Level != LevelNone && (out.Pid != 1 || out.Host != "sandbox") {
		t.Fatalf("op did not run in init: %+v", out)
	}
	err := s.Do(context.Background(), "test.echo", map[string]any{"fail": true}, nil)
	var oe *OpError
	if !errors.As(err, &oe) || oe.Kind != "not_found" || oe.Path != "/x" {
		t.Fatalf("want OpError not_found, got %#v", err)
	}
	if err := s.Do(context.Background(), "no.such.op", nil, nil); err == nil {
		t.Fatal("unknown op succeeded")
	}
}

func TestMakeFifo(t *testing.T) {
	s := startSandbox(t, Config{})
	path := filepath.Join(s.RunDir(), "f1")
	f, err := s.MakeFifo(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := s.MakeFifo(context.Background(), path); err == nil {
		t.Fatal("second MakeFifo on the same path succeeded")
	}
	r := run(t, s, `ls -l `+path+` | cut -c1-10; echo hello > `+path)
	if r.stdout != "prw-------\n" || r.exit.Code != 0 {
		t.Fatalf("%v", r)
	}
	f.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 64)
	n, err := f.Read(b)
	if err != nil || string(b[:n]) != "hello\n" {
		t.Fatalf("read fifo: %q %v", b[:n], err)
	}
}

func TestBaseEnv(t *testing.T) {
	s := startSandbox(t, Config{Env: []string{"FOO=bar", "TERM=xterm"}})
	env := strings.Join(s.BaseEnv(), "\n")
	for _, want := range []string{"PATH=" + SandboxPath, "LANG=C.UTF-8", "CI=1", "PAGER=cat", "GIT_PAGER=cat",
		"DEBIAN_FRONTEND=noninteractive", "GIT_TERMINAL_PROMPT=0", "PYTHONUNBUFFERED=1", "FOO=bar", "TERM=xterm"} {
		if !strings.Contains("\n"+env+"\n", "\n"+want+"\n") {
			t.Errorf("BaseEnv lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(env, "TERM=dumb") || strings.Contains(env, "LC_ALL") || strings.Contains(env, "SBX_CANARY") {
		t.Errorf("BaseEnv:\n%s", env)
	}
	r := run(t, s, `command -v python3`)
	if r.stdout != "/usr/bin/python3\n" {
		t.Errorf("python3 resolves to %v", r)
	}
}

func TestInfo(t *testing.T) {
	s := startSandbox(t, Config{})
	info := s.Info()
	b, _ := json.MarshalIndent(info, "", "  ")
	t.Logf("%s", b)
	if info.Level != wantLevel() && requireIsolation() {
		t.Fatalf("level %s, want %s", info.Level, wantLevel())
	}
}

func TestIsolationModes(t *testing.T) {
	s := startSandbox(t, Config{Isolation: "off"})
	if s.Info().Level != LevelNone || s.Info().Layers["pid_ns"] {
		t.Fatalf("off: %+v", s.Info())
	}
	if r := run(t, s, "echo ok"); r.stdout != "ok\n" {
		t.Fatal(r)
	}
	_, err := Start(context.Background(), Config{Isolation: "bogus", Workdir: t.TempDir()})
	if err == nil {
		t.Fatal("bogus isolation accepted")
	}
	// strict: full as root; as an unprivileged user it must refuse, naming
	// what is missing.
	s2, err := Start(context.Background(), Config{Isolation: "strict", Workdir: t.TempDir(), Log: s.log})
	if os.Geteuid() == 0 {
		if err != nil {
			t.Fatalf("strict as root: %v", err)
		}
		s2.Close()
	} else if err == nil || !strings.Contains(err.Error(), "full") {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("strict as non-root: want refusal naming the missing layer, got %v", err)
	} else {
		t.Logf("strict refused: %v", err)
	}
}
