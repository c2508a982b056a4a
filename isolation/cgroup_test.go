package isolation

// Cgroup confinement (issue 13): /sys/fs/cgroup shows only the sandbox's
// own cgroups, read-only; nothing inside can leave them, retune them,
// freeze init or reach another sandbox's.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

var limitedCfg = Config{Pids: 64, MemoryBytes: 256 << 20, CPUs: 1}

// cgroupSandbox starts a namespaced sandbox with limits and checks that its
// cgroup layers hold.
func cgroupSandbox(t *testing.T) *Sandbox {
	t.Helper()
	s := nsSandbox(t, limitedCfg)
	info := s.Info()
	for _, l := range []string{"cgroup_ns", "cgroup_confined"} {
		if !info.Layers[l] {
			t.Fatalf("layer %s false: %v", l, info.Reasons)
		}
	}
	if os.Geteuid() == 0 && !info.Layers["cgroup_limits"] {
		t.Fatalf("cgroup_limits false as root: %v", info.Reasons)
	}
	return s
}

// hostLimitFiles reads every limit file of the sandbox's cgroups from the
// host: path -> content.
func hostLimitFiles(t *testing.T, s *Sandbox) map[string]string {
	t.Helper()
	out := map[string]string{}
	if s.cg == nil {
		return out
	}
	for _, dir := range s.cg.dirs {
		for _, f := range []string{"pids.max", "memory.limit_in_bytes", "memory.max", "cpu.cfs_quota_us", "cpu.max", "cgroup.freeze", "freezer.state"} {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
				out[filepath.Join(dir, f)] = string(b)
			}
		}
	}
	return out
}

// allocGiB allocates 1 GiB inside and checks that it dies under the 256M
// limit (OOM kill with cgroups, MemoryError under RLIMIT_AS).
func allocGiB(t *testing.T, s *Sandbox) {
	t.Helper()
	r := run(t, s, `/usr/bin/python3 -c "b=bytearray(1<<30); print('allocated')"`)
	if strings.Contains(r.stdout, "allocated") || r.exit.Code == 0 {
		t.Fatalf("1 GiB allocated under --memory 256M: %v", r)
	}
	if s.Info().Layers["cgroup_limits"] && r.exit.Signal != int(syscall.SIGKILL) {
		t.Fatalf("want an OOM kill, got %v", r)
	}
	if r := run(t, s, "echo ok"); r.stdout != "ok\n" {
		t.Fatalf("after the allocation: %v", r)
	}
}

// The view: only the sandbox's own cgroups, relative to its namespace,
// read-only.
func TestSecCgroupView(t *testing.T) {
	s := cgroupSandbox(t)
	r := run(t, s, `cat /proc/self/cgroup /proc/1/cgroup; find /sys/fs/cgroup -maxdepth 4 -type d; grep -h . /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/cgroup.procs 2>/dev/null | wc -l`)
	if r.exit.Code != 0 || strings.Contains(r.stdout, "sbx-mcp") {
		t.Fatalf("the sandbox sees host cgroup paths: %v", r)
	}
	t.Logf("the sandbox's view:\n%s\nreasons %v", r.stdout, s.Info().Reasons)
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[2] != "/" && f[2] != "/jobs" {
			t.Errorf("cgroup path %q outside the sandbox's namespace root", line)
		}
	}
	for _, cmd := range []string{"touch /sys/x", "touch /sys/fs/cgroup/x", "mkdir /sys/fs/cgroup/x",
		`for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do mkdir "$d/x" && exit 0; done; exit 1`,
		"mount -t tmpfs x /sys/fs/cgroup", "umount -l /sys/fs/cgroup", "mount -o remount,rw /sys/fs/cgroup"} {
		if r := run(t, s, cmd); r.exit.Code == 0 {
			t.Errorf("%q succeeded: %v", cmd, r)
		}
	}
}

// Joining any visible cgroup fails, and the memory limit still holds.
func TestSecCgroupCannotLeave(t *testing.T) {
	s := cgroupSandbox(t)
	r := run(t, s, `n=0; for f in $(find /sys/fs/cgroup -name cgroup.procs -o -name tasks -o -name cgroup.threads); do echo $$ > $f 2>/dev/null && n=$((n+1)); echo 1 > $f 2>/dev/null && n=$((n+1)); done; echo $n; cat /proc/self/cgroup`)
	if !strings.HasPrefix(r.stdout, "0\n") {
		t.Fatalf("a write to cgroup.procs/tasks succeeded: %v", r)
	}
	allocGiB(t, s)
}

// Writing max or -1 to every limit file visible changes nothing on the
// host, and the limits hold.
func TestSecCgroupLimitFiles(t *testing.T) {
	s := cgroupSandbox(t)
	before := hostLimitFiles(t, s)
	if os.Geteuid() == 0 && len(before) == 0 {
		t.Fatal("no limit files found on the host")
	}
	r := run(t, s, `n=0; for f in $(find /sys/fs/cgroup -name pids.max -o -name 'memory.*limit_in_bytes' -o -name memory.max -o -name memory.high -o -name cpu.cfs_quota_us -o -name cpu.max); do for v in max -1 9223372036854771712; do echo $v > $f 2>/dev/null && n=$((n+1)); done; done; echo $n`)
	if r.stdout != "0\n" {
		t.Fatalf("a limit write succeeded: %v", r)
	}
	if after := hostLimitFiles(t, s); !equalMaps(before, after) {
		t.Fatalf("limit files changed on the host:\nbefore %v\nafter  %v", before, after)
	}
	allocGiB(t, s)
}

// Nothing inside can freeze a cgroup, init's least of all, with job
// cgroups on v2 or on the v1 freezer (then mounted inside, read-only).
func TestSecCgroupFreezer(t *testing.T) {
	for _, mode := range jobModes {
		t.Run(mode.name, func(t *testing.T) {
			noCgroupV2 = mode.noV2
			s := cgroupSandbox(t)
			noCgroupV2 = false
			for _, cmd := range []string{
				"mkdir /sys/fs/cgroup/freezer/x",
				"mount -t cgroup -o freezer x /mnt",
				"mount -t cgroup2 x /mnt",
				`for f in $(find /sys/fs/cgroup -name cgroup.freeze -o -name freezer.state); do echo 1 > $f && exit 0; echo FROZEN > $f && exit 0; done; exit 1`,
				"echo 1 > /sys/fs/cgroup/cgroup.freeze", "echo 1 > /sys/fs/cgroup/unified/cgroup.freeze",
			} {
				if r := run(t, s, cmd); r.exit.Code == 0 {
					t.Errorf("%q succeeded: %v", cmd, r)
				}
			}
			if r := run(t, s, "echo ok"); r.stdout != "ok\n" {
				t.Fatalf("init stopped answering: %v", r)
			}
		})
	}
}

// Two sandboxes neither see nor touch each other's cgroups.
func TestSecCgroupTwoSandboxes(t *testing.T) {
	a, b := cgroupSandbox(t), cgroupSandbox(t)
	bBefore := hostLimitFiles(t, b)
	for _, name := range cgroupNames(b) {
		r := runSpec(t, a, Spec{Path: "/bin/bash", Args: []string{"bash", "-c", `find /sys/fs/cgroup 2>/dev/null | grep -c -- "$1"`, "bash", name}, Env: a.BaseEnv()})
		if r.stdout != "0\n" {
			t.Fatalf("sandbox A sees B's cgroup %s: %v", name, r)
		}
	}
	r := run(t, a, `for f in $(find /sys/fs/cgroup -type f); do for v in 1 max 4M; do echo $v > $f 2>/dev/null; done; done; echo done`)
	if r.stdout != "done\n" {
		t.Fatal(r)
	}
	if after := hostLimitFiles(t, b); !equalMaps(bBefore, after) {
		t.Fatalf("B's limit files changed:\nbefore %v\nafter  %v", bBefore, after)
	}
	if r := run(t, b, "echo ok"); r.stdout != "ok\n" {
		t.Fatalf("B after A's writes: %v", r)
	}
}

// cgroupNames are the base names of a sandbox's cgroups on the host.
func cgroupNames(s *Sandbox) []string {
	if s.cg == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, d := range s.cg.dirs {
		if n := filepath.Base(d); strings.HasPrefix(n, "sbx-mcp-") && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The cgroups of a server that died without Close (job cgroups included)
// are removed by the next server's start.
func TestCgroupSweepStale(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups needs root here")
	}
	own, err := ownCgroups()
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := cgroupMounts()
	if err != nil {
		t.Fatal(err)
	}
	dead := 4194000
	for ; dead > 1; dead-- {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(dead))); err != nil {
			break
		}
	}
	var stale string
	for _, m := range mounts {
		if m.v2 {
			stale = filepath.Join(cgPath(m, own[""]), "sbx-mcp-"+strconv.Itoa(dead)+"-1")
		}
	}
	if stale == "" {
		t.Fatal("no cgroup v2 mount")
	}
	if err := os.MkdirAll(filepath.Join(stale, "sandbox", "P", "S1", "3"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, d := range []string{"sandbox/P/S1/3", "sandbox/P/S1", "sandbox/P", "sandbox", ""} {
			os.Remove(filepath.Join(stale, d))
		}
	})
	startSandbox(t, Config{})
	if _, err := os.Stat(stale); err == nil {
		t.Fatalf("stale cgroup %s survived a new start", stale)
	}
}
