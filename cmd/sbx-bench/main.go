// Command sbx-bench measures sbx-mcp against the performance budget of
// DESIGN §6. It starts the built server as a subprocess, drives it over a real
// stdio pipe with raw JSON-RPC lines (every notification decoded, as a client
// would) and prints a markdown table: metric, p50, p99 or throughput, server
// RSS, budget, met?
//
//	go run ./cmd/sbx-bench                 # builds ./cmd/sbx-mcp, full run
//	go run ./cmd/sbx-bench -quick          # fewer iterations, 64 MiB stream
//	sbx-bench -bin ./sbx-mcp -n 500 -- --isolation strict
//
// Arguments after "--" are passed to every server started. Rows whose tool is
// not registered print "n/a (tool missing)". Latencies are measured from just
// before the request line is written to when the response line is read.
// Progress output and diagnostics go to stderr; the table goes to stdout.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sbx-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sbx-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 200, "iterations of each fast measurement (slow ones run n/10, at least 3)")
	quick := fs.Bool("quick", false, "fast run: n=30, 64 MiB stream, fewer cold starts")
	bin := fs.String("bin", "", "sbx-mcp binary (default: go build ./cmd/sbx-mcp into a temp dir)")
	streamMiB := fs.Int("stream-mib", 1024, "MiB of output for the exec_stream throughput row")
	only := fs.String("only", "", "run only rows whose key contains this (keys: spawn exec session pipelined progress stream file list edit search find process tty code context scale egress)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sbx-bench [-n N] [-quick] [-bin PATH] [-only KEY] [-- server flags...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	b := &bench{
		n:          *n,
		streamSize: int64(*streamMiB) << 20,
		only:       *only,
		serverArgs: fs.Args(),
		log:        stderr,
		command:    "sbx-bench " + strings.Join(args, " "),
	}
	if *quick {
		if !flagSet(fs, "n") {
			b.n = 30
		}
		if !flagSet(fs, "stream-mib") {
			b.streamSize = 64 << 20
		}
	}
	if b.n < 1 {
		return fmt.Errorf("-n must be at least 1")
	}
	b.slowN = max(3, min(50, b.n/10))

	tmp, err := os.MkdirTemp("", "sbx-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b.tmp = tmp

	b.bin = *bin
	if b.bin == "" {
		fmt.Fprintln(stderr, "building ./cmd/sbx-mcp ...")
		if b.bin, err = buildServer(ctx, tmp); err != nil {
			return err
		}
	} else if b.bin, err = filepath.Abs(b.bin); err != nil {
		return err
	}

	b.loadStart = loadAvg()
	if err := b.runAll(ctx); err != nil {
		return err
	}
	b.loadEnd = loadAvg()
	b.print(stdout)
	return nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// buildServer builds ./cmd/sbx-mcp of the module containing the working
// directory into dir.
func buildServer(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "sbx-mcp")
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", out, "./cmd/sbx-mcp")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // the static binary the README builds
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/sbx-mcp (pass -bin to use a built binary): %w", err)
	}
	return out, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory: run from the repository or pass -bin")
		}
		dir = parent
	}
}

// machine describes the host for the README table.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "unknown kernel"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d CPUs (nproc), %s, %s, %s", runtime.NumCPU(), cpu, kernel, runtime.Version())
}

// loadAvg is the 1-minute load average (other work on the machine skews
// latencies; the table records it).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// fmtDur prints a latency with a resolution that suits its size.
func fmtDur(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f s", ms/1000)
	}
}

func fmtMiB(kib int64) string {
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

func (b *bench) print(w io.Writer) {
	fmt.Fprintf(w, "machine: %s; 1-min load average %s at start, %s at end  \n", machine(), b.loadStart, b.loadEnd)
	fmt.Fprintf(w, "server: %s  \n", b.serverInfo)
	fmt.Fprintf(w, "command: `%s`\n\n", b.command)
	fmt.Fprintln(w, "| metric | n | p50 | p99 | throughput | server RSS | budget | met? |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range b.rows {
		cells := []string{r.metric, r.samples, r.p50, r.p99, r.throughput, r.rss, r.budget, r.met}
		for i, c := range cells {
			if c == "" {
				cells[i] = "—"
			}
			cells[i] = strings.ReplaceAll(cells[i], "|", `\|`)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	var notes []string
	for _, r := range b.rows {
		if r.note != "" {
			notes = append(notes, fmt.Sprintf("- %s: %s", r.metric, r.note))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.Join(notes, "\n"))
	}
}
