package session

import (
	"bytes"
	"context"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
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

// benchManager starts a sandbox (closed at cleanup) and a manager on it.
func benchManager(b *testing.B) *Manager {
	sb, err := isolation.Start(context.Background(), isolation.Config{Workdir: b.TempDir(), Log: zerolog.New(io.Discard)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sb.Close() })
	return NewManager(sb, Options{Log: zerolog.New(io.Discard)})
}

// BenchmarkExecTrue: a warm session runs `true`, without the MCP layer.
// It reports the latency percentiles the server adds to (sbx-bench's
// "warm exec true" row is this plus JSON-RPC and the stdio pipes).
func BenchmarkExecTrue(b *testing.B) {
	m := benchManager(b)
	ctx := context.Background()
	if _, err := m.Exec(ctx, Request{Command: "true"}); err != nil {
		b.Fatal(err)
	}
	bash := m.sessions[DefaultID].sh.bashPid
	bash0, self0 := cpuOf(bash), cpuOf(os.Getpid())
	var d []time.Duration
	for b.Loop() {
		t0 := time.Now()
		r, err := m.Exec(ctx, Request{Command: "true"})
		d = append(d, time.Since(t0))
		if err != nil || r.ExitCode != 0 {
			b.Fatalf("%v %+v", err, r)
		}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
	// CPU per call of the session's bash and of this process (the server
	// side plus the test), from /proc (clock ticks: meaningful over
	// thousands of calls, e.g. -benchtime 5000x).
	b.ReportMetric(float64((cpuOf(bash)-bash0).Microseconds())/float64(len(d)), "bash-cpu-µs/op")
	b.ReportMetric(float64((cpuOf(os.Getpid())-self0).Microseconds())/float64(len(d)), "server-cpu-µs/op")
}

// cpuOf returns the user+system CPU time pid has used (0 if unknown).
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// fields after the command name (which may hold spaces): state is 3rd,
	// utime 14th, stime 15th
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return time.Duration(u+s) * time.Second / 100 // USER_HZ
}

// BenchmarkNewSession: create a session (bash started and ready) and run
// its first command; sbx-bench's "first exec in a new session" row is this
// plus two JSON-RPC round trips.
func BenchmarkNewSession(b *testing.B) {
	m := benchManager(b)
	ctx := context.Background()
	var d []time.Duration
	for b.Loop() {
		t0 := time.Now()
		info, err := m.Create(ctx, CreateRequest{})
		if err != nil {
			b.Fatal(err)
		}
		r, err := m.Exec(ctx, Request{Session: info.ID, Command: "true"})
		d = append(d, time.Since(t0))
		if err != nil || r.ExitCode != 0 {
			b.Fatalf("%v %+v", err, r)
		}
		b.StopTimer()
		m.Delete(ctx, info.ID)
		b.StartTimer()
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
}
