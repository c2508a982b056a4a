package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sbx-mcp/sbx-mcp/egress"
)

func TestParse(t *testing.T) {
	wd := t.TempDir()
	base := []string{"--workdir", wd}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(c Config) bool
		wantErr string // substring; "" = success
	}{
		{"defaults", nil, nil, func(c Config) bool {
			return c.Isolation == "auto" && c.Network == "allow" && reflect.DeepEqual(c.AllowDomain, egress.DefaultDomains) && len(c.AllowCIDR) == 0 && c.Timeout == 60*time.Second &&
				c.MaxOutput == 16<<10 && reflect.DeepEqual(c.Toolsets, []string{"all"}) &&
				c.LogLevel == "warn" && !c.ReadOnly && c.MemoryBytes == 0 && c.Pids == 0 && c.CPUs == 0
		}, ""},
		{"memory M", []string{"--memory", "256M"}, nil, func(c Config) bool { return c.MemoryBytes == 256<<20 }, ""},
		{"memory G", []string{"--memory=1g"}, nil, func(c Config) bool { return c.MemoryBytes == 1<<30 }, ""},
		{"memory KiB", []string{"--memory", "8192KiB"}, nil, func(c Config) bool { return c.MemoryBytes == 8<<20 }, ""},
		{"memory bytes", []string{"--memory", "67108864"}, nil, func(c Config) bool { return c.MemoryBytes == 64<<20 }, ""},
		{"memory bad", []string{"--memory", "lots"}, nil, nil, `invalid value "lots" for --memory`},
		{"memory tiny", []string{"--memory", "1K"}, nil, nil, "at least 4M"},
		{"memory negative", []string{"--memory", "-5M"}, nil, nil, "--memory"},
		{"pids", []string{"--pids", "128"}, nil, func(c Config) bool { return c.Pids == 128 }, ""},
		{"pids bad", []string{"--pids", "-1"}, nil, nil, "--pids"},
		{"pids float", []string{"--pids", "1.5"}, nil, nil, "--pids"},
		{"cpus", []string{"--cpus", "1.5"}, nil, func(c Config) bool { return c.CPUs == 1.5 }, ""},
		{"cpus bad", []string{"--cpus", "NaN"}, nil, nil, "--cpus"},
		{"cpus tiny", []string{"--cpus", "0.001"}, nil, nil, "at least 0.01 CPUs"},
		{"cpus minimum", []string{"--cpus", "0.01"}, nil, func(c Config) bool { return c.CPUs == 0.01 }, ""},
		{"timeout duration", []string{"--timeout", "90s"}, nil, func(c Config) bool { return c.Timeout == 90*time.Second }, ""},
		{"timeout seconds", []string{"--timeout", "30"}, nil, func(c Config) bool { return c.Timeout == 30*time.Second }, ""},
		{"timeout zero", []string{"--timeout", "0"}, nil, nil, "--timeout"},
		{"timeout bad", []string{"--timeout", "soon"}, nil, nil, "--timeout"},
		{"task-after default", nil, nil, func(c Config) bool { return c.TaskAfter == 5*time.Second }, ""},
		{"task-after ms", []string{"--task-after", "250"}, nil, func(c Config) bool { return c.TaskAfter == 250*time.Millisecond }, ""},
		{"task-after duration", []string{"--task-after", "2s"}, map[string]string{"SBX_TASK_AFTER": "9"}, func(c Config) bool { return c.TaskAfter == 2*time.Second }, ""},
		{"task-after bad", []string{"--task-after", "0"}, nil, nil, "--task-after"},
		{"max-output", []string{"--max-output", "64K"}, nil, func(c Config) bool { return c.MaxOutput == 64<<10 }, ""},
		{"max-output too big", []string{"--max-output", "100M"}, nil, nil, "--max-output"},
		{"queue defaults", nil, nil, func(c Config) bool { return c.MaxQueued == 10000 && c.MaxQueuedBytes == 256<<20 }, ""},
		{"max-queued", []string{"--max-queued", "50000", "--max-queued-bytes", "1G"}, nil, func(c Config) bool { return c.MaxQueued == 50000 && c.MaxQueuedBytes == 1<<30 }, ""},
		{"max-queued zero", []string{"--max-queued", "0"}, nil, nil, "--max-queued"},
		{"max-queued-bytes too small", []string{"--max-queued-bytes", "4K"}, nil, nil, "--max-queued-bytes"},
		{"toolsets", []string{"--toolsets", "core, files,core"}, nil, func(c Config) bool { return reflect.DeepEqual(c.Toolsets, []string{"core", "files"}) }, ""},
		{"toolsets bad", []string{"--toolsets", "core,games"}, nil, nil, `unknown tool set "games"`},
		{"toolsets empty", []string{"--toolsets", ","}, nil, nil, "--toolsets"},
		{"isolation", []string{"--isolation", "strict"}, nil, func(c Config) bool { return c.Isolation == "strict" }, ""},
		{"isolation bad", []string{"--isolation", "max"}, nil, nil, "want one of auto, strict, off"},
		{"network", []string{"--network", "none"}, nil, func(c Config) bool { return c.Network == "none" }, ""},
		{"network bad", []string{"--network", "bridge"}, nil, nil, "--network"},
		{"network host", []string{"--network", "host"}, nil, func(c Config) bool { return c.Network == "host" }, ""},
		{"allow-domain", []string{"--allow-domain", "GitHub.com.", "--allow-domain", "*.npmjs.org"}, nil, func(c Config) bool {
			return reflect.DeepEqual(c.AllowDomain, []string{"github.com", "*.npmjs.org"})
		}, ""},
		{"allow-domain env", nil, map[string]string{"SBX_ALLOW_DOMAIN": "a.test, *\nb.test"}, func(c Config) bool {
			return reflect.DeepEqual(c.AllowDomain, []string{"a.test", "*", "b.test"})
		}, ""},
		{"allow-domain bad", []string{"--allow-domain", "http://x.com/"}, nil, nil, `invalid value "http://x.com/" for --allow-domain`},
		{"allow-domain mid star", []string{"--allow-domain", "a.*.com"}, nil, nil, "--allow-domain"},
		{"allow-cidr", []string{"--allow-cidr", "10.1.2.3/16", "--allow-cidr", "127.0.0.2"}, nil, func(c Config) bool {
			return reflect.DeepEqual(c.AllowCIDR, []string{"10.1.0.0/16", "127.0.0.2/32"})
		}, ""},
		{"allow-cidr bad", nil, map[string]string{"SBX_ALLOW_CIDR": "10.0.0.0/33"}, nil, `invalid value "10.0.0.0/33" for SBX_ALLOW_CIDR`},
		{"test-resolve", []string{"--test-resolve", "ok.test=127.0.0.2,bad.test=127.0.0.3"}, nil, func(c Config) bool { return c.TestResolve != "" }, ""},
		{"test-resolve bad", []string{"--test-resolve", "ok.test"}, nil, nil, "--test-resolve"},
		{"env repeat", []string{"--env", "A=1", "--env", "B=x=y"}, nil, func(c Config) bool { return reflect.DeepEqual(c.Env, []string{"A=1", "B=x=y"}) }, ""},
		{"env bad", []string{"--env", "NOEQUALS"}, nil, nil, "--env"},
		{"env bad name", []string{"--env", "1A=x"}, nil, nil, "--env"},
		{"log level", []string{"--log-level", "DEBUG"}, nil, func(c Config) bool { return c.LogLevel == "debug" }, ""},
		{"log level warning", []string{"--log-level", "warning"}, nil, func(c Config) bool { return c.LogLevel == "warn" }, ""},
		{"log level bad", []string{"--log-level", "chatty"}, nil, nil, "--log-level"},
		{"log file", []string{"--log-file", "/tmp/x.log"}, nil, func(c Config) bool { return c.LogFile == "/tmp/x.log" }, ""},
		{"read-only", []string{"--read-only"}, nil, func(c Config) bool { return c.ReadOnly }, ""},
		{"unknown flag", []string{"--nope"}, nil, nil, "flag provided but not defined"},
		{"positional", []string{"extra"}, nil, nil, `unexpected argument "extra"`},
		{"missing value", []string{"--pids"}, nil, nil, "needs an argument"},

		// env twins; the flag wins
		{"env twins", nil, map[string]string{
			"SBX_MEMORY": "512M", "SBX_PIDS": "64", "SBX_CPUS": "2", "SBX_TIMEOUT": "2m", "SBX_MAX_OUTPUT": "1M",
			"SBX_TOOLSETS": "exec", "SBX_ISOLATION": "off", "SBX_NETWORK": "none", "SBX_LOG_LEVEL": "info",
			"SBX_LOG_FILE": "/tmp/l", "SBX_READ_ONLY": "true", "SBX_ENV": "A=1\nB=2\n",
		}, func(c Config) bool {
			return c.MemoryBytes == 512<<20 && c.Pids == 64 && c.CPUs == 2 && c.Timeout == 2*time.Minute &&
				c.MaxOutput == 1<<20 && reflect.DeepEqual(c.Toolsets, []string{"exec"}) && c.Isolation == "off" &&
				c.Network == "none" && c.LogLevel == "info" && c.LogFile == "/tmp/l" && c.ReadOnly &&
				reflect.DeepEqual(c.Env, []string{"A=1", "B=2"})
		}, ""},
		{"flag beats env", []string{"--pids", "5", "--env", "C=3", "--read-only=false"}, map[string]string{"SBX_PIDS": "64", "SBX_ENV": "A=1", "SBX_READ_ONLY": "1"},
			func(c Config) bool { return c.Pids == 5 && reflect.DeepEqual(c.Env, []string{"C=3"}) && !c.ReadOnly }, ""},
		{"bad env twin named", nil, map[string]string{"SBX_PIDS": "many"}, nil, `invalid value "many" for SBX_PIDS`},
		{"bad read-only twin", nil, map[string]string{"SBX_READ_ONLY": "perhaps"}, nil, "SBX_READ_ONLY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			c, err := Parse(append(append([]string{}, base...), tt.args...), getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("config = %+v", c)
			}
		})
	}
}

func TestParseHelpVersion(t *testing.T) {
	for _, a := range [][]string{{"--help"}, {"-h"}, {"-help"}} {
		if _, err := Parse(a, nil); !errors.Is(err, ErrHelp) {
			t.Errorf("%v: err = %v", a, err)
		}
	}
	if _, err := Parse([]string{"--version"}, nil); !errors.Is(err, ErrVersion) {
		t.Errorf("--version: err = %v", err)
	}
	u := Usage()
	if !strings.Contains(u, "sbx-mcp config --client") {
		t.Error("usage does not mention the config subcommand")
	}
	if err := Check([]string{"--memory", "1G", "--workdir", "/nonexistent/never/created"}); err != nil {
		t.Errorf("Check: %v", err)
	}
	if _, err := os.Stat("/nonexistent"); err == nil {
		t.Error("Check created the workdir")
	}
	if err := Check([]string{"--pids", "many"}); err == nil {
		t.Error("Check accepted --pids many")
	}
	for _, f := range flagDocs {
		if !strings.Contains(u, "--"+f.name) || (f.env != "" && !strings.Contains(u, f.env)) {
			t.Errorf("usage lacks %s", f.name)
		}
	}
	if v, _ := VersionInfo(); v == "" {
		t.Error("empty version")
	}
}

func TestWorkdir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	c, err := Parse([]string{"--workdir", dir}, nil)
	if err != nil || c.Workdir != dir {
		t.Fatalf("workdir = %q, %v", c.Workdir, err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("workdir not created: %v", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	if _, err := Parse([]string{"--workdir", file}, nil); err == nil {
		t.Error("a file was accepted as workdir")
	}
	// relative paths become absolute
	t.Chdir(t.TempDir())
	c, err = Parse([]string{"--workdir", "rel"}, nil)
	if err != nil || !filepath.IsAbs(c.Workdir) || filepath.Base(c.Workdir) != "rel" {
		t.Fatalf("relative workdir = %q, %v", c.Workdir, err)
	}
	// the default: /workspace when it exists (never created), else a
	// directory under the state dir, else the cwd
	root := t.TempDir()
	saved := DefaultWorkdir
	t.Cleanup(func() { DefaultWorkdir = saved })
	DefaultWorkdir = filepath.Join(root, "workspace")
	env := map[string]string{"HOME": filepath.Join(root, "home")}
	getenv := func(k string) string { return env[k] }
	want := filepath.Join(root, "home", ".local", "state", "sbx-mcp", "workspace")
	if c, err = Parse(nil, getenv); err != nil || c.Workdir != want {
		t.Fatalf("default workdir without /workspace = %q, %v; want %q", c.Workdir, err, want)
	}
	if _, err := os.Stat(DefaultWorkdir); err == nil {
		t.Fatal("the default workdir was created at the root")
	}
	env["XDG_STATE_HOME"] = filepath.Join(root, "state")
	if c, err = Parse(nil, getenv); err != nil || c.Workdir != filepath.Join(root, "state", "sbx-mcp", "workspace") {
		t.Fatalf("default workdir with XDG_STATE_HOME = %q, %v", c.Workdir, err)
	}
	os.Mkdir(DefaultWorkdir, 0o755)
	if c, err = Parse(nil, getenv); err != nil || c.Workdir != DefaultWorkdir {
		t.Fatalf("default workdir with /workspace present = %q, %v", c.Workdir, err)
	}
	DefaultWorkdir = filepath.Join(root, "absent")
	cwd, _ := os.Getwd()
	if c, err = Parse(nil, nil); err != nil || c.Workdir != cwd {
		t.Fatalf("default workdir without a home = %q, %v; want the cwd %q", c.Workdir, err, cwd)
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1": 1, "1k": 1024, "1K": 1024, "2KB": 2048, "1.5M": 3 << 19, "3MiB": 3 << 20, "1G": 1 << 30, "1T": 1 << 40, "10B": 10} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "M", "-1", "x", "1X", "99999999999999999999G"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) accepted", in)
		}
	}
}
