package isolation

// Limits (issue 19): in force from a process's first instruction, and a
// fork bomb never exceeds --pids plus the documented slack at any level.

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func init() {
	// test.nsandbox counts init and its descendants (at level none /proc
	// holds the host's processes too).
	RegisterOp("test.nsandbox", func(ctx context.Context, req json.RawMessage, files []*os.File) (any, error) {
		self := os.Getpid()
		procs := scanProcs()
		n := 1
		for pid, p := range procs {
			if !p.zombie && procs.descendsFrom(pid, self) {
				n++
			}
		}
		return n, nil
	})
}

// forkSlack is how many processes beyond --pids a sandbox may hold,
// counting init and its descendants: init itself sits outside the limited
// cgroup (v1), or counts toward the limit (v2, rlimits).
const forkSlack = 1

// levelConfigs are the levels this host can produce for a test: the one
// Start picks by default, and none.
func levelConfigs() []struct {
	name string
	cfg  Config
} {
	return []struct {
		name string
		cfg  Config
	}{{"auto", Config{}}, {"none", Config{Isolation: "off"}}}
}

// Every process sees its limits from its first instruction: 200 processes
// read their own limits (rlimits) or cgroup (cgroup limits) as the first
// thing they do.
func TestSecLimitsFromFirstInstruction(t *testing.T) {
	for _, lc := range levelConfigs() {
		t.Run(lc.name, func(t *testing.T) {
			cfg := lc.cfg
			cfg.Pids, cfg.MemoryBytes = 64, 256<<20
			s := startSandbox(t, cfg)
			cg := s.Info().Layers["cgroup_limits"]
			spec := Spec{Path: "/bin/cat", Args: []string{"cat", "/proc/self/limits"}, Env: s.BaseEnv()}
			want := []string{"Max processes             64                   64", "Max address space         268435456            268435456"}
			limited := func(out string) bool {
				for _, line := range want {
					if !strings.Contains(out, line) {
						return false
					}
				}
				return true
			}
			if cg {
				// The v1 limits sit on the jobs cgroup (see doc.go).
				spec.Args = []string{"cat", "/proc/self/cgroup"}
				want = []string{"pids and memory in a jobs cgroup"}
				limited = func(out string) bool {
					n := 0
					for _, line := range strings.Split(out, "\n") {
						if strings.Contains(line, ":pids:") || strings.Contains(line, ":memory:") {
							if !strings.HasSuffix(line, "/jobs") {
								return false
							}
							n++
						}
					}
					return n == 2
				}
			}
			const n, par = 200, 4
			var wg sync.WaitGroup
			var mu sync.Mutex
			bad := 0
			for w := range par {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += par {
						r := runSpec(t, s, spec)
						if r.exit.Code != 0 || !limited(r.stdout) {
							mu.Lock()
							if bad++; bad <= 3 {
								t.Errorf("process %d without its limits (want %q): %v", i, want, r)
							}
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			if bad > 0 {
				t.Fatalf("%d of %d processes ran without their limits (cgroup_limits=%v)", bad, n, cg)
			}
		})
	}
}

// A fork bomb under --pids 64 never holds more than 64+forkSlack processes
// in the sandbox, at every level, and is cleaned up by KillAll.
func TestSecForkBombEveryLevel(t *testing.T) {
	for _, lc := range levelConfigs() {
		t.Run(lc.name, func(t *testing.T) {
			const limit = 64
			cfg := lc.cfg
			cfg.Pids = limit
			s := startSandbox(t, cfg)
			er, ew, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer er.Close()
			p, err := s.Spawn(context.Background(), Spec{Path: "/bin/bash", Args: []string{"bash", "-c", `b(){ b | b & }; b`},
				Env: s.BaseEnv(), Files: []*os.File{nil, nil, ew}})
			ew.Close()
			if err != nil {
				t.Fatal(err)
			}
			// The bomb has hit the limit once bash reports a failed fork.
			sc := bufio.NewScanner(er)
			for sc.Scan() && !strings.Contains(sc.Text(), "fork") {
			}
			go func() { // keep draining: a full pipe would block the bomb
				for sc.Scan() {
				}
			}()
			most := 0
			for range 20 {
				var n int
				if err := s.Do(context.Background(), "test.nsandbox", nil, &n); err != nil {
					t.Fatal(err)
				}
				most = max(most, n)
			}
			t.Logf("level %s: at most %d processes in the sandbox under the bomb (cgroup_limits=%v)", s.Info().Level, most, s.Info().Layers["cgroup_limits"])
			if most > limit+forkSlack {
				t.Errorf("%d processes with --pids %d (slack %d)", most, limit, forkSlack)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.KillAll(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.Done():
			case <-ctx.Done():
				t.Fatal("bomb survived KillAll")
			}
			var n int
			if err := s.Do(context.Background(), "test.nsandbox", nil, &n); err != nil || n != 1 {
				t.Fatalf("after KillAll: %d processes left besides init (err %v)", n-1, err)
			}
			if r := run(t, s, "echo ok"); r.stdout != "ok\n" {
				t.Fatalf("after the bomb: %v", r)
			}
		})
	}
}
