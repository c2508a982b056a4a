package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/sbx-mcp/sbx-mcp/config"
	"github.com/sbx-mcp/sbx-mcp/egress"
	"github.com/sbx-mcp/sbx-mcp/interp"
	"github.com/sbx-mcp/sbx-mcp/isolation"
	"github.com/sbx-mcp/sbx-mcp/portfwd"
	"github.com/sbx-mcp/sbx-mcp/process"
	"github.com/sbx-mcp/sbx-mcp/server"
	"github.com/sbx-mcp/sbx-mcp/session"
	"github.com/sbx-mcp/sbx-mcp/tools"
)

// run is the whole program: parse flags, start the sandbox, serve MCP on
// stdin/stdout until EOF or a signal, clean up. It returns the exit code:
// 0 on a normal shutdown, 1 when the server cannot start, 2 for bad flags.
// stdout carries only protocol frames (or --help / --version text).
func run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) int {
	if len(args) > 0 && args[0] == "config" { // prints a client snippet; see config_cmd.go
		return configMain(args[1:], stdout, stderr)
	}
	cfg, err := config.Parse(args, os.Getenv)
	switch {
	case errors.Is(err, config.ErrHelp):
		fmt.Fprint(stdout, config.Usage())
		return 0
	case errors.Is(err, config.ErrVersion):
		v, c := config.VersionInfo()
		if c != "" {
			v += " (" + c + ")"
		}
		fmt.Fprintln(stdout, "sbx-mcp", v)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "sbx-mcp: %v\nRun 'sbx-mcp --help' for the flags.\n", err)
		return 2
	}

	log, closeLog, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sbx-mcp: %v\n", err)
		return 2
	}
	defer closeLog()

	// A closed stdout must surface as EPIPE on write (then we shut down and
	// clean up), not kill the process with SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	growPipe(stdout)
	growPipe(stdin)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()

	version, commit := config.VersionInfo()
	// The sandbox starts while the server already answers the handshake:
	// tools/call waits for it (server.Options.Ready), initialize does not.
	// --isolation strict starts it first, since it must refuse to serve
	// below full isolation.
	proxy, err := newProxy(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "sbx-mcp: %v\n", err)
		return 2
	}
	defer proxy.Close()
	deps := tools.NewDeps(cfg, log)
	deps.Egress = proxy
	superCtx, stopSupervise := context.WithCancel(ctx)
	defer stopSupervise()
	ready := make(chan struct{}) // closed once deps holds the sandbox and managers
	start := func(ctx context.Context) (*isolation.Sandbox, error) {
		return isolation.Start(ctx, isolation.Config{
			Isolation:   cfg.Isolation,
			Network:     cfg.Network,
			Workdir:     cfg.Workdir,
			Env:         cfg.Env,
			Pids:        cfg.Pids,
			MemoryBytes: cfg.MemoryBytes,
			CPUs:        cfg.CPUs,
			Log:         log,
			Proxy: func(http, socks net.Listener) {
				go proxy.ServeHTTPProxy(http)
				go proxy.ServeSOCKS(socks)
			},
			Root:   cfg.Root,
			Rootfs: cfg.Rootfs,
			State:  cfg.State,
			RW:     cfg.RW,
			RO:     cfg.RO,
			Hide:   cfg.Hide,
		})
	}
	boot := func() error {
		defer close(ready)
		sb, err := start(ctx)
		if err != nil {
			if cfg.Isolation == "strict" {
				return err
			}
			log.Warn().Err(err).Msg("sandbox failed to start; serving without it (tools that need it report errors)")
			sb = nil
		} else if info := sb.Info(); info.Level == isolation.LevelFull {
			// One stderr line says what isolation we got: isolation.Start
			// warns itself below full; at full, say so at every level but off.
			log.WithLevel(zerolog.NoLevel).Str("isolation", string(info.Level)).Msg("sandbox isolation")
		}
		deps.Sandbox, deps.SandboxErr = sb, err
		if sb != nil {
			deps.Ports = portfwd.New(deps, log.With().Str("pkg", "portfwd").Logger())
		}
		deps.Sessions = session.NewManager(sb, session.Options{Timeout: cfg.Timeout, MaxOutput: cfg.MaxOutput, Max: cfg.MaxSessions, Log: log.With().Str("pkg", "session").Logger()})
		deps.Processes = process.NewManager(sb, deps.Sessions, process.Options{MaxOutput: cfg.MaxOutput, MaxRunning: cfg.MaxProcesses, Log: log.With().Str("pkg", "process").Logger()})
		deps.Interp = interp.NewManager(sb, interp.Options{Timeout: cfg.Timeout, MaxOutput: cfg.MaxOutput, Max: cfg.MaxContexts, Log: log.With().Str("pkg", "interp").Logger()})
		if sb != nil {
			go deps.Supervise(superCtx, start) // a dead sandbox is replaced
		}
		return nil
	}
	if cfg.Isolation == "strict" {
		if err := boot(); err != nil {
			log.Error().Err(err).Msg("--isolation=strict: cannot start the sandbox at full isolation; refusing to serve")
			fmt.Fprintf(stderr, "sbx-mcp: --isolation=strict: %v\n%s", err, strictHint())
			return 1
		}
	} else {
		go boot()
		// Let boot run first: the sandbox's start (init's clone, then its
		// Go runtime and stages) is the longest path to the first
		// tools/call, while the tool list and server below take ~1 ms and
		// move to another thread. Otherwise boot waited that long for one.
		runtime.Gosched()
	}
	list := tools.All(deps)
	srv := server.New(server.Options{
		Name:    "sbx-mcp",
		Version: version,
		InstructionsFunc: func() string {
			// The level when the sandbox is already up (a second connection
			// in tests; normally it is still starting: never wait for it).
			select {
			case <-ready:
				level := isolation.LevelNone
				if sb := deps.CurrentSandbox(); sb != nil {
					level = sb.Info().Level
				}
				return instructions(list, string(level), cfg)
			default:
				return instructions(list, "being set up, sandbox_info reports it", cfg)
			}
		},
		Ready:          ready,
		Tools:          list,
		Tasks:          server.TaskOptions{After: cfg.TaskAfter},
		ExitGrace:      cfg.ExitGrace,
		MaxQueued:      cfg.MaxQueued,
		MaxQueuedBytes: cfg.MaxQueuedBytes,
		Log:            log.With().Str("pkg", "server").Logger(),
		Cleanups: []func(){
			func() {
				<-ready // a start in progress finishes (bounded by the cleanup timeout)
				stopSupervise()
				if deps.Ports != nil {
					deps.Ports.Close()
				}
				deps.Interp.Close()
				deps.Processes.Close()
				deps.Sessions.Close()
				if sb := deps.CurrentSandbox(); sb != nil {
					if err := sb.Close(); err != nil {
						log.Warn().Err(err).Msg("close sandbox")
					}
				}
			},
		},
	})
	log.Debug().Str("version", version).Str("commit", commit).Int("tools", len(list)).Str("workdir", cfg.Workdir).Msg("serving on stdio")
	began := time.Now()
	if err := srv.Serve(ctx, stdin, stdout); err != nil {
		log.Error().Err(err).Msg("serve")
		return 1
	}
	log.Debug().Dur("uptime", time.Since(began)).Msg("shut down")
	return 0
}

// newProxy builds the egress proxy of network mode allow from the flags.
func newProxy(cfg config.Config, log zerolog.Logger) (*egress.Proxy, error) {
	var resolver egress.Resolver
	if cfg.TestResolve != "" {
		r, err := egress.ParseStaticResolver(cfg.TestResolve)
		if err != nil {
			return nil, err
		}
		resolver = r
	}
	pol, err := egress.NewPolicy(cfg.AllowDomain, cfg.AllowCIDR, egress.HostAddrs(), resolver)
	if err != nil {
		return nil, err
	}
	return egress.New(egress.Options{Policy: pol, Log: log.With().Str("pkg", "egress").Logger()}), nil
}

// newLogger logs to --log-file (JSON lines) or stderr (human-readable), at
// --log-level.
func newLogger(cfg config.Config, stderr io.Writer) (zerolog.Logger, func(), error) {
	lvl := zerolog.WarnLevel
	switch cfg.LogLevel {
	case "trace":
		lvl = zerolog.TraceLevel
	case "debug":
		lvl = zerolog.DebugLevel
	case "info":
		lvl = zerolog.InfoLevel
	case "error":
		lvl = zerolog.ErrorLevel
	case "off":
		lvl = zerolog.Disabled
	}
	if cfg.LogFile != "" {
		f, err := os.OpenFile(cfg.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
		if err != nil {
			return zerolog.Logger{}, nil, fmt.Errorf("--log-file: %v", err)
		}
		return zerolog.New(f).Level(lvl).With().Timestamp().Logger(), func() { f.Close() }, nil
	}
	w := zerolog.ConsoleWriter{Out: stderr, NoColor: true, TimeFormat: "15:04:05.000",
		FormatLevel: func(i any) string {
			s, _ := i.(string)
			if s == "" {
				return "INF" // zerolog.NoLevel: lines shown at every level
			}
			return strings.ToUpper(s[:min(3, len(s))])
		}}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), func() {}, nil
}

// instructions is initialize's short guide for the model (< 2 KB): only
// sentences about tools that are exposed.
func instructions(list []server.Tool, level string, cfg config.Config) string {
	have := map[string]bool{}
	for _, t := range list {
		have[t.Name] = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sbx-mcp: a Linux sandbox (isolation level: %s) with workdir %s. ", level, cfg.Workdir)
	parts := []struct {
		tools []string
		text  string
	}{
		{[]string{"exec"}, "Run shell commands with exec: each session is a persistent bash (cd, export, functions survive); session \"default\" always exists, create_session makes more. A non-zero exit code is data, not an error."},
		{[]string{"exec_stream"}, "exec_stream is exec with output streamed as progress."},
		{[]string{"start_process"}, "Use start_process for servers. Follow them with wait_for_process, get_process_logs and kill_process. exec with yield_ms returns early from a long job (running: true and a process id)."},
		{[]string{"get_process_screen"}, "Interactive programs (REPLs, prompts, vim, top): start_process with tty: true, then write_process_stdin with data and keys (enter, ctrl-c, up...) and until, and get_process_screen."},
		{[]string{"read_file", "write_file", "list_files"}, "Files: list_files, read_file, write_file (paths absolute or relative to the session cwd)."},
		{[]string{"edit_file"}, "Change a file with edit_file (exact old_string -> new_string; a diff comes back) instead of rewriting it."},
		{[]string{"search_files", "find_files"}, "Find code with search_files (contents) and find_files (names) rather than grep or find through exec: bounded, .gitignore-aware."},
		{[]string{"watch_files"}, "watch_files streams file changes (inotify) until a duration or a matching event."},
		{[]string{"run_code"}, "run_code runs Python (default) or JavaScript with state kept per context; plots come back as images."},
		{[]string{"sandbox_info"}, "sandbox_info reports isolation, limits and the network allow-list with recent refusals."},
		{[]string{"expose_port"}, "expose_port makes a server inside reachable from the host."},
	}
	for _, p := range parts {
		for _, t := range p.tools {
			if have[t] {
				b.WriteString(p.text + " ")
				break
			}
		}
	}
	fmt.Fprintf(&b, "Commands time out after %s unless timeout_ms says otherwise. An isError result says what to fix.", cfg.Timeout)
	return tools.OnlyExposed(b.String(), have)
}

// strictHint says how to get what --isolation strict asks for.
func strictHint() string {
	var b strings.Builder
	b.WriteString("Full isolation needs new PID, mount, IPC, UTS and cgroup namespaces, a fresh /proc and a delegated cgroup:\n")
	if os.Geteuid() != 0 {
		fmt.Fprintf(&b, "  - run sbx-mcp as root (or with CAP_SYS_ADMIN); it runs as uid %d now\n", os.Geteuid())
	}
	b.WriteString("  - in Docker: docker run -i --rm --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt systempaths=unconfined --security-opt apparmor=unconfined (README \"Docker\")\n")
	b.WriteString("  - or run with --isolation auto: the best level this host allows, reported by sandbox_info and on stderr\n")
	return b.String()
}
