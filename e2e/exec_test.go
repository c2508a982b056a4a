package e2e

// End-to-end tests of sessions and command execution (exec, exec_stream,
// create/list/delete_session) through the real binary and the Go SDK client.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type execOut struct {
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutEncoding  string `json:"stdout_encoding"`
	StdoutTruncated bool   `json:"stdout_truncated"`
	StdoutBytes     int64  `json:"stdout_bytes"`
	ExitCode        int    `json:"exit_code"`
	Success         bool   `json:"success"`
	TimedOut        bool   `json:"timed_out"`
	SessionEnded    bool   `json:"session_ended"`
	Session         string `json:"session"`
	Cwd             string `json:"cwd"`
	Note            string `json:"note"`
	DurationMs      int64  `json:"duration_ms"`
	StateLost       bool   `json:"state_lost"`
}

func execIn(t *testing.T, cs *mcp.ClientSession, args map[string]any) execOut {
	t.Helper()
	var o execOut
	Structured(t, CallOK(t, cs, "exec", args), &o)
	return o
}

func sh(t *testing.T, cs *mcp.ClientSession, cmd string) execOut {
	t.Helper()
	return execIn(t, cs, map[string]any{"command": cmd})
}

func TestExecStatePersists(t *testing.T) {
	dir := t.TempDir() // outside the workdir: bound in with --rw (the host's /tmp is not the sandbox's)
	cs := Connect(t, "--rw", dir)
	sh(t, cs, "cd "+dir+" && export FOO=bar && x=5 && f() { echo fn-$1; } && alias ll='echo aliased' && set -o pipefail")
	o := sh(t, cs, `echo "$PWD $FOO $x"; f 1; ll; shopt -o pipefail | tr -s ' \t' ' '`)
	want := dir + " bar 5\nfn-1\naliased\npipefail on\n"
	if o.Stdout != want || o.Cwd != dir {
		t.Fatalf("state lost: stdout %q cwd %q, want %q", o.Stdout, o.Cwd, want)
	}
	// per-call cwd/env apply to one command only; null unsets
	o = execIn(t, cs, map[string]any{"command": `echo "$PWD $FOO ${BAR-unset}"; cd /`, "cwd": "/usr", "env": map[string]any{"FOO": nil, "BAR": "b"}})
	if o.Stdout != "/usr  b\n" {
		t.Fatalf("per-call overrides: %q", o.Stdout)
	}
	o = sh(t, cs, `echo "$PWD $FOO ${BAR-unset}"`)
	if o.Stdout != dir+" bar unset\n" {
		t.Fatalf("overrides leaked into the session: %q", o.Stdout)
	}
	// a second session never sees the first one's state
	CallOK(t, cs, "create_session", map[string]any{"id": "other"})
	o = execIn(t, cs, map[string]any{"session": "other", "command": `echo "${FOO-none} ${x-none}"; type f 2>&1 | head -1`})
	if !strings.HasPrefix(o.Stdout, "none none\n") || !strings.Contains(o.Stdout, "not found") {
		t.Fatalf("sessions share state: %q", o.Stdout)
	}
	// the shell's own plumbing (its setup script) stays out of the environment
	if o := sh(t, cs, `env | grep -c '^__sbx' || true; declare -p __sbx_setup 2>&1 | grep -c 'not found'`); o.Stdout != "0\n1\n" {
		t.Fatalf("setup variable visible: %q", o.Stdout)
	}
}

func TestExecAnyCommandText(t *testing.T) {
	cs := Connect(t)
	o := sh(t, cs, "cat <<'EOF'\nline $HOME\n'quoted\"\nEOF")
	if o.Stdout != "line $HOME\n'quoted\"\n" {
		t.Fatalf("heredoc: %q", o.Stdout)
	}
	res := Call(t, cs, "exec", map[string]any{"command": "echo 'unbalanced"})
	var u execOut
	Structured(t, res, &u)
	if res.IsError || u.ExitCode != 2 || !strings.Contains(u.Stderr, "unexpected EOF") || u.SessionEnded {
		t.Fatalf("unbalanced quote: %+v", u)
	}
	// text that looks like the internal framing
	o = sh(t, cs, "echo '__sbx_post 1 0'; __sbx_r() { :; }; echo \"$__sbx_c\" | head -c 0; printf 'a\\0b\\n' | od -c | head -1")
	if !strings.HasPrefix(o.Stdout, "__sbx_post 1 0\n") {
		t.Fatalf("marker look-alike: %+v", o)
	}
	if o := sh(t, cs, "echo still-alive"); o.Stdout != "still-alive\n" {
		t.Fatalf("session broken after marker look-alike: %+v", o)
	}
	// a 10 MiB script (far beyond bash -c's 128 KiB argument limit)
	var b strings.Builder
	for b.Len() < 10<<20 {
		b.WriteString("v=$((v+1)) # padding padding padding padding padding padding padding\n")
	}
	b.WriteString("echo $v")
	o = sh(t, cs, b.String())
	if n, _ := strconv.Atoi(strings.TrimSpace(o.Stdout)); n < 100000 || o.ExitCode != 0 {
		t.Fatalf("10 MiB script: %+v", o)
	}
	// stdin: given, or EOF at once
	o = execIn(t, cs, map[string]any{"command": "cat; echo; wc -l", "stdin": "one\ntwo\n"})
	if o.Stdout != "one\ntwo\n\n0\n" {
		t.Fatalf("stdin: %q", o.Stdout)
	}
	o = execIn(t, cs, map[string]any{"command": "cat; read x; echo rc=$?", "timeout_ms": 10000})
	if o.Stdout != "rc=1\n" || o.TimedOut {
		t.Fatalf("stdin should be empty: %+v", o)
	}
	// a command that redirects the shell's own stdout and stderr for good
	// does not take the next command's output with it
	if o = sh(t, cs, "exec >/dev/null 2>&1; echo hidden; echo hidden >&2"); o.Stdout != "" || o.Stderr != "" {
		t.Fatalf("exec >/dev/null: %+v", o)
	}
	if o = sh(t, cs, "echo visible; echo err >&2"); o.Stdout != "visible\n" || o.Stderr != "err\n" {
		t.Fatalf("after exec >/dev/null: %+v", o)
	}
	// a command sees only its stdio: the shell's command stream is not inherited
	if o = sh(t, cs, `ls /proc/self/fd | tr '\n' ' '; echo "$0"`); o.Stdout != "0 1 2 3 bash\n" {
		t.Fatalf("descriptors of a command (3 is ls's own) and $0: %q", o.Stdout)
	}
	// non-ASCII records are framed by bytes, whatever the session's locale
	for _, loc := range []string{"", "export LC_ALL=C", "export LC_ALL=C.UTF-8", "unset LC_ALL; export LANG=C"} {
		if loc != "" {
			sh(t, cs, loc)
		}
		o = execIn(t, cs, map[string]any{"command": "echo \"héllo 日本 🙂 $X\"; cat; pwd", "stdin": "ünï\n",
			"env": map[string]any{"X": "ẋ"}, "cwd": "/tmp"})
		if o.Stdout != "héllo 日本 🙂 ẋ\nünï\n/tmp\n" || o.ExitCode != 0 {
			t.Fatalf("%q, then non-ASCII command, stdin and env: %+v", loc, o)
		}
		if o := sh(t, cs, "echo ascii-after"); o.Stdout != "ascii-after\n" {
			t.Fatalf("%q: framing after a non-ASCII command: %+v", loc, o)
		}
	}
	// short commands travel inside the header block (80 bytes at most):
	// lengths around that, glob characters, trailing blanks and newlines
	// come through as typed, with stdin and per-call env
	for n := 60; n <= 100; n++ {
		cmd := "printf '[%s]' '*?  ' \"$X\"; cat #"
		cmd += strings.Repeat("#", n-len(cmd)-2) + " \n"
		o = execIn(t, cs, map[string]any{"command": cmd, "stdin": "in", "env": map[string]any{"X": "x y"}})
		if len(cmd) != n || o.Stdout != "[*?  ][x y]in" || o.ExitCode != 0 {
			t.Fatalf("%d-byte command %q: %+v", len(cmd), cmd, o)
		}
		plain := "printf '[%s]' '*?  ' #"
		plain += strings.Repeat("#", n-len(plain)-2) + " \n"
		if o = sh(t, cs, plain); len(plain) != n || o.Stdout != "[*?  ]" || o.ExitCode != 0 {
			t.Fatalf("%d-byte command %q: %+v", len(plain), plain, o)
		}
	}
	// invalid UTF-8 is carried as base64, never mangled
	o = sh(t, cs, `printf 'a\377b'`)
	if got, _ := base64.StdEncoding.DecodeString(o.Stdout); o.StdoutEncoding != "base64" || string(got) != "a\xffb" {
		t.Fatalf("binary output: %+v", o)
	}
}

func TestExecExitCodes(t *testing.T) {
	cs := Connect(t)
	res := Call(t, cs, "exec", map[string]any{"command": "false"})
	var o execOut
	Structured(t, res, &o)
	if res.IsError || o.ExitCode != 1 || o.Success {
		t.Fatalf("false: isError=%v %+v", res.IsError, o)
	}
	o = sh(t, cs, "no-such-command-xyz")
	if o.ExitCode != 127 || !strings.Contains(o.Stderr, "not found") {
		t.Fatalf("unknown command: %+v", o)
	}
	CallOK(t, cs, "create_session", map[string]any{"id": "keep"})
	execIn(t, cs, map[string]any{"session": "keep", "command": "K=kept"})
	sh(t, cs, "x=1")
	o = sh(t, cs, "exit 42")
	if o.ExitCode != 42 || !o.SessionEnded {
		t.Fatalf("exit 42: %+v", o)
	}
	if o := sh(t, cs, "echo ${x-fresh}"); o.Stdout != "fresh\n" {
		t.Fatalf("after exit: %+v", o)
	}
	if o := execIn(t, cs, map[string]any{"session": "keep", "command": "echo $K"}); o.Stdout != "kept\n" {
		t.Fatalf("other session touched by exit: %+v", o)
	}
	// none of these may wedge the session
	for _, c := range []string{"exec bash", "exec 1>&-", "exec 2>/dev/null", "trap '' INT TERM", "set -e; false", "set -u", "exec 3>&-", "exec 254>&-", "exec 252>/dev/null 254>&-", "unalias -a", "shopt -u expand_aliases", "IFS=x", "(", "if true; then", "alias true=false"} {
		execIn(t, cs, map[string]any{"command": c, "timeout_ms": 20000})
		if o := execIn(t, cs, map[string]any{"command": "echo ok; echo err >&2", "timeout_ms": 20000}); o.Stdout != "ok\n" || o.Stderr != "err\n" {
			t.Fatalf("after %q: %+v", c, o)
		}
	}
	// Closing the shell's descriptor of its FIFO directory (253) makes the
	// next command fail to open its output, with status 1; the shell then
	// restores it and every later command runs.
	for _, c := range []string{"exec 253<&-", "exec 253</"} {
		execIn(t, cs, map[string]any{"command": c, "timeout_ms": 20000})
		if o := execIn(t, cs, map[string]any{"command": "echo first", "timeout_ms": 20000}); o.Stdout != "first\n" && (o.ExitCode != 1 || o.Stdout != "") {
			t.Fatalf("first command after %q: %+v", c, o)
		}
		if o := execIn(t, cs, map[string]any{"command": "echo ok; echo err >&2", "timeout_ms": 20000}); o.Stdout != "ok\n" || o.Stderr != "err\n" {
			t.Fatalf("after %q: %+v", c, o)
		}
	}
}

func TestExecQueueAndParallel(t *testing.T) {
	cs := Connect(t)
	var wg sync.WaitGroup
	outs := make([]string, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = sh(t, cs, fmt.Sprintf("echo START-%d; sleep 0.1; echo END-%d", i, i)).Stdout
		}()
	}
	wg.Wait()
	for i, o := range outs {
		if o != fmt.Sprintf("START-%d\nEND-%d\n", i, i) {
			t.Fatalf("call %d interleaved: %q", i, o)
		}
	}
	for _, id := range []string{"a", "b", "c"} {
		CallOK(t, cs, "create_session", map[string]any{"id": id})
	}
	start := time.Now()
	for _, id := range []string{"a", "b", "c"} {
		wg.Add(1)
		go func() { defer wg.Done(); execIn(t, cs, map[string]any{"session": id, "command": "sleep 1"}) }()
	}
	wg.Wait()
	if d := time.Since(start); d > 2900*time.Millisecond {
		t.Fatalf("3 sessions × sleep 1 took %v: sessions do not run in parallel", d)
	}
}

func TestExecTimeout(t *testing.T) {
	cs := Connect(t)
	sh(t, cs, "y=survives")
	o := execIn(t, cs, map[string]any{"command": "echo partial; setsid sleep 31 & sleep 30", "timeout_ms": 1000})
	if !o.TimedOut || o.ExitCode != 124 || o.Stdout != "partial\n" || o.SessionEnded {
		t.Fatalf("timeout: %+v", o)
	}
	if n := countCmdline(t, cs, "^sleep 3[01] $"); n != 0 {
		t.Fatalf("%d sleep processes survived the timeout", n)
	}
	if o := sh(t, cs, "echo $y"); o.Stdout != "survives\n" {
		t.Fatalf("session state lost after timeout: %+v", o)
	}
	// the runaway is the shell itself: it is restarted and the result says so
	o = execIn(t, cs, map[string]any{"command": "while :; do :; done", "timeout_ms": 500})
	if !o.TimedOut || o.ExitCode != 124 || !o.SessionEnded || !strings.Contains(o.Note, "restarted") {
		t.Fatalf("builtin loop: %+v", o)
	}
	if o := sh(t, cs, "echo back"); o.Stdout != "back\n" {
		t.Fatalf("after restart: %+v", o)
	}
}

func TestExecBackgroundChildDoesNotLeak(t *testing.T) {
	cs := Connect(t)
	start := time.Now()
	o := sh(t, cs, "(sleep 1; echo late) & echo early")
	if o.Stdout != "early\n" || time.Since(start) > 900*time.Millisecond {
		t.Fatalf("background child held the call: %+v after %v", o, time.Since(start))
	}
	time.Sleep(1500 * time.Millisecond)
	if o := sh(t, cs, "echo next"); o.Stdout != "next\n" {
		t.Fatalf("late output leaked: %q", o.Stdout)
	}
	o = sh(t, cs, "(sleep 0.5; echo late2) & echo early2")
	if o2 := sh(t, cs, "sleep 1; echo next2"); o2.Stdout != "next2\n" {
		t.Fatalf("late output leaked into a running command: %q", o2.Stdout)
	}
}

func TestExecLargeOutputBounded(t *testing.T) {
	cs := Connect(t)
	o := sh(t, cs, "head -c 50000000 /dev/zero | tr '\\0' 'x'; echo; echo tail-marker")
	if !o.StdoutTruncated || o.StdoutBytes != 50000000+1+12 || !strings.HasSuffix(o.Stdout, "tail-marker\n") || !strings.Contains(o.Stdout, "bytes truncated") {
		t.Fatalf("truncation: truncated=%v bytes=%d len=%d", o.StdoutTruncated, o.StdoutBytes, len(o.Stdout))
	}
	if len(o.Stdout) > 300<<10 {
		t.Fatalf("result holds %d bytes, cap is 256 KiB", len(o.Stdout))
	}
	if rss := serverHWM(t); rss > 100<<20 {
		t.Fatalf("server peak RSS %d MiB after 50 MB of output", rss>>20)
	}
	o = execIn(t, cs, map[string]any{"command": "seq 1 100000", "max_output_bytes": 1000})
	if !o.StdoutTruncated || len(o.Stdout) > 1100 || !strings.HasPrefix(o.Stdout, "1\n2\n") || !strings.HasSuffix(o.Stdout, "100000\n") {
		t.Fatalf("max_output_bytes: %q", o.Stdout)
	}
}

// serverHWM returns the peak RSS of the sbx-mcp server process started by
// this test binary: a child of this process named like the binary (the
// sandbox init is the server's child, not ours). It reads only
// /proc/<pid>/status, which stays readable when the server has made itself
// non-dumpable; exe and environ do not, for an unprivileged test run.
func serverHWM(t *testing.T) int64 {
	t.Helper()
	name := filepath.Base(Build(t))
	if len(name) > 15 { // TASK_COMM_LEN - 1
		name = name[:15]
	}
	ents, _ := filepath.Glob("/proc/[0-9]*")
	var best int64
	for _, p := range ents {
		st, err := os.ReadFile(p + "/status")
		if err != nil {
			continue
		}
		var comm string
		var ppid int
		var hwm int64
		for _, l := range strings.Split(string(st), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && f[0] == "Name:" {
				comm = f[1]
			}
			if len(f) >= 2 && f[0] == "PPid:" {
				ppid, _ = strconv.Atoi(f[1])
			}
			if len(f) >= 2 && f[0] == "VmHWM:" {
				hwm, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
		if comm == name && ppid == os.Getpid() && hwm*1024 > best {
			best = hwm * 1024
		}
	}
	if best == 0 {
		t.Fatal("server process not found")
	}
	return best
}

func TestExecStreamProgress(t *testing.T) {
	cs, log := ConnectProgress(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	params := &mcp.CallToolParams{Name: "exec_stream", Arguments: map[string]any{"command": "for i in 1 2 3 4 5; do echo line-$i; echo err-$i >&2; sleep 0.3; done"}}
	params.SetProgressToken("tok-1")
	res, err := cs.CallTool(ctx, params)
	done := time.Now()
	if err != nil || res.IsError {
		t.Fatalf("exec_stream: %v %v", err, res)
	}
	var o execOut
	Structured(t, res, &o)
	if o.Stdout != "line-1\nline-2\nline-3\nline-4\nline-5\n" {
		t.Fatalf("final result: %+v", o)
	}
	notes := log.Notes()
	if len(notes) < 5 {
		t.Fatalf("only %d progress notifications", len(notes))
	}
	if d := done.Sub(notes[0].At); d < time.Second {
		t.Fatalf("first chunk arrived only %v before the result: not streamed", d)
	}
	var got [2]strings.Builder
	last := -1.0
	for _, note := range notes {
		n := note.Params
		if n.ProgressToken != "tok-1" || n.Progress <= last {
			t.Fatalf("bad notification %+v (last progress %v)", n, last)
		}
		last = n.Progress
		stream, _ := n.Meta["stream"].(string)
		switch stream {
		case "stdout":
			got[0].WriteString(n.Message)
		case "stderr":
			got[1].WriteString(n.Message)
		default:
			t.Fatalf("notification without _meta.stream: %+v", n)
		}
	}
	if got[0].String() != o.Stdout || !strings.HasPrefix(got[1].String(), "err-1\n") {
		t.Fatalf("streamed stdout %q stderr %q", got[0].String(), got[1].String())
	}
}

func TestExecCancel(t *testing.T) {
	cs := Connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "exec", Arguments: map[string]any{"command": "sleep 33"}})
		errc <- err
	}()
	time.Sleep(700 * time.Millisecond)
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("cancelled call returned a result")
	}
	start := time.Now()
	o := sh(t, cs, "echo after-cancel")
	if o.Stdout != "after-cancel\n" || time.Since(start) > 10*time.Second {
		t.Fatalf("session after cancel: %+v", o)
	}
	if n := countCmdline(t, cs, "^sleep 33 $"); n != 0 {
		t.Fatalf("cancelled command still running (%d)", n)
	}
}

func TestSessionsLifecycle(t *testing.T) {
	dir := t.TempDir() // outside the workdir: bound in with --rw
	cs := Connect(t, "--rw", dir)
	res := Call(t, cs, "exec", map[string]any{"command": "true", "session": "nope"})
	if !res.IsError || !strings.Contains(Text(res), "create_session") {
		t.Fatalf("unknown session: %s", Text(res))
	}
	var c struct{ ID, Cwd string }
	Structured(t, CallOK(t, cs, "create_session", map[string]any{"id": "w1", "cwd": dir, "env": map[string]any{"GREETING": "hi"}}), &c)
	if c.ID != "w1" || c.Cwd != dir {
		t.Fatalf("create_session: %+v", c)
	}
	if res := Call(t, cs, "create_session", map[string]any{"id": "w1"}); !res.IsError {
		t.Fatal("duplicate id accepted")
	}
	if res := Call(t, cs, "create_session", map[string]any{"id": "bad id!"}); !res.IsError {
		t.Fatal("invalid id accepted")
	}
	if o := execIn(t, cs, map[string]any{"session": "w1", "command": "echo $GREETING $PWD; echo $CI $PAGER $TERM"}); o.Stdout != "hi "+dir+"\n1 cat dumb\n" {
		t.Fatalf("session env: %q", o.Stdout)
	}
	execIn(t, cs, map[string]any{"session": "w1", "command": "setsid sh -c 'while :; do sleep 0.2; done' >/dev/null 2>&1 & W=1"})
	var l struct {
		Sessions []struct {
			ID   string `json:"id"`
			Cwd  string `json:"cwd"`
			Busy bool   `json:"busy"`
		} `json:"sessions"`
	}
	Structured(t, CallOK(t, cs, "list_sessions", nil), &l)
	if len(l.Sessions) != 1 || l.Sessions[0].ID != "w1" || l.Sessions[0].Cwd != dir {
		t.Fatalf("list_sessions: %+v", l)
	}
	CallOK(t, cs, "delete_session", map[string]any{"id": "w1"})
	if n := countCmdline(t, cs, "^sh -c while :; do sleep 0.2"); n != 0 {
		t.Fatalf("delete_session left %d setsid loops", n)
	}
	if res := Call(t, cs, "delete_session", map[string]any{"id": "w1"}); !res.IsError {
		t.Fatal("deleting twice succeeded")
	}
	CallOK(t, cs, "create_session", map[string]any{"id": "w1"})
	if o := execIn(t, cs, map[string]any{"session": "w1", "command": "echo ${W-fresh}"}); o.Stdout != "fresh\n" {
		t.Fatalf("reused id kept state: %q", o.Stdout)
	}
}

// Arguments as models send them, through a real client: null for every
// unused optional, integral floats, env as NAME=value strings with
// unset_env, the legacy env object, and every problem at once.
func TestExecArgumentsAsModelsSend(t *testing.T) {
	cs := Connect(t)
	sh(t, cs, "export KEEP=k GONE=g")
	o := execIn(t, cs, map[string]any{"command": `echo "$A|$B|${GONE-unset}|$KEEP"`, "session": nil, "cwd": nil,
		"stdin": nil, "timeout_ms": 30000.0, "max_output_bytes": 1e4, "env": []string{"A=1", "B=x=y"}, "unset_env": []string{"GONE"}})
	if o.Stdout != "1|x=y|unset|k\n" || o.ExitCode != 0 {
		t.Fatalf("list env, nulls, integral floats: %+v", o)
	}
	o = execIn(t, cs, map[string]any{"command": `echo "$A|${GONE-unset}"`, "env": map[string]any{"A": "2", "GONE": nil}})
	if o.Stdout != "2|unset\n" {
		t.Fatalf("legacy env object: %+v", o)
	}
	res := Call(t, cs, "exec", map[string]any{"command": nil, "timeout_ms": 1.5, "bogus": 1})
	text := Text(res)
	if !res.IsError {
		t.Fatalf("bad arguments accepted: %s", text)
	}
	for _, want := range []string{`"command" must not be null`, `"timeout_ms" must be an integer, got 1.5`, `unknown argument "bogus"`} {
		if !strings.Contains(text, want) {
			t.Errorf("error %q lacks %q", text, want)
		}
	}
	res = Call(t, cs, "exec", map[string]any{"command": "true", "env": []string{"NOEQUALS"}})
	if text := Text(res); !res.IsError || !strings.Contains(text, "NAME=value") {
		t.Errorf("env entry without '=': %q", text)
	}
}

// One invalid byte does not turn a stream into base64: 2,000 lines and one
// Latin-1 é come back as text with the byte replaced and counted; raw: true
// and mostly binary output still give base64.
func TestExecMixedEncoding(t *testing.T) {
	cs := Connect(t)
	const cmd = `seq 1 2000; printf 'caf\351\n'`
	var o struct {
		execOut
		Replaced int `json:"stdout_replaced_bytes"`
	}
	res := CallOK(t, cs, "exec", map[string]any{"command": cmd})
	Structured(t, res, &o)
	if o.StdoutEncoding != "utf-8-lossy" || o.Replaced != 1 || !strings.HasPrefix(o.Stdout, "1\n2\n") ||
		!strings.HasSuffix(o.Stdout, "2000\ncaf\uFFFD\n") {
		t.Fatalf("mixed stream: encoding %s, replaced %d, tail %q", o.StdoutEncoding, o.Replaced, o.Stdout[max(0, len(o.Stdout)-20):])
	}
	if text := Text(res); !strings.Contains(text, "utf-8-lossy: 1 invalid bytes") || !strings.Contains(text, "caf\uFFFD") {
		t.Errorf("text block: %.300q", text)
	}
	o.Replaced = 0
	Structured(t, CallOK(t, cs, "exec", map[string]any{"command": cmd, "raw": true}), &o)
	if got, _ := base64.StdEncoding.DecodeString(o.Stdout); o.StdoutEncoding != "base64" || !strings.HasSuffix(string(got), "2000\ncaf\xe9\n") || o.Replaced != 0 {
		t.Fatalf("raw: encoding %s, replaced %d", o.StdoutEncoding, o.Replaced)
	}
	Structured(t, CallOK(t, cs, "exec", map[string]any{"command": `printf 'x\200\201\202\203\204\205\206\207\210'`}), &o)
	if o.StdoutEncoding != "base64" {
		t.Fatalf("mostly binary: %+v", o)
	}
}

// A default exec result stays under ~80 KB in all (both streams, text
// block and structuredContent) however much the command prints;
// max_output_bytes asks for more.
func TestExecDefaultResultSmall(t *testing.T) {
	cs := Connect(t)
	res := CallOK(t, cs, "exec", map[string]any{"command": "seq 1 200000; seq 1 200000 >&2"})
	raw, _ := json.Marshal(res)
	if len(raw) > 80_000 {
		t.Fatalf("default result is %d bytes", len(raw))
	}
	var o execOut
	Structured(t, CallOK(t, cs, "exec", map[string]any{"command": "seq 1 200000", "max_output_bytes": 200_000}), &o)
	if len(o.Stdout) < 190_000 {
		t.Fatalf("max_output_bytes 200000 kept %d bytes", len(o.Stdout))
	}
}
