package e2e

// Process membership the sandbox cannot erase (issue 18): a double fork
// with a cleared environment (env -i setsid ... &) leaves its parent's
// tree and drops the environment tag, yet dies with its job.

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// doubleFork starts a sleep named marker that double-forks away to init
// with an empty environment.
func doubleFork(marker string) string {
	return fmt.Sprintf(`env -i setsid bash -c '(exec -a %s sleep 1000 &)' </dev/null >/dev/null 2>&1`, marker)
}

// levels are the ways a test reaches the two kinds of membership: the
// default server (level full with job cgroups as root), and one at level
// userns, without job cgroups, where job roots are child subreapers and init
// records what a job orphaned (as root: the server run as nobody; as an
// unprivileged user the default server is already at userns).
var levels = []struct {
	name    string
	connect func(t *testing.T) *mcp.ClientSession
}{
	{"default", func(t *testing.T) *mcp.ClientSession { return Connect(t) }},
	{"userns", func(t *testing.T) *mcp.ClientSession {
		var cs *mcp.ClientSession
		if os.Geteuid() == 0 {
			cs = ConnectNobody(t)
		} else {
			cs = Connect(t)
		}
		var info struct {
			Level  string          `json:"level"`
			Layers map[string]bool `json:"layers"`
		}
		Structured(t, CallOK(t, cs, "sandbox_info", nil), &info)
		want := "userns"
		if l := os.Getenv("SBX_EXPECT_UNPRIV_LEVEL"); l != "" {
			want = l
		}
		if info.Level != want {
			t.Fatalf("unprivileged server at level %s, want %s", info.Level, want)
		}
		return cs
	}},
}

// eachLevel runs body as a subtest at each of levels.
func eachLevel(t *testing.T, body func(t *testing.T, cs *mcp.ClientSession)) {
	for _, l := range levels {
		t.Run(l.name, func(t *testing.T) { body(t, l.connect(t)) })
	}
}

// waitCount polls (bounded) until n processes match re.
func waitCount(t *testing.T, cs *mcp.ClientSession, re string, n int) {
	t.Helper()
	got := -1
	for i := 0; i < 200; i++ {
		if got = countCmdline(t, cs, re); got == n {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("want %d processes matching %q, have %d", n, re, got)
}

func marker(t *testing.T) string {
	return fmt.Sprintf("sbxdf%d", time.Now().UnixNano())
}

func TestDoubleForkKillProcess(t *testing.T) {
	eachLevel(t, func(t *testing.T, cs *mcp.ClientSession) {
		m := marker(t)
		p := startProc(t, cs, map[string]any{"command": doubleFork(m) + "; exec sleep 1000"})
		waitCount(t, cs, "^"+m, 1)
		CallOK(t, cs, "kill_process", map[string]any{"id": p.ID})
		waitCount(t, cs, "^"+m, 0)
	})
}

// A daemon started by a command that has already ended: kill_process of
// the completed process still takes it.
func TestDoubleForkKillCompleted(t *testing.T) {
	eachLevel(t, func(t *testing.T, cs *mcp.ClientSession) {
		m := marker(t)
		p := startProc(t, cs, map[string]any{"command": doubleFork(m)})
		if got := waitExit(t, cs, p.ID); got.Status != "completed" {
			t.Fatalf("the double-forking command: %+v", got)
		}
		waitCount(t, cs, "^"+m, 1)
		CallOK(t, cs, "kill_process", map[string]any{"id": p.ID})
		waitCount(t, cs, "^"+m, 0)
	})
}

func TestDoubleForkDeleteSession(t *testing.T) {
	eachLevel(t, testDoubleForkDeleteSession)
}

func testDoubleForkDeleteSession(t *testing.T, cs *mcp.ClientSession) {
	m := marker(t)
	CallOK(t, cs, "create_session", map[string]any{"id": "df"})
	if o := execIn(t, cs, map[string]any{"session": "df", "command": doubleFork(m)}); o.ExitCode != 0 {
		t.Fatalf("double fork: %+v", o)
	}
	waitCount(t, cs, "^"+m, 1)
	CallOK(t, cs, "delete_session", map[string]any{"id": "df"})
	waitCount(t, cs, "^"+m, 0)
}

func TestDoubleForkTimeout(t *testing.T) {
	eachLevel(t, testDoubleForkTimeout)
}

func testDoubleForkTimeout(t *testing.T, cs *mcp.ClientSession) {
	m, old := marker(t), marker(t)+"old"
	// A background job of an earlier command is not the timed-out command's.
	// Membership is by start time at clock-tick precision (10 ms): a job
	// started in the same tick as the next command counts as that command's,
	// so this command returns only once a later tick has begun (each awk's
	// own start tick, /proc/self/stat field 22, says which tick it is).
	sh(t, cs, fmt.Sprintf(`(exec -a %s sleep 1000 &); s=$(awk '{print $22}' /proc/self/stat); until (( $(awk '{print $22}' /proc/self/stat) > s )); do :; done`, old))
	o := execIn(t, cs, map[string]any{"command": doubleFork(m) + "; sleep 30", "timeout_ms": 1000})
	if !o.TimedOut || o.SessionEnded {
		t.Fatalf("timeout: %+v", o)
	}
	waitCount(t, cs, "^"+m, 0)
	if n := countCmdline(t, cs, "^"+old); n != 1 {
		t.Fatalf("the earlier command's background job: %d left, want 1", n)
	}
	if o := sh(t, cs, "echo alive"); o.Stdout != "alive\n" {
		t.Fatalf("session after the timeout: %+v", o)
	}
}

// Through the tools, as an agent would: touching /sys fails, writes to every
// visible cgroup.procs and limit file fail, a 1 GiB allocation is still
// killed under --memory 256M, and the server lives.
func TestCgroupEscapeThroughTools(t *testing.T) {
	cs := Connect(t, "--memory", "256M", "--pids", "64")
	var info struct {
		Level  string          `json:"level"`
		Layers map[string]bool `json:"layers"`
	}
	Structured(t, CallOK(t, cs, "sandbox_info", nil), &info)
	if !info.Layers["cgroup_confined"] {
		if info.Level == "none" {
			// The writes below would reach the host's cgroups.
			t.Skip("level none sees the host's cgroups (reported as cgroup_confined false)")
		}
		t.Fatalf("cgroup_confined false at level %s", info.Level)
	}
	if o := sh(t, cs, "touch /sys/x || touch /sys/fs/cgroup/x"); o.ExitCode == 0 {
		t.Fatalf("touch under /sys succeeded: %+v", o)
	}
	o := sh(t, cs, `n=0; for f in $(find /sys/fs/cgroup -name cgroup.procs -o -name tasks); do echo $$ > $f 2>/dev/null && n=$((n+1)); done
for f in $(find /sys/fs/cgroup -name pids.max -o -name 'memory.*limit_in_bytes' -o -name memory.max -o -name cpu.cfs_quota_us -o -name cpu.max); do echo max > $f 2>/dev/null && n=$((n+1)); echo -1 > $f 2>/dev/null && n=$((n+1)); done; echo $n`)
	if o.Stdout != "0\n" {
		t.Fatalf("cgroup writes succeeded: %+v", o)
	}
	o = sh(t, cs, `/usr/bin/python3 -c "b=bytearray(1<<30); print('allocated')"`)
	if o.ExitCode == 0 || strings.Contains(o.Stdout, "allocated") {
		t.Fatalf("1 GiB allocated under --memory 256M: %+v", o)
	}
	if o := sh(t, cs, "echo alive"); o.Stdout != "alive\n" {
		t.Fatalf("after the allocation: %+v", o)
	}
}
