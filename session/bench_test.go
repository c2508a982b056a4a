package session

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	// side plus the test), from /proc (meaningful over thousands of calls,
	// e.g. -benchtime 5000x).
	b.ReportMetric(float64((cpuOf(bash)-bash0).Microseconds())/float64(len(d)), "bash-cpu-µs/op")
	b.ReportMetric(float64((cpuOf(os.Getpid())-self0).Microseconds())/float64(len(d)), "server-cpu-µs/op")
}

// BenchmarkExecTrueEightSessions: b.N `true` commands spread over 8 warm
// sessions, each session's share run back to back by its own goroutine,
// without the MCP layer. It is the sandbox side of sbx-bench's pipelined
// row (which adds JSON-RPC, the stdio pipes and the client, all on the same
// cores): calls per second, and CPU per call of the 8 shells and of this
// process (the session layer plus the test). Meaningful over thousands of
// calls, e.g. -benchtime 8000x.
func BenchmarkExecTrueEightSessions(b *testing.B) {
	const sessions = 8
	m := benchManager(b)
	ctx := context.Background()
	ids := make([]string, sessions)
	bashes := make([]int, sessions)
	for i := range ids {
		info, err := m.Create(ctx, CreateRequest{ID: fmt.Sprintf("bench%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Exec(ctx, Request{Session: info.ID, Command: "true"}); err != nil {
			b.Fatal(err)
		}
		ids[i], bashes[i] = info.ID, m.sessions[info.ID].sh.bashPid
	}
	shells := func() (t time.Duration) {
		for _, p := range bashes {
			t += cpuOf(p)
		}
		return t
	}
	bash0, self0 := shells(), cpuOf(os.Getpid())
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for i, id := range ids {
		n := b.N / sessions
		if i < b.N%sessions {
			n++
		}
		wg.Go(func() {
			for range n {
				r, err := m.Exec(ctx, Request{Session: id, Command: "true"})
				if err == nil && r.ExitCode != 0 {
					err = fmt.Errorf("exit code %d", r.ExitCode)
				}
				if err != nil {
					errs <- fmt.Errorf("session %s: %w", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	n := float64(b.N)
	b.ReportMetric(n/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64((shells()-bash0).Microseconds())/n, "shells-cpu-µs/op")
	b.ReportMetric(float64((cpuOf(os.Getpid())-self0).Microseconds())/n, "server-cpu-µs/op")
}

// cpuOf returns the CPU time pid's threads have used (0 if unknown), from
// the scheduler's accounting in ns (/proc/PID/task/*/schedstat): utime and
// stime are sampled at the tick.
func cpuOf(pid int) time.Duration {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var t time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			t += time.Duration(ns)
		}
	}
	return t
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
