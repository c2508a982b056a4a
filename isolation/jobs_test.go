package isolation

// Job cgroups (issue 18): a job's processes are killed by membership, on
// cgroup v2 (cgroup.kill) and v1 (freezer: freeze, kill, thaw), whatever
// they did to their environment and parentage.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// jobModes are the job cgroup layouts this host can produce: v2 (the
// unified hierarchy here) and v1 freezer (with cgroup v2 ignored).
var jobModes = []struct {
	name string
	noV2 bool
}{{"v2", false}, {"v1", true}}

func jobSandbox(t *testing.T, noV2 bool) *Sandbox {
	t.Helper()
	noCgroupV2 = noV2
	defer func() { noCgroupV2 = false }()
	s := startSandbox(t, Config{})
	if !s.Info().Layers["job_cgroups"] {
		if os.Geteuid() == 0 {
			t.Fatalf("no job cgroups as root: %v", s.Info().Reasons)
		}
		for _, r := range s.Info().Reasons {
			if len(r) > 12 && r[:12] == "job_cgroups:" {
				t.Skipf("no job cgroups at this level, reported: %s", r)
			}
		}
		t.Fatalf("job_cgroups false without a reason: %v", s.Info().Reasons)
	}
	if s.cg == nil || s.cg.jobsV1 != noV2 {
		t.Fatalf("job cgroups on v1: %v, want %v", s.cg != nil && s.cg.jobsV1, noV2)
	}
	return s
}

// named lists the processes whose argv[0] starts with prefix.
func named(prefix string) []int {
	var out []int
	for _, pid := range hostPids(prefix) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.HasPrefix(string(b), prefix) {
			out = append(out, pid)
		}
	}
	return out
}

func waitMarked(t *testing.T, marker string, n int) {
	t.Helper()
	for i := 0; i < 1000 && len(named(marker)) != n; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := len(named(marker)); got != n {
		t.Fatalf("want %d processes named %s, have %d", n, marker, got)
	}
}

// doubleForkScript defines df, which double-forks a sleep named $M$1 away
// to init with an empty environment (no SBX_JOB) and its own session.
const doubleForkScript = `df() { env -i M=$M$1 setsid bash -c '(exec -a $M sleep 1000 &)'; }; `

func TestJobCgroupsKillByMembership(t *testing.T) {
	for _, mode := range jobModes {
		t.Run(mode.name, func(t *testing.T) {
			s := jobSandbox(t, mode.noV2)
			m := fmt.Sprintf("sbxjob%s%d", mode.name, time.Now().UnixNano())
			spawn := func(tag, script string, stdin *os.File) *Process {
				t.Helper()
				p, err := s.Spawn(context.Background(), Spec{Path: "/bin/bash", Args: []string{"bash", "-c", script},
					Env: append(s.BaseEnv(), "M="+m), Tag: tag, Files: []*os.File{stdin}})
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			// A whole job: its cgroup's subtree, the double fork included.
			a := spawn("P/x/1", doubleForkScript+"df a; exec -a ${M}a-root sleep 1000", nil)
			waitMarked(t, m+"a", 2)
			if n, err := s.Kill(context.Background(), Selector{Tag: "P/x"}, syscall.SIGKILL); err != nil || n < 2 {
				t.Fatalf("kill P/x: n=%d err=%v", n, err)
			}
			<-a.Done()
			waitMarked(t, m+"a", 0)

			// A command inside a job (a session's S<n>/<seq>): what started
			// since the command did, not the job's root nor its earlier jobs.
			b := checkSinceKill(t, s, m, "S7", "b-root", spawn)
			// KillAll: everything in every job cgroup.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.KillAll(ctx); err != nil {
				t.Fatal(err)
			}
			<-b.Done()
			waitMarked(t, m, 0)
			if r := run(t, s, "echo ok"); r.stdout != "ok\n" {
				t.Fatalf("after the kills: %v", r)
			}
		})
	}
}

// checkSinceKill starts job tag, whose root double-forks "old", waits for a
// line on stdin, double-forks "new" and becomes sleep named root; it kills
// what started in tag/1 since the line was sent and checks that only "new"
// died. It returns the root, still running.
func checkSinceKill(t *testing.T, s *Sandbox, m, tag, root string, spawn func(tag, script string, stdin *os.File) *Process) *Process {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Fd() // the child's end must be blocking (Fd switches it, as os/exec does)
	p := spawn(tag, doubleForkScript+"df old; read; df new; exec -a ${M}"+root+" sleep 1000", r)
	r.Close()
	waitMarked(t, m+"old", 1)
	waitTicksAfter(t, named(m + "old")[0])
	since := time.Now()
	w.Write([]byte("go\n"))
	waitMarked(t, m+"new", 1)
	if _, err := s.Kill(context.Background(), Selector{Tag: tag + "/1", Root: p.Pid, Since: since}, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitMarked(t, m+"new", 0)
	if len(named(m+"old")) != 1 || len(named(m+root)) != 1 {
		t.Fatalf("the since-kill took the job's earlier processes: old %v root %v", named(m+"old"), named(m+root))
	}
	return p
}

// waitTicksAfter waits until the clock /proc uses for start times has moved
// two ticks past pid's start, so "since now" cannot include pid.
func waitTicksAfter(t *testing.T, pid int) {
	t.Helper()
	p, ok := readStat(pid)
	if !ok {
		t.Fatalf("no process %d", pid)
	}
	for nanoToTicks(time.Now().UnixNano()) < p.start+2 {
		time.Sleep(time.Millisecond)
	}
}
