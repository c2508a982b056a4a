package isolation

import (
	"context"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// reportPercentiles adds p50 and p99 (in µs) of the samples to b.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	pct := func(p float64) float64 { return float64(d[int(float64(len(d)-1)*p)].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkStart: create a sandbox (clone, init stages 1 and 2, hello) and
// close it.
func BenchmarkStart(b *testing.B) {
	dir := b.TempDir()
	var d []time.Duration
	var root time.Duration
	for b.Loop() {
		t0 := time.Now()
		s, err := Start(context.Background(), Config{Workdir: dir, Log: zerolog.New(io.Discard)})
		if err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(t0))
		root += s.rootBuild
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	reportPercentiles(b, d)
	// init's share: building the root (overlays, binds, /proc, /sys, /dev)
	b.ReportMetric(float64(root.Microseconds())/float64(len(d)), "root-µs")
}

// BenchmarkSpawnTrue: spawn /bin/true with piped stdio and wait for its
// exit event.
func BenchmarkSpawnTrue(b *testing.B) {
	s, err := Start(context.Background(), Config{Workdir: b.TempDir(), Log: zerolog.New(io.Discard)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Logf("level %s", s.Info().Level)
	env := s.BaseEnv()
	var d []time.Duration
	for b.Loop() {
		t0 := time.Now()
		r, w, _ := os.Pipe()
		p, err := s.Spawn(context.Background(), Spec{Path: "/bin/true", Args: []string{"true"}, Env: env, Files: []*os.File{nil, w, w}})
		w.Close()
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r)
		r.Close()
		<-p.Done()
		d = append(d, time.Since(t0))
	}
	reportPercentiles(b, d)
}

// benchSandbox starts a sandbox (level SBX_BENCH_ISOLATION, default auto)
// on a fresh work directory, closed at cleanup.
func benchSandbox(b *testing.B) (*Sandbox, string) {
	dir := b.TempDir()
	s, err := Start(context.Background(), Config{Isolation: os.Getenv("SBX_BENCH_ISOLATION"), Workdir: dir, Log: zerolog.New(io.Discard)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, dir
}

// BenchmarkDo: round trip of a trivial op.
func BenchmarkDo(b *testing.B) {
	s, _ := benchSandbox(b)
	var out struct{ S string }
	for b.Loop() {
		if err := s.Do(context.Background(), "test.echo", map[string]string{"s": "x"}, &out); err != nil {
			b.Fatal(err)
		}
	}
}
