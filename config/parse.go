package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/sbx-mcp/sbx-mcp/egress"
)

// Version and Commit are set at build time:
//
//	go build -ldflags "-X github.com/sbx-mcp/sbx-mcp/config.Version=v1.0.0 -X github.com/sbx-mcp/sbx-mcp/config.Commit=abc123"
//
// Without them VersionInfo falls back to the module's build information.
var (
	Version string
	Commit  string
)

// VersionInfo returns the version and VCS commit of this binary.
func VersionInfo() (version, commit string) {
	version, commit = Version, Commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "" && bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && commit == "" {
				commit = s.Value
				if len(commit) > 12 {
					commit = commit[:12]
				}
			}
		}
	}
	if version == "" {
		version = "(devel)"
	}
	return version, commit
}

// Errors returned by Parse for --help and --version (not failures: the
// caller prints Usage or the version and exits 0).
var (
	ErrHelp    = flag.ErrHelp
	ErrVersion = errors.New("version requested")
)

// Toolsets accepted by --toolsets.
var Toolsets = []string{"core", "exec", "process", "files", "code", "all"}

// DefaultWorkdir is the workdir when none is given and it exists (the
// Docker image's mount point). It is never created at the host's root: a
// host without it gets StateWorkdir instead.
var DefaultWorkdir = "/workspace"

// StateWorkdir returns the fallback default workdir under the user's state
// directory: $XDG_STATE_HOME/sbx-mcp/workspace, else
// $HOME/.local/state/sbx-mcp/workspace ("" when neither is set).
func StateWorkdir(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "sbx-mcp", "workspace")
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", "sbx-mcp", "workspace")
	}
	return ""
}

// MaxOutputLimit bounds --max-output so tool results stay far below the
// 10 MiB clients accept (two streams, text plus structured copy, base64).
const MaxOutputLimit = 1 << 20

// MinCPUs is the smallest --cpus: a CFS quota of 1 ms per 100 ms period,
// the least the kernel accepts (cpu.cfs_quota_us refuses less).
const MinCPUs = 0.01

// flagDoc is one flag: name, env twin, default shown in --help, help text.
type flagDoc struct{ name, env, def, help string }

var flagDocs = []flagDoc{
	{"workdir", "SBX_WORKDIR", "/workspace if it exists, else ~/.local/state/sbx-mcp/workspace", "working directory of the sandbox (same path inside and outside)"},
	{"isolation", "SBX_ISOLATION", "auto", "auto (best available), strict (refuse to start below full isolation) or off"},
	{"network", "SBX_NETWORK", "allow", "allow (own network namespace; egress only through a filtering proxy), none (loopback only) or host (the host's network, unfiltered)"},
	{"allow-domain", "SBX_ALLOW_DOMAIN", "package registries and GitHub", "host name the proxy lets the sandbox reach in mode allow: github.com, *.npmjs.org, or * for every public address (repeatable; SBX_ALLOW_DOMAIN: comma or newline separated)"},
	{"allow-cidr", "SBX_ALLOW_CIDR", "", "address prefix the proxy lets the sandbox reach even when private, loopback or link-local, e.g. 10.1.0.0/16 (repeatable)"},
	{"test-resolve", "SBX_TEST_RESOLVE", "", "for tests only: name=address,... replaces DNS in the proxy (other names do not resolve)"},
	{"memory", "SBX_MEMORY", "0 (no limit)", "memory limit of the sandbox: bytes or with a K/M/G suffix, e.g. 512M"},
	{"pids", "SBX_PIDS", "0 (no limit)", "maximum number of processes in the sandbox"},
	{"cpus", "SBX_CPUS", "0 (no limit)", "CPU limit of the sandbox, e.g. 1.5"},
	{"timeout", "SBX_TIMEOUT", "60s", "default command timeout: a Go duration (90s, 2m) or seconds"},
	{"exit-grace", "SBX_EXIT_GRACE", "10s", "on EOF of stdin (a piped script), how long calls still running may finish and answer before the server exits (0: cancel them at once); SIGTERM never waits"},
	{"max-output", "SBX_MAX_OUTPUT", "16K", "bytes of output kept per stream in a result (head and tail), at most 1M; a call can ask for more (max_output_bytes). The default keeps a whole result under ~80 KB, what clients such as Claude Code accept"},
	{"max-sessions", "SBX_MAX_SESSIONS", "128", "most shell sessions at once (default included); create_session past it is an error"},
	{"max-processes", "SBX_MAX_PROCESSES", "512", "most background processes running at once (start_process)"},
	{"max-contexts", "SBX_MAX_CONTEXTS", "32", "most code contexts at once (run_code's default ones included)"},
	{"max-queued", "SBX_MAX_QUEUED", "10000", "most tool calls waiting to run (behind their session's running command or for one of the 64 slots); a call past it or past --max-queued-bytes is answered \"server busy\""},
	{"max-queued-bytes", "SBX_MAX_QUEUED_BYTES", "256M", "most bytes of arguments held by waiting tool calls: bytes or with a K/M/G suffix"},
	{"toolsets", "SBX_TOOLSETS", "all", "comma list of tool sets to expose: core, exec, process, files, code, all"},
	{"read-only", "SBX_READ_ONLY", "false", "expose only tools that neither write files nor run code"},
	{"env", "SBX_ENV", "", "KEY=VAL added to every sandbox process (repeatable; SBX_ENV: one per line)"},
	{"task-after", "SBX_TASK_AFTER", "5000", "for clients with the Tasks extension: exec, exec_stream, run_code and wait_for_process calls still running after this many ms (or a Go duration) become tasks"},
	{"root", "SBX_ROOT", "overlay", "the sandbox's root: overlay (the host's / read-only below a private writable layer), readonly, or host (the host's files, writable: weaker)"},
	{"rootfs", "SBX_ROOTFS", "/", "a directory to use instead of the host's / as the root's lower layer (an unpacked image)"},
	{"state", "SBX_STATE", "", "keep the overlay's writable layer in this directory across restarts (default: memory, lost on exit)"},
	{"rw", "SBX_RW", "", "host path bound read-write at the same path inside (repeatable; SBX_RW: one per line)"},
	{"ro", "SBX_RO", "", "host path bound read-only at the same path inside (repeatable; SBX_RO: one per line)"},
	{"hide", "SBX_HIDE", "", "path hidden inside, shown as an empty directory or file (repeatable; SBX_HIDE: one per line)"},
	{"log-level", "SBX_LOG_LEVEL", "warn", "stderr log level: trace, debug, info, warn, error or off"},
	{"log-file", "SBX_LOG_FILE", "", "write logs to this file instead of stderr"},
	{"version", "", "", "print the version and exit"},
	{"help", "", "", "print this help and exit"},
}

// Usage is the --help text.
func Usage() string {
	var b strings.Builder
	b.WriteString("sbx-mcp: an MCP server (stdio) that gives an agent an isolated Linux sandbox.\n\n")
	b.WriteString("Usage: sbx-mcp [flags]\n")
	b.WriteString("       sbx-mcp config --client claude-desktop|claude-code|cursor|vscode [--binary PATH | --docker IMAGE] [-- server flags]\n")
	b.WriteString("           prints the snippet that registers sbx-mcp with an MCP client (sbx-mcp config --help)\n\n")
	b.WriteString("Flags (each has an environment twin; a flag wins over its variable):\n")
	for _, f := range flagDocs {
		fmt.Fprintf(&b, "  --%s", f.name)
		if f.env != "" {
			fmt.Fprintf(&b, " (%s)", f.env)
		}
		fmt.Fprintf(&b, "\n      %s", f.help)
		if f.def != "" {
			fmt.Fprintf(&b, " [default: %s]", f.def)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// multi collects a repeatable flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// Parse parses args (without the program name) with getenv for the SBX_*
// twins and validates every value. It returns ErrHelp or ErrVersion when
// asked for those; any other error is a message for the user (exit 2).
// When no workdir is given it picks /workspace when that exists, else a
// directory under the user's state dir (see StateWorkdir), else the current
// directory; a workdir is created when missing.
func Parse(args []string, getenv func(string) string) (Config, error) {
	return parse(args, getenv, true)
}

// Check validates server flags as Parse does, without touching the
// filesystem (the workdir is not resolved or created): for "sbx-mcp config",
// whose server flags are checked before they go into a client's snippet.
func Check(args []string) error {
	_, err := parse(args, nil, false)
	if errors.Is(err, ErrHelp) || errors.Is(err, ErrVersion) {
		return errors.New("--help and --version do not belong in a client's configuration")
	}
	return err
}

func parse(args []string, getenv func(string) string, resolve bool) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	fs := flag.NewFlagSet("sbx-mcp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	str := map[string]*string{}
	for _, f := range flagDocs {
		switch f.name {
		case "env", "allow-domain", "allow-cidr", "rw", "ro", "hide":
		case "read-only", "version", "help":
		default:
			str[f.name] = fs.String(f.name, "", f.help)
		}
	}
	var envs, domains, cidrs, rws, ros, hides multi
	fs.Var(&envs, "env", "")
	fs.Var(&domains, "allow-domain", "")
	fs.Var(&cidrs, "allow-cidr", "")
	fs.Var(&rws, "rw", "")
	fs.Var(&ros, "ro", "")
	fs.Var(&hides, "hide", "")
	readOnly := fs.Bool("read-only", false, "")
	version := fs.Bool("version", false, "")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, ErrHelp
		}
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (sbx-mcp takes only flags)", fs.Arg(0))
	}
	if *help {
		return Config{}, ErrHelp
	}
	if *version {
		return Config{}, ErrVersion
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// value returns the flag's value, else its env twin's, else def, and
	// where it came from (for error messages).
	value := func(name, def string) (string, string) {
		if set[name] {
			return *str[name], "--" + name
		}
		for _, f := range flagDocs {
			if f.name == name && f.env != "" {
				if v := getenv(f.env); v != "" {
					return v, f.env
				}
			}
		}
		return def, "--" + name
	}
	bad := func(src, v, want string) error {
		return fmt.Errorf("invalid value %q for %s: %s", v, src, want)
	}

	c := Config{}
	var err error

	v, src := value("isolation", "auto")
	if c.Isolation, err = oneOf(v, "auto", "strict", "off"); err != nil {
		return Config{}, bad(src, v, err.Error())
	}
	v, src = value("network", "allow")
	if c.Network, err = oneOf(v, "allow", "none", "host"); err != nil {
		return Config{}, bad(src, v, err.Error())
	}
	if c.AllowDomain, err = listFlag(domains, "allow-domain", getenv, egress.NormalizePattern); err != nil {
		return Config{}, err
	}
	if len(c.AllowDomain) == 0 {
		c.AllowDomain = append([]string{}, egress.DefaultDomains...)
	}
	if c.AllowCIDR, err = listFlag(cidrs, "allow-cidr", getenv, func(s string) (string, error) {
		p, err := egress.ParseCIDR(s)
		return p.String(), err
	}); err != nil {
		return Config{}, err
	}
	v, src = value("test-resolve", "")
	if _, err := egress.ParseStaticResolver(v); err != nil {
		return Config{}, bad(src, v, err.Error())
	}
	c.TestResolve = v
	v, src = value("memory", "0")
	if c.MemoryBytes, err = ParseBytes(v); err != nil {
		return Config{}, bad(src, v, "want bytes or a number with a K, M or G suffix, e.g. 512M")
	}
	if c.MemoryBytes != 0 && c.MemoryBytes < 4<<20 {
		return Config{}, bad(src, v, "at least 4M (or 0 for no limit)")
	}
	v, src = value("pids", "0")
	if c.Pids, err = strconv.Atoi(strings.TrimSpace(v)); err != nil || c.Pids < 0 {
		return Config{}, bad(src, v, "want a non-negative integer (0: no limit)")
	}
	v, src = value("cpus", "0")
	if c.CPUs, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || c.CPUs < 0 || math.IsNaN(c.CPUs) || math.IsInf(c.CPUs, 0) || c.CPUs > 4096 {
		return Config{}, bad(src, v, "want a non-negative number of CPUs such as 1.5 (0: no limit)")
	}
	if c.CPUs != 0 && c.CPUs < MinCPUs {
		return Config{}, bad(src, v, fmt.Sprintf("at least %g CPUs (the kernel's smallest quota: 1 ms per 100 ms), or 0 for no limit", MinCPUs))
	}
	v, src = value("timeout", "60s")
	if c.Timeout, err = parseTimeout(v); err != nil {
		return Config{}, bad(src, v, "want a positive duration such as 60s or 2m, or a number of seconds")
	}
	v, src = value("exit-grace", "10s")
	if strings.TrimSpace(v) == "0" {
		c.ExitGrace = 0
	} else if c.ExitGrace, err = parseTimeout(v); err != nil {
		return Config{}, bad(src, v, "want a duration such as 10s, a number of seconds, or 0")
	}
	v, src = value("task-after", "5000")
	if c.TaskAfter, err = parseMillis(v); err != nil {
		return Config{}, bad(src, v, "want a positive number of milliseconds such as 5000, or a duration such as 5s")
	}
	v, src = value("max-output", "16K")
	mo, err := ParseBytes(v)
	if err != nil || mo <= 0 || mo > MaxOutputLimit {
		return Config{}, bad(src, v, "want a size between 1 and 1M, e.g. 256K")
	}
	c.MaxOutput = int(mo)
	for _, lim := range []struct {
		name, def string
		dst       *int
	}{{"max-sessions", "128", &c.MaxSessions}, {"max-processes", "512", &c.MaxProcesses}, {"max-contexts", "32", &c.MaxContexts}, {"max-queued", "10000", &c.MaxQueued}} {
		v, src = value(lim.name, lim.def)
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 100000 {
			return Config{}, bad(src, v, "want a whole number from 1 to 100000")
		}
		*lim.dst = n
	}
	v, src = value("max-queued-bytes", "256M")
	mq, err := ParseBytes(v)
	if err != nil || mq < 1<<20 || mq > 16<<30 {
		return Config{}, bad(src, v, "want a size between 1M and 16G, e.g. 256M")
	}
	c.MaxQueuedBytes = int(mq)
	v, src = value("toolsets", "all")
	if c.Toolsets, err = parseToolsets(v); err != nil {
		return Config{}, bad(src, v, err.Error())
	}
	c.ReadOnly = *readOnly
	if !set["read-only"] {
		if ev := getenv("SBX_READ_ONLY"); ev != "" {
			b, err := strconv.ParseBool(ev)
			if err != nil {
				return Config{}, bad("SBX_READ_ONLY", ev, "want true or false")
			}
			c.ReadOnly = b
		}
	}
	src = "--env"
	if len(envs) == 0 {
		if ev := getenv("SBX_ENV"); ev != "" {
			src = "SBX_ENV"
			for _, l := range strings.Split(ev, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					envs = append(envs, l)
				}
			}
		}
	}
	for _, e := range envs {
		k, _, ok := strings.Cut(e, "=")
		if !ok || !validEnvName(k) {
			return Config{}, bad(src, e, "want KEY=VALUE with KEY made of letters, digits and _ (not starting with a digit)")
		}
		c.Env = append(c.Env, e)
	}
	v, src = value("log-level", "warn")
	if c.LogLevel, err = oneOf(strings.ToLower(v), "trace", "debug", "info", "warn", "warning", "error", "off"); err != nil {
		return Config{}, bad(src, v, err.Error())
	}
	if c.LogLevel == "warning" {
		c.LogLevel = "warn"
	}
	c.LogFile, _ = value("log-file", "")

	v, src = value("root", "overlay")
	if c.Root, err = oneOf(v, "overlay", "readonly", "host"); err != nil {
		return Config{}, bad(src, v, err.Error())
	}
	v, src = value("rootfs", "")
	if v != "" && !filepath.IsAbs(v) {
		return Config{}, bad(src, v, "want an absolute path")
	}
	c.Rootfs = v
	v, src = value("state", "")
	if v != "" && !filepath.IsAbs(v) {
		return Config{}, bad(src, v, "want an absolute path")
	}
	if v != "" && c.Root != "overlay" {
		return Config{}, bad(src, v, "only --root overlay has a writable layer to keep")
	}
	c.State = v
	for _, l := range []struct {
		name, env string
		flag      multi
		dst       *[]string
	}{{"rw", "SBX_RW", rws, &c.RW}, {"ro", "SBX_RO", ros, &c.RO}, {"hide", "SBX_HIDE", hides, &c.Hide}} {
		paths, src := []string(l.flag), "--"+l.name
		if len(paths) == 0 {
			src = l.env
			for _, p := range strings.Split(getenv(l.env), "\n") {
				if p = strings.TrimSpace(p); p != "" {
					paths = append(paths, p)
				}
			}
		}
		for _, p := range paths {
			if !filepath.IsAbs(p) {
				return Config{}, bad(src, p, "want an absolute path")
			}
			*l.dst = append(*l.dst, filepath.Clean(p))
		}
	}
	v, src = value("workdir", "")
	if !resolve {
		c.Workdir = v
	} else if c.Workdir, err = resolveWorkdir(v, getenv); err != nil {
		return Config{}, fmt.Errorf("invalid value %q for %s: %v", v, src, err)
	}
	return c, nil
}

// listFlag returns a repeatable flag's values (or its env twin's, comma or
// newline separated), each checked and normalized by norm.
func listFlag(vals multi, name string, getenv func(string) string, norm func(string) (string, error)) ([]string, error) {
	src := "--" + name
	if len(vals) == 0 {
		env := "SBX_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		for _, v := range strings.FieldsFunc(getenv(env), func(c rune) bool { return c == ',' || c == '\n' }) {
			if v = strings.TrimSpace(v); v != "" {
				vals = append(vals, v)
			}
		}
		src = env
	}
	var out []string
	for _, v := range vals {
		n, err := norm(v)
		if err != nil {
			return nil, fmt.Errorf("invalid value %q for %s: %v", v, src, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func oneOf(v string, allowed ...string) (string, error) {
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
}

// ParseBytes parses a size: plain bytes or a number with a K, M, G or T
// suffix (binary multiples; KB, KiB and friends are accepted too).
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	u := strings.ToUpper(s)
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10},
		{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10},
		{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(u, suf.s) {
			mult = suf.m
			u = strings.TrimSpace(strings.TrimSuffix(u, suf.s))
			break
		}
	}
	if u == "" {
		return 0, fmt.Errorf("empty size")
	}
	if n, err := strconv.ParseInt(u, 10, 64); err == nil {
		if n < 0 || n > math.MaxInt64/mult {
			return 0, fmt.Errorf("size out of range")
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(u, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f*float64(mult) > float64(math.MaxInt64/2) {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(f * float64(mult)), nil
}

func parseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 || n > 7*24*3600 {
			return 0, fmt.Errorf("out of range")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 7*24*time.Hour {
		return 0, fmt.Errorf("bad duration")
	}
	return d, nil
}

// parseMillis reads a number of milliseconds or a Go duration (up to a day).
func parseMillis(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if n, nerr := strconv.ParseInt(s, 10, 64); nerr == nil {
		d, err = time.Duration(n)*time.Millisecond, nil
	}
	if err != nil || d <= 0 || d > 24*time.Hour {
		return 0, fmt.Errorf("bad duration")
	}
	return d, nil
}

func parseToolsets(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if _, err := oneOf(p, Toolsets...); err != nil {
			return nil, fmt.Errorf("unknown tool set %q: want a comma list of %s", p, strings.Join(Toolsets, ", "))
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("want at least one of %s", strings.Join(Toolsets, ", "))
	}
	return out, nil
}

func validEnvName(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, c := range k {
		if !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// resolveWorkdir returns an absolute, existing workdir: v (created when
// missing), or /workspace when it exists, else StateWorkdir (created),
// else the current directory.
func resolveWorkdir(v string, getenv func(string) string) (string, error) {
	if v == "" {
		if st, err := os.Stat(DefaultWorkdir); err == nil && st.IsDir() {
			return DefaultWorkdir, nil
		}
		if d := StateWorkdir(getenv); d != "" {
			if err := os.MkdirAll(d, 0o755); err == nil {
				return d, nil
			}
		}
		return os.Getwd()
	}
	abs, err := filepath.Abs(v)
	if err != nil {
		return "", err
	}
	v = abs
	if err := os.MkdirAll(v, 0o755); err != nil {
		return "", fmt.Errorf("cannot create the directory: %v", err)
	}
	if st, err := os.Stat(v); err != nil || !st.IsDir() {
		return "", fmt.Errorf("not a directory")
	}
	return v, nil
}
