package isolation

// Membership without job cgroups (issue 18): at the levels where the
// sandbox has no job cgroups (userns as an unprivileged user), a job's root
// is a child subreaper, so what it double-forks with a cleared environment
// stays below it, and a kill that selected a process keeps it selected
// after its root died. As root these run over job cgroups; the unprivileged
// rerun (TestUnprivilegedSuite) runs them at userns.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// spawnJob starts bash -c script as a job root (Subreaper) tagged tag, with
// $M set to marker and stdin from stdin (nil: /dev/null).
func spawnJob(t *testing.T, s *Sandbox, tag, marker, script string, stdin *os.File) *Process {
	t.Helper()
	p, err := s.Spawn(context.Background(), Spec{Path: "/bin/bash", Args: []string{"bash", "-c", script},
		Env: append(s.BaseEnv(), "M="+marker), Tag: tag, Files: []*os.File{stdin}, Subreaper: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ppidOf reads pid's parent from /proc.
func ppidOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}

// exactly returns the one process whose argv[0] is name.
func exactly(t *testing.T, name string) int {
	t.Helper()
	var out []int
	for _, pid := range named(name) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.HasPrefix(string(b), name+"\x00") {
			out = append(out, pid)
		}
	}
	if len(out) != 1 {
		t.Fatalf("processes named %s: %v, want one", name, out)
	}
	return out[0]
}

func TestKillSelectorSubreaper(t *testing.T) {
	s := startSandbox(t, Config{})
	jobs := s.Info().Layers["job_cgroups"]
	m := fmt.Sprintf("sbxsub%d", time.Now().UnixNano())

	// The double fork lands below its root (without job cgroups), and a
	// kill of the root's tree takes it, whatever its environment says.
	a := spawnJob(t, s, "P/a/1", m, doubleForkScript+"df a; exec -a ${M}a-root sleep 1000", nil)
	waitMarked(t, m+"a", 2)
	if !jobs {
		if got, root := ppidOf(t, exactly(t, m+"a")), exactly(t, m+"a-root"); got != root {
			t.Fatalf("the double fork's parent is %d, not its job's root %d", got, root)
		}
	}
	if n, err := s.Kill(context.Background(), Selector{Tag: "P/a", Root: a.Pid, IncludeRoot: true}, syscall.SIGKILL); err != nil || n < 2 {
		t.Fatalf("kill P/a: n=%d err=%v", n, err)
	}
	<-a.Done()
	waitMarked(t, m+"a", 0)

	// SIGTERM, then SIGKILL once the root is gone (kill_process's grace):
	// the double fork ignores SIGTERM and outlives its root, re-parented
	// to init, and the SIGKILL by tag alone still finds it.
	b := spawnJob(t, s, "P/b/1", m, `env -i M=$M setsid bash -c 'trap "" TERM; (exec -a ${M}b sleep 1000 &)'; exec -a ${M}b-root sleep 1000`, nil)
	waitMarked(t, m+"b", 2)
	if n, err := s.Kill(context.Background(), Selector{Tag: "P/b", Root: b.Pid, IncludeRoot: true}, syscall.SIGTERM); err != nil || n < 2 {
		t.Fatalf("SIGTERM P/b: n=%d err=%v", n, err)
	}
	<-b.Done()
	waitMarked(t, m+"b-root", 0)
	if len(named(m+"b")) != 1 {
		t.Fatalf("the SIGTERM-ignoring double fork: %v, want it alive", named(m+"b"))
	}
	if n, err := s.Kill(context.Background(), Selector{Tag: "P/b"}, syscall.SIGKILL); err != nil || n != 1 {
		t.Fatalf("SIGKILL P/b after its root died: n=%d err=%v", n, err)
	}
	waitMarked(t, m+"b", 0)

	// A command's timeout (a session's S<n>/<seq>): what started since the
	// command did, double forks included, and not the root's earlier jobs.
	c := checkSinceKill(t, s, m, "S9", "c-root", func(tag, script string, stdin *os.File) *Process {
		return spawnJob(t, s, tag, m, script, stdin)
	})
	if n, err := s.Kill(context.Background(), Selector{Tag: "S9", Root: c.Pid, IncludeRoot: true}, syscall.SIGKILL); err != nil || n < 2 {
		t.Fatalf("kill S9: n=%d err=%v", n, err)
	}
	<-c.Done()
	waitMarked(t, m, 0)
}

// A job whose root ended on its own: what it orphaned went to init, and a
// kill of its tag (kill_process of a completed process, delete_session)
// still takes it, its cleared environment notwithstanding.
func TestKillSelectorSubreaperOrphans(t *testing.T) {
	s := startSandbox(t, Config{})
	m := fmt.Sprintf("sbxorph%d", time.Now().UnixNano())
	d := spawnJob(t, s, "P/d/1", m, doubleForkScript+"df d; df e", nil)
	<-d.Done()
	waitMarked(t, m, 2)
	other := spawnJob(t, s, "P/f/1", m, doubleForkScript+"df f; exec -a ${M}f-root sleep 1000", nil)
	waitMarked(t, m+"f", 2)
	if n, err := s.Kill(context.Background(), Selector{Tag: "P/d"}, syscall.SIGKILL); err != nil || n != 2 {
		t.Fatalf("kill P/d after its root ended: n=%d err=%v", n, err)
	}
	waitMarked(t, m+"d", 0)
	waitMarked(t, m+"e", 0)
	if len(named(m+"f")) != 2 {
		t.Fatalf("the kill of P/d took another job's processes: %v", named(m+"f"))
	}
	if n, err := s.Kill(context.Background(), Selector{Tag: "P"}, syscall.SIGKILL); err != nil || n != 2 {
		t.Fatalf("kill P: n=%d err=%v", n, err)
	}
	<-other.Done()
	waitMarked(t, m, 0)
}
