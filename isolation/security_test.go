package isolation

// The attack suite of issue 3. Each test names the check it covers. They run
// at the level the host allows (full as root, userns as nobody) and insist on
// a namespace level when SBX_REQUIRE_ISOLATION=1.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Check 1: the canary is neither in a sandbox process's env nor in any
// readable /proc/*/environ.
func TestSecCanaryNotVisible(t *testing.T) {
	s := nsSandbox(t, Config{})
	if os.Getenv(strings.SplitN(canary, "=", 2)[0]) == "" {
		t.Fatal("canary not set in the test process")
	}
	r := run(t, s, `env; echo ---; for f in /proc/[0-9]*/environ; do cat "$f" 2>/dev/null | tr '\0' '\n'; done; echo ---; sleep 0.1`)
	if strings.Contains(r.stdout, "c4n4ry") {
		t.Fatalf("canary leaked:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "CI=1") {
		t.Fatalf("env not read: %v", r)
	}
}

// Check 2: the server's host pid is invisible; /proc/1 is our init and its
// cmdline carries no configuration.
func TestSecPidNamespace(t *testing.T) {
	s := nsSandbox(t, Config{})
	r := run(t, s, `tr '\0' ' ' < /proc/1/cmdline; echo; for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f"; echo; done; echo ---; ls -d /proc/[0-9]* | wc -l`)
	lines := strings.Split(r.stdout, "\n")
	want := initArgv0 + " " + initArg + " "
	if !canReduceInPlace() { // a cgo test binary: init re-executed itself
		want += stage2Arg + " "
	}
	if lines[0] != want {
		t.Fatalf("/proc/1/cmdline = %q", lines[0])
	}
	exe, _ := os.Executable()
	for _, l := range lines[1:] {
		if strings.Contains(l, filepath.Base(exe)) || strings.Contains(l, "-test.") {
			t.Fatalf("a host process is visible: %q", l)
		}
	}
	// A pid namespace has few processes; the host has many more.
	n, _ := strconv.Atoi(strings.TrimSpace(lines[len(lines)-2]))
	if n == 0 || n > 10 {
		t.Fatalf("%d processes visible in the sandbox:\n%s", n, r.stdout)
	}
	if r := run(t, s, fmt.Sprintf(`kill -0 %d`, os.Getpid())); r.exit.Code == 0 {
		// the number may exist in the namespace by chance; then it is not us
		if strings.Contains(run(t, s, fmt.Sprintf(`cat /proc/%d/cmdline`, os.Getpid())).stdout, "-test.") {
			t.Fatal("server visible by pid")
		}
	}
}

// Check 3: kill -9 -1, kill -9 0 and kill -9 1 from inside leave init and the
// server running.
func TestSecKillFromInside(t *testing.T) {
	s := nsSandbox(t, Config{})
	if r := run(t, s, "sleep 30 & kill -9 -1; echo rc=$?; kill %1"); !strings.Contains(r.stdout, "rc=1") || !strings.Contains(r.stderr, "not permitted") {
		t.Fatalf("kill -9 -1 should be refused by seccomp: %v", r)
	}
	for _, cmd := range []string{"kill -9 -1", "kill -9 0", "kill -9 1", "kill -TERM 1; kill -INT 1; kill -HUP 1; kill -SEGV 1; kill -QUIT 1"} {
		run(t, s, cmd+"; sleep 0.1")
		r := run(t, s, "echo alive")
		if r.stdout != "alive\n" {
			t.Fatalf("after %q: %v", cmd, r)
		}
		var out struct{ S string }
		if err := s.Do(context.Background(), "test.echo", map[string]any{"s": "x"}, &out); err != nil || out.S != "x" {
			t.Fatalf("init after %q: %v", cmd, err)
		}
	}
}

// Check 4: the mount family and namespace entry fail.
func TestSecMountAndNamespaces(t *testing.T) {
	s := nsSandbox(t, Config{})
	for _, cmd := range []string{
		"umount /proc", "umount -l /proc", "mount -t tmpfs x /mnt", "mount -t proc proc /mnt",
		"unshare -m true", "unshare -U true", "unshare -p -f true", "nsenter -t 1 -m true",
	} {
		r := run(t, s, cmd)
		if r.exit.Code == 0 {
			t.Errorf("%q succeeded: %v", cmd, r)
		}
	}
	// and /proc is still the sandbox's
	if r := run(t, s, "tr '\\0' ' ' < /proc/1/cmdline"); !strings.HasPrefix(r.stdout, initArgv0) {
		t.Fatalf("/proc changed: %v", r)
	}
	// clone3 is ENOSYS (glibc falls back), plain fork works.
	r := run(t, s, "/usr/bin/python3 -c 'import os; pid=os.fork(); os._exit(0) if pid==0 else print(os.waitpid(pid,0)[1])'")
	if r.stdout != "0\n" {
		t.Fatalf("fork: %v", r)
	}
}

// Check 5: CapEff lacks CAP_SYS_ADMIN and CAP_SYS_PTRACE (and the other
// capabilities outside Docker's default set).
func TestSecCapabilities(t *testing.T) {
	s := nsSandbox(t, Config{})
	r := run(t, s, `grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status`)
	fields := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		k, v, _ := strings.Cut(l, ":")
		fields[k] = strings.TrimSpace(v)
	}
	for _, k := range []string{"CapEff", "CapBnd"} {
		v, err := strconv.ParseUint(fields[k], 16, 64)
		if err != nil {
			t.Fatalf("%s: %v", k, r)
		}
		for _, c := range []uint{21, 19, 16, 22, 17, 25, 12} { // SYS_ADMIN, SYS_PTRACE, SYS_MODULE, SYS_BOOT, SYS_RAWIO, SYS_TIME, NET_ADMIN
			if v&(1<<c) != 0 {
				t.Errorf("%s %s has capability %d", k, fields[k], c)
			}
		}
		if v&^keptCapsMask() != 0 {
			t.Errorf("%s %s exceeds Docker's default set", k, fields[k])
		}
	}
	if fields["NoNewPrivs"] != "1" || fields["Seccomp"] != "2" {
		t.Errorf("status: %v", fields)
	}
	info := s.Info()
	for _, l := range []string{"caps_dropped", "seccomp", "no_new_privs", "fresh_proc", "pid_ns", "mount_ns", "ipc_ns", "uts_ns", "cgroup_ns"} {
		if !info.Layers[l] {
			t.Errorf("layer %s false: %v", l, info.Reasons)
		}
	}
}

// Check 6: the child has fds 0-2 only (ls's own directory fd aside).
func TestSecNoInheritedFds(t *testing.T) {
	s := nsSandbox(t, Config{})
	r := run(t, s, `ls -l /proc/self/fd`)
	fds := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[len(f)-2] == "->" {
			fds[f[len(f)-3]] = f[len(f)-1]
		}
	}
	if len(fds) != 4 || fds["0"] != "/dev/null" || !strings.HasPrefix(fds["1"], "pipe:") ||
		!strings.HasPrefix(fds["2"], "pipe:") || !strings.HasSuffix(fds["3"], "/fd") {
		t.Fatalf("fds: %v\n%s", fds, r.stdout)
	}
	// bash itself: nothing beyond 0-2 either. Not through a pipeline: while
	// bash sets one up it holds the pipe's own descriptors for a moment.
	// The "; true" keeps bash from exec'ing ls in its own place.
	if r := run(t, s, `ls /proc/$$/fd; true`); strings.Join(strings.Fields(r.stdout), " ") != "0 1 2" {
		t.Fatalf("bash fds: %v", r)
	}
}

// Check 7: no controlling terminal; the hostname change stays inside.
func TestSecTTYAndHostname(t *testing.T) {
	s := nsSandbox(t, Config{})
	if r := run(t, s, `echo x > /dev/tty`); r.exit.Code == 0 {
		t.Fatalf("/dev/tty writable: %v", r)
	}
	before, _ := os.Hostname()
	r := run(t, s, `hostname; hostname other && hostname`)
	after, _ := os.Hostname()
	if after != before {
		t.Fatalf("host hostname changed from %q to %q", before, after)
	}
	if !strings.HasPrefix(r.stdout, "sandbox\n") {
		t.Fatalf("hostname inside: %v", r)
	}
}

// Check 8: 200 orphans leave no zombies.
func TestSecOrphansReaped(t *testing.T) {
	s := nsSandbox(t, Config{})
	r := run(t, s, `for i in $(seq 200); do (sleep 0.3 &); done; echo done`)
	if r.stdout != "done\n" {
		t.Fatalf("%v", r)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := run(t, s, `n=0; for f in /proc/[0-9]*/stat; do read -r l < "$f" 2>/dev/null || continue; case "${l##*) }" in Z*) n=$((n+1));; esac; done; p=(/proc/[0-9]*); echo $n ${#p[@]}`)
		f := strings.Fields(r.stdout)
		if len(f) == 2 && f[0] == "0" && f[1] == "2" { // init and the scanning bash
			return
		}
		t.Logf("%s: %s", time.Now().Format("05.000"), r.stdout)
		if time.Now().After(deadline) {
			t.Fatalf("zombies/processes left: %v", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Check 9: kill -9 of the server leaves no sandbox process on the host.
func TestSecServerKill9(t *testing.T) {
	levels := []string{"auto", "off"}
	for _, iso := range levels {
		t.Run(iso, func(t *testing.T) {
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			marker := fmt.Sprintf("sbxmark%d%s", time.Now().UnixNano(), iso)
			cmd := exec.Command(exe, miniServerArg, iso, t.TempDir(), marker)
			cmd.Stderr = os.Stderr
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) // on an early failure
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "ready ") {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("mini server: %q %v", line, err)
			}
			if iso == "auto" && !strings.HasPrefix(line, "ready "+string(wantLevel())) && requireIsolation() {
				t.Fatalf("mini server level: %q", line)
			}
			sandboxPids := func() int { // the mini server's argv holds the marker too
				n := 0
				for _, pid := range hostPids(marker) {
					if pid != cmd.Process.Pid {
						n++
					}
				}
				return n
			}
			for i := 0; i < 500 && sandboxPids() != 3; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			if n := sandboxPids(); n != 3 {
				t.Fatalf("want 3 marked processes before the kill, have %d", n)
			}
			initPids := childrenOf(cmd.Process.Pid)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			took, left := waitGone(marker, 10*time.Second)
			if len(left) > 0 {
				t.Fatalf("sandbox processes survived the server: %v", left)
			}
			initDeadline := time.Now().Add(10 * time.Second)
			for _, pid := range initPids {
				for time.Now().Before(initDeadline) {
					if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				if _, err := os.Stat(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
					b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
					if strings.Contains(string(b), initArg) {
						t.Fatalf("init %d survived the server", pid)
					}
				}
			}
			t.Logf("level %s: sandbox gone %v after kill -9 of the server", strings.Fields(line)[1], took)
		})
	}
}

// childrenOf lists the pids whose parent is ppid.
func childrenOf(ppid int) []int {
	var out []int
	matches, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, m := range matches {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(m)))
		if p, ok := readStat(pid); ok && p.ppid == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// Check 10a (a fork bomb under --pids) is TestSecForkBombEveryLevel in
// limits_test.go.

// Check 10b: with --memory 128M a 1 GiB allocation dies inside and the
// server lives.
func TestSecMemoryLimit(t *testing.T) {
	s := nsSandbox(t, Config{MemoryBytes: 128 << 20})
	r := run(t, s, `/usr/bin/python3 -c "b=bytearray(1<<30); print('allocated')"`)
	if strings.Contains(r.stdout, "allocated") || r.exit.Code == 0 {
		t.Fatalf("1 GiB allocated under a 128M limit: %v", r)
	}
	if s.Info().Layers["cgroup_limits"] {
		if r.exit.Signal != int(syscall.SIGKILL) {
			t.Fatalf("want OOM kill (SIGKILL), got %v", r)
		}
	} else if !strings.Contains(r.stderr, "MemoryError") {
		t.Fatalf("want MemoryError under RLIMIT_AS, got %v", r)
	}
	if r := run(t, s, "echo ok"); r.stdout != "ok\n" {
		t.Fatalf("after OOM: %v", r)
	}
}

// Check 11: a setsid daemon is gone after teardown.
func TestSecDaemonGoneAfterClose(t *testing.T) {
	s := nsSandbox(t, Config{})
	marker := fmt.Sprintf("sbxdaemon%d", time.Now().UnixNano())
	r := run(t, s, fmt.Sprintf(`exec >/dev/null 2>&1; setsid bash -c '(exec -a %[1]s sleep 1000) & exec -a %[1]s sleep 1000' & nohup bash -c 'exec -a %[1]s sleep 1000' >/dev/null 2>&1 & sleep 0.2`, marker))
	if r.exit.Code != 0 {
		t.Fatal(r)
	}
	if n := len(hostPids(marker)); n != 3 {
		t.Fatalf("want 3 daemons, have %d", n)
	}
	s.Close()
	if _, left := waitGone(marker, 10*time.Second); len(left) > 0 {
		t.Fatalf("daemons survived Close: %v", left)
	}
}

// Check 12: --network none: no route out, lo up.
func TestSecNetworkNone(t *testing.T) {
	s := nsSandbox(t, Config{Network: "none"})
	if !s.Info().Layers["net_ns"] {
		t.Fatalf("net_ns layer false: %v", s.Info().Reasons)
	}
	r := run(t, s, `timeout 5 bash -c 'echo > /dev/tcp/1.1.1.1/53'`)
	if r.exit.Code == 0 {
		t.Fatalf("reached 1.1.1.1: %v", r)
	}
	r = run(t, s, `ip -o link show | wc -l; ip -o link show lo | grep -c '<LOOPBACK,UP,'; timeout 5 bash -c 'echo > /dev/tcp/127.0.0.1/9' 2>&1`)
	if !strings.HasPrefix(r.stdout, "1\n1\n") || !strings.Contains(r.stdout, "Connection refused") {
		t.Fatalf("want only lo, up (connection refused on 127.0.0.1:9): %v", r)
	}
}

// Kill selectors: tag (hierarchical, survives setsid), root with and without
// IncludeRoot, Since.
func TestKillSelector(t *testing.T) {
	s := startSandbox(t, Config{})
	marker := fmt.Sprintf("sbxsel%d", time.Now().UnixNano())
	spawn := func(tag, script string) *Process {
		// The marker reaches argv[0] through $M so bash's own cmdline lacks it.
		p, err := s.Spawn(context.Background(), Spec{Path: "/bin/bash", Args: []string{"bash", "-c", script}, Env: append(s.BaseEnv(), "M="+marker), Tag: tag})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// One child, and one daemon that double-forked away to init.
	daemon := `setsid bash -c '(exec -a $M sleep 1000) &'; (exec -a $M sleep 1000) & wait`
	a := spawn("S1/1", daemon)
	b := spawn("S2", daemon)
	waitN := func(n int) {
		t.Helper()
		for i := 0; i < 500 && len(hostPids(marker)) != n; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if got := len(hostPids(marker)); got != n {
			t.Fatalf("want %d marked, have %d", n, got)
		}
	}
	waitN(4)
	n, err := s.Kill(context.Background(), Selector{Tag: "S1"}, syscall.SIGKILL)
	if err != nil || n != 3 {
		t.Fatalf("kill tag S1: n=%d err=%v", n, err)
	}
	<-a.Done()
	waitN(2)
	if n, _ := s.Kill(context.Background(), Selector{Tag: "S"}, syscall.SIGKILL); n != 0 {
		t.Fatalf("tag S matched %d (prefix is not a parent tag)", n)
	}
	// Root without IncludeRoot: descendants only (the setsid one reparented
	// to init is no longer one: tags find it).
	if n, _ := s.Kill(context.Background(), Selector{Root: b.Pid}, syscall.SIGKILL); n != 1 {
		t.Fatalf("root kill: %d", n)
	}
	<-b.Done() // wait returns once its child died
	waitN(1)
	if n, _ := s.Kill(context.Background(), Selector{Tag: "S2"}, syscall.SIGKILL); n != 1 {
		t.Fatalf("tag S2: %d", n)
	}
	waitN(0)
	// Since: only descendants started after the instant. The script starts
	// its second child only after the test took the instant and wrote a line
	// to its stdin; start times have clock-tick granularity (procTicks), so
	// the instant is taken two ticks after the first child is seen.
	gate, gateW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	gate.Fd() // blocking mode: os.Pipe's descriptors are non-blocking, and bash's read would fail
	c, err := s.Spawn(context.Background(), Spec{Path: "/bin/bash", Env: append(s.BaseEnv(), "M="+marker),
		Args:  []string{"bash", "-c", `(exec -a $M sleep 1000) & read -r _; (exec -a $M-new sleep 1000) & wait`},
		Files: []*os.File{gate, nil, nil}})
	gate.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer gateW.Close()
	waitN(1)
	time.Sleep(2 * time.Second / procTicks)
	since := time.Now()
	gateW.WriteString("go\n")
	waitN(2)
	if n, _ := s.Kill(context.Background(), Selector{Root: c.Pid, Since: since}, syscall.SIGKILL); n != 1 {
		t.Fatalf("since kill: %d", n)
	}
	// SIGKILL is sent, not yet done: the new child leaves /proc shortly.
	for i := 0; i < 500 && len(hostPids(marker+"-new")) != 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if left := hostPids(marker + "-new"); len(left) != 0 {
		t.Fatalf("new child survived: %v", left)
	}
	if n, _ := s.Kill(context.Background(), Selector{Root: c.Pid, IncludeRoot: true}, syscall.SIGKILL); n != 2 {
		t.Fatalf("root+include: %d", n)
	}
	<-c.Done()
	if err := s.Signal(1, syscall.SIGKILL); err == nil && s.Info().Level != LevelNone {
		t.Fatal("Signal(1) accepted")
	}
}
