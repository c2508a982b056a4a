package e2e

// Attacks from inside the sandbox on what the server reads from it (issue
// 18): every channel is bounded and the command status cannot be forged.

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// serverMem returns VmRSS and VmHWM (bytes) of the sbx-mcp server started
// by this test binary (the largest, if several are running). It reads only
// /proc/PID/status, which stays readable when the server is non-dumpable
// (exe, fd and environ do not, for an unprivileged test run).
func serverMem(t *testing.T) (rss, hwm int64) {
	t.Helper()
	for _, pid := range serverPids(t) {
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue
		}
		r, h := statusField(st, "VmRSS:"), statusField(st, "VmHWM:")
		rss, hwm = max(rss, r*1024), max(hwm, h*1024)
	}
	if hwm == 0 {
		t.Fatal("server process not found")
	}
	return rss, hwm
}

// rssGrowthBound is how much the server's peak RSS may grow under an
// oversized write: 64 MiB, or four times that for a server built with the
// race detector, whose shadow memory multiplies every allocation (CI runs
// the suite against both; the plain build holds the real bound).
func rssGrowthBound(t *testing.T) int64 {
	t.Helper()
	if info, err := buildinfo.ReadFile(Build(t)); err == nil {
		for _, s := range info.Settings {
			if s.Key == "-race" && s.Value == "true" {
				return 4 * 64 << 20
			}
		}
	}
	return 64 << 20
}

// serverPids lists the sbx-mcp servers this test binary started: children
// of this process whose command name is the binary's.
func serverPids(t *testing.T) []int {
	t.Helper()
	name := filepath.Base(Build(t))
	if len(name) > 15 { // TASK_COMM_LEN - 1
		name = name[:15]
	}
	ents, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, p := range ents {
		st, err := os.ReadFile(p + "/status")
		if err != nil {
			continue
		}
		if !strings.HasPrefix(string(st), "Name:\t"+name+"\n") || statusField(st, "PPid:") != int64(os.Getpid()) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(p))
		pids = append(pids, pid)
	}
	return pids
}

// statusField returns the first number of a /proc/PID/status line.
func statusField(st []byte, key string) int64 {
	for _, l := range strings.Split(string(st), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == key {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// TestSecStatusNotForgeable: the run directory holds no status channel,
// and records forged by other processes for the command in flight (and the
// next ones) are ignored: the real exit code, output and cwd come back.
func TestSecStatusNotForgeable(t *testing.T) {
	dir := t.TempDir() // outside the workdir: bound in with --rw
	cs := Connect(t, "--rw", dir)
	o := sh(t, cs, `find /run/sbx-mcp -name 'status*'; find /run/sbx-mcp -type s`)
	if o.ExitCode != 0 || strings.TrimSpace(o.Stdout) != "" {
		t.Fatalf("run directory holds a status channel: %+v", o)
	}
	// A background subshell holds bash's close-on-exec copy of the status
	// socket; it floods it (and every socket and FIFO it can reach under
	// the run directory, and every socket in /proc/*/fd) with records for
	// this command and the next twenty, until told to stop.
	// Reaching bash itself (ptrace, /proc/PID/mem, its script pipe
	// through /proc/PID/fd/255) is attacked by TestSecBashUnreachable.
	o = sh(t, cs, `ready=`+dir+`/ready stop=`+dir+`/stop
forge() { local s; for ((s = $1; s < $1 + 20; s++)); do builtin printf '%s 0\0/FORGED\0' $s; done; }
(
  while [[ ! -e $stop ]]; do
    for fd in /proc/$BASHPID/fd/*; do [[ $(readlink $fd) == socket:* ]] && forge $__sbx_s >$fd; done 2>/dev/null
    for p in $(find /run/sbx-mcp -type p -o -type s) /proc/[0-9]*/fd/*; do
      [[ $p == /run/* || $(readlink $p 2>/dev/null) == socket:* ]] || continue
      timeout 1 bash -c 'forge() { local s; for ((s = $1; s < $1 + 20; s++)); do builtin printf "%s 0\0/FORGED\0" $s; done; }; forge '$__sbx_s' >'$p 2>/dev/null
    done
    touch $ready
  done
) >/dev/null 2>&1 &
echo $! >`+dir+`/attacker
while [[ ! -e $ready ]]; do sleep 0.01; done; echo started`)
	// (its records also land in this command's own output FIFO: data)
	if !strings.HasSuffix(o.Stdout, "started\n") {
		t.Fatalf("attacker: %+v", o)
	}
	for i := 0; i < 5; i++ {
		o = sh(t, cs, `cd /tmp; echo this-should-print; (exit 7)`)
		if o.ExitCode != 7 || !strings.Contains(o.Stdout, "this-should-print") || o.Cwd != "/tmp" {
			t.Fatalf("forged status accepted: %+v", o)
		}
	}
	o = sh(t, cs, `echo this-should-print; exit 7`)
	if o.ExitCode != 7 || !strings.Contains(o.Stdout, "this-should-print") || !o.SessionEnded {
		t.Fatalf("forged status accepted: %+v", o)
	}
	// Stop the attacker and wait until it is gone: while it runs, its
	// records may land in the output of the call that waits (the output
	// FIFOs are reachable from inside: data, never status).
	o = sh(t, cs, "touch "+dir+"/stop; while kill -0 $(<"+dir+"/attacker) 2>/dev/null; do sleep 0.01; done")
	if o.ExitCode != 0 || o.Cwd == "/FORGED" {
		t.Fatalf("stopping the attacker: %+v", o)
	}
	o = sh(t, cs, "echo ok")
	if o.ExitCode != 0 || o.Stdout != "ok\n" || o.Cwd == "/FORGED" {
		t.Fatalf("next call: %+v", o)
	}
}

// TestSecRunDirOversizedWrites: 1 GB written into every FIFO under the run
// directory (this session's and another's) and into a file there: the
// calls end, the server's memory stays bounded and the next calls work.
func TestSecRunDirOversizedWrites(t *testing.T) {
	cs := Connect(t)
	CallOK(t, cs, "create_session", map[string]any{"id": "other"})
	execIn(t, cs, map[string]any{"command": "true", "session": "other"})
	rss0, _ := serverMem(t)
	o := sh(t, cs, `for p in $(find /run/sbx-mcp -type p); do (head -c 1G /dev/zero >"$p" &) ; done
head -c 1G /dev/zero >/run/sbx-mcp/big; echo rc=$?; rm -f /run/sbx-mcp/big`)
	if o.TimedOut || o.SessionEnded {
		t.Fatalf("writer: exit %d, timed out %v, session ended %v, %d bytes of stdout", o.ExitCode, o.TimedOut, o.SessionEnded, o.StdoutBytes)
	}
	// A FIFO still being written to may add the writer's bytes to the next
	// command's bounded output (as /proc/PID/fd/1 of any command could);
	// it is then retired, and the command after that reads a fresh one.
	for _, s := range []string{"default", "other"} {
		o = execIn(t, cs, map[string]any{"command": "echo next-call-works", "session": s})
		if o.ExitCode != 0 || o.TimedOut || o.SessionEnded {
			t.Fatalf("session %s after the writes: exit %d, timed out %v, ended %v", s, o.ExitCode, o.TimedOut, o.SessionEnded)
		}
		o = execIn(t, cs, map[string]any{"command": "echo next-call-works", "session": s})
		if o.ExitCode != 0 || o.Stdout != "next-call-works\n" {
			t.Fatalf("session %s, second call after the writes: exit %d, %d bytes of stdout", s, o.ExitCode, o.StdoutBytes)
		}
	}
	if _, hwm := serverMem(t); hwm-rss0 > rssGrowthBound(t) {
		t.Fatalf("server peak RSS grew by %d MiB (from %d MiB)", (hwm-rss0)>>20, rss0>>20)
	}
	CallOK(t, cs, "kill_all_processes", nil)
	CallOK(t, cs, "delete_session", map[string]any{"id": "other"})
}

// TestSecDriverChannelOversized: 512 MiB without a newline on the result
// channel (fd 4) of the python and the javascript driver ends the cell with
// a clear error and state_lost; the server's memory stays bounded and the
// next cell works.
func TestSecDriverChannelOversized(t *testing.T) {
	cs := Connect(t)
	for _, tc := range []struct{ lang, code string }{
		{"python", "import os\nb = b'x' * (1 << 20)\nfor _ in range(512):\n    os.write(4, b)\n"},
		{"javascript", "const fs = require('fs'); const b = Buffer.alloc(1 << 20, 120); for (let i = 0; i < 512; i++) fs.writeSync(4, b);"},
	} {
		r, _ := runCode(t, cs, map[string]any{"language": tc.lang, "code": "1+1"})
		if r.main() != "2" {
			t.Fatalf("%s warm-up: %+v", tc.lang, r)
		}
		rss0, _ := serverMem(t)
		r, _ = runCode(t, cs, map[string]any{"language": tc.lang, "code": tc.code})
		if !r.StateLost || r.Error == nil || r.Error.Name != "ResultTooLarge" || !strings.Contains(r.Error.Value, "fd 4") {
			t.Fatalf("%s: %+v", tc.lang, r)
		}
		if _, hwm := serverMem(t); hwm-rss0 > rssGrowthBound(t) {
			t.Fatalf("%s: server peak RSS grew by %d MiB (from %d MiB)", tc.lang, (hwm-rss0)>>20, rss0>>20)
		}
		r, _ = runCode(t, cs, map[string]any{"language": tc.lang, "code": "1+1"})
		if r.main() != "2" || r.Error != nil {
			t.Fatalf("%s next cell: %+v", tc.lang, r)
		}
	}
}

// TestStartProcessHugeCommand: start_process takes a 1 MiB command, as exec
// does (bash -c alone stops at 128 KiB per argument).
func TestStartProcessHugeCommand(t *testing.T) {
	cs := Connect(t)
	body := strings.Repeat("a", 1<<20)
	cmd := "x='" + body + "'\necho ${#x}; echo done >&2"
	var st struct {
		ID string `json:"id"`
	}
	Structured(t, CallOK(t, cs, "start_process", map[string]any{"command": cmd}), &st)
	var w struct {
		Status   string `json:"status"`
		ExitCode *int   `json:"exit_code"`
	}
	Structured(t, CallOK(t, cs, "wait_for_process", map[string]any{"id": st.ID, "exit": true, "timeout_ms": 60000}), &w)
	if w.Status != "completed" || w.ExitCode == nil || *w.ExitCode != 0 {
		t.Fatalf("wait: %+v", w)
	}
	var logs struct {
		Stdout string `json:"stdout"`
		Stderr string `json:"stderr"`
	}
	Structured(t, CallOK(t, cs, "get_process_logs", map[string]any{"id": st.ID}), &logs)
	if logs.Stdout != "1048576\n" || logs.Stderr != "done\n" {
		t.Fatalf("logs: %+v", logs)
	}
}

// TestNULArgumentsRefused: a NUL in any string argument is an isError
// result at once (a NUL in cwd used to hang the call for 9 s), and the
// session works afterwards; data written byte for byte may hold one.
func TestNULArgumentsRefused(t *testing.T) {
	cs := Connect(t)
	for _, tc := range []struct {
		tool  string
		args  map[string]any
		field string
	}{
		{"exec", map[string]any{"command": "pwd", "cwd": "/tmp\x00x"}, "cwd"},
		{"exec", map[string]any{"command": "pwd", "env": map[string]any{"A": "a\x00"}}, "env.A"},
		{"exec_stream", map[string]any{"command": "echo a\x00b"}, "command"},
		{"create_session", map[string]any{"id": "s\x00"}, "id"},
		{"create_session", map[string]any{"cwd": "/\x00"}, "cwd"},
		{"start_process", map[string]any{"command": "sleep 1\x00"}, "command"},
		{"start_process", map[string]any{"command": "true", "cwd": "\x00"}, "cwd"},
		{"list_files", map[string]any{"path": "/tmp\x00"}, "path"},
		{"read_file", map[string]any{"path": "/etc/hostname\x00"}, "path"},
		{"write_file", map[string]any{"path": "/tmp/a\x00", "content": "x"}, "path"},
		{"create_code_context", map[string]any{"language": "python", "cwd": "/\x00"}, "cwd"},
		{"run_code", map[string]any{"code": "1\x00"}, "code"},
	} {
		res := Call(t, cs, tc.tool, tc.args)
		if !res.IsError || !strings.Contains(Text(res), "argument "+tc.field+" contains a NUL byte") {
			t.Errorf("%s %q: %v %s", tc.tool, tc.args, res.IsError, Text(res))
		}
	}
	var w struct {
		BytesWritten int `json:"bytes_written"`
	}
	Structured(t, CallOK(t, cs, "write_file", map[string]any{"path": "nul.txt", "content": "a\x00b"}), &w)
	if w.BytesWritten != 3 {
		t.Fatalf("write_file with a NUL in content: %+v", w)
	}
	if o := sh(t, cs, "od -An -c nul.txt | tr -d ' '"); o.Stdout != "a\\0b\n" {
		t.Fatalf("content: %+v", o)
	}
}

// TestSandboxFailedStart: when the sandbox cannot start (here: the server
// runs with 9 descriptors, too few for init's socket and pipes, enough to
// serve stdio), every tool but sandbox_info is an isError that names the
// cause, sandbox_info says why, and ping keeps answering.
func TestSandboxFailedStart(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit (util-linux) is needed: %v", err)
	}
	cmd := exec.Command(prlimit, append([]string{"--nofile=9:9", "--", Build(t)}, withWorkdir(t, nil)...)...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "sbx-mcp-e2e", Version: "0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, stderr.String())
	}
	defer cs.Close()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]map[string]any{
		"exec": {"command": "true"}, "exec_stream": {"command": "true"}, "start_process": {"command": "true"},
		"read_file": {"path": "/etc/hostname"}, "write_file": {"path": "x", "content": "x"}, "list_files": {},
		"run_code": {"code": "1"}, "create_session": {}, "delete_session": {"id": "x"}, "mkdir": {"path": "d"},
		"delete_file": {"path": "x"}, "move_file": {"source": "a", "destination": "b"}, "file_info": {"path": "x"},
		"create_code_context": {"language": "python"}, "delete_code_context": {"id": "x"},
		"get_process": {"id": "x"}, "kill_process": {"id": "x"}, "get_process_logs": {"id": "x"},
		"stream_process_logs": {"id": "x"}, "wait_for_process": {"id": "x", "exit": true},
		"write_process_stdin": {"id": "x", "data": "x"},
	}
	for _, tool := range res.Tools {
		if tool.Name == "sandbox_info" {
			continue
		}
		a := args[tool.Name]
		if a == nil {
			a = map[string]any{}
		}
		r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool.Name, Arguments: a})
		if err != nil {
			t.Fatalf("%s: %v\n%s", tool.Name, err, stderr.String())
		}
		if !r.IsError || !strings.Contains(Text(r), "the sandbox failed to start (") || !strings.Contains(Text(r), "too many open files") {
			t.Errorf("%s: isError=%v %s", tool.Name, r.IsError, Text(r))
		}
		if err := cs.Ping(ctx, nil); err != nil {
			t.Fatalf("ping after %s: %v", tool.Name, err)
		}
	}
	r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "sandbox_info", Arguments: map[string]any{}})
	if err != nil || r.IsError || !strings.Contains(Text(r), "failed to start") {
		t.Fatalf("sandbox_info: %v %+v", err, r)
	}
}

// serverInit returns the host pid of the sandbox init of the one server
// this test runs.
func serverInit(t *testing.T) int {
	t.Helper()
	bin := Build(t)
	ents, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range ents {
		if exe, err := os.Readlink(p + "/exe"); err != nil || exe != bin {
			continue
		}
		cmdline, _ := os.ReadFile(p + "/cmdline")
		st, _ := os.ReadFile(p + "/stat")
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		if len(f) < 2 || !strings.HasPrefix(string(cmdline), "sbx-init\x00") {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pst, _ := os.ReadFile("/proc/" + strconv.Itoa(ppid) + "/status")
		if strings.Contains(string(pst), "\nPPid:\t"+strconv.Itoa(os.Getpid())+"\n") {
			pid, _ := strconv.Atoi(filepath.Base(p))
			return pid
		}
	}
	t.Fatal("sandbox init not found")
	return 0
}

// TestSandboxInitKilledIsReplaced: when init dies (killed from the host
// here, the one way that works whatever init guards against), the call in
// flight and the first call of every session say the state was lost and
// why, the next calls work in a fresh sandbox, and sandbox_info counts the
// restart.
func TestSandboxInitKilledIsReplaced(t *testing.T) {
	cs := Connect(t)
	sh(t, cs, "export KEEP=1")
	CallOK(t, cs, "create_session", map[string]any{"id": "busy"})
	r, _ := runCode(t, cs, map[string]any{"code": "x = 41"})
	if r.Error != nil {
		t.Fatalf("run_code: %+v", r)
	}
	inflight := make(chan execOut, 1)
	go func() {
		var o execOut
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "exec", Arguments: map[string]any{"command": "sleep 60", "session": "busy"}})
		if err == nil && !res.IsError {
			json.Unmarshal(mustJSON(res.StructuredContent), &o)
		}
		inflight <- o
	}()
	for busy := false; !busy; {
		var l struct {
			Sessions []struct {
				ID   string `json:"id"`
				Busy bool   `json:"busy"`
			} `json:"sessions"`
		}
		Structured(t, CallOK(t, cs, "list_sessions", nil), &l)
		for _, s := range l.Sessions {
			busy = busy || (s.ID == "busy" && s.Busy)
		}
	}
	if err := syscall.Kill(serverInit(t), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	o := <-inflight
	if !o.StateLost || !o.SessionEnded || !strings.Contains(o.Note, "killed by signal 9") {
		t.Fatalf("call in flight: %+v", o)
	}
	o = sh(t, cs, `echo "fresh ${KEEP:-unset}"`)
	if o.Stdout != "fresh unset\n" || !o.StateLost || !strings.Contains(o.Note, "init died") {
		t.Fatalf("first call: %+v", o)
	}
	o = sh(t, cs, "echo again")
	if o.Stdout != "again\n" || o.StateLost || o.Note != "" {
		t.Fatalf("second call: %+v", o)
	}
	r, _ = runCode(t, cs, map[string]any{"code": "'x' in globals()"})
	if !r.StateLost || r.main() != "False" {
		t.Fatalf("run_code after the restart: %+v", r)
	}
	var info struct {
		Restarts int    `json:"restarts"`
		LastLoss string `json:"last_loss"`
		Level    string `json:"level"`
	}
	Structured(t, CallOK(t, cs, "sandbox_info", nil), &info)
	if info.Restarts != 1 || !strings.Contains(info.LastLoss, "killed by signal 9") {
		t.Fatalf("sandbox_info: %+v", info)
	}
	// and once more: every death is replaced
	if err := syscall.Kill(serverInit(t), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for info.Restarts != 2 { // a call racing the death may still run in it
		Structured(t, CallOK(t, cs, "sandbox_info", nil), &info)
	}
	if o = sh(t, cs, "echo third"); o.Stdout != "third\n" || !o.StateLost {
		t.Fatalf("after a second death: %+v", o)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// serverPid returns the pid of the one sbx-mcp server this test runs.
func serverPid(t *testing.T) int {
	t.Helper()
	pids := serverPids(t)
	if len(pids) != 1 {
		t.Fatalf("want one server, found %v", pids)
	}
	return pids[0]
}

// fdCount returns how many descriptors pid holds, or -1 when /proc/PID/fd
// cannot be read (the server is non-dumpable: an unprivileged test run).
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if errors.Is(err, fs.ErrPermission) && os.Geteuid() != 0 {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestLimits: sessions, background processes and code contexts stop at
// their caps with an error that names the flag, and once they are deleted
// the server's descriptors return to where they were.
func TestLimits(t *testing.T) {
	cs := Connect(t, "--max-sessions", "3", "--max-processes", "3", "--max-contexts", "2")
	sh(t, cs, "true")
	runCode(t, cs, map[string]any{"code": "1"}) // the default python context: 1 of 2
	srv := serverPid(t)
	base := fdCount(t, srv)
	if base < 0 {
		t.Logf("/proc/%d/fd is not readable without root (the server is non-dumpable): descriptors not counted", srv)
	}
	wantErr := func(res *mcp.CallToolResult, flag string) {
		t.Helper()
		if !res.IsError || !strings.Contains(Text(res), "the limit ("+flag+")") {
			t.Fatalf("want the %s limit: isError=%v %s", flag, res.IsError, Text(res))
		}
	}
	for round := 0; round < 2; round++ {
		CallOK(t, cs, "create_session", map[string]any{"id": "a"})
		CallOK(t, cs, "create_session", map[string]any{"id": "b"})
		wantErr(Call(t, cs, "create_session", map[string]any{"id": "c"}), "--max-sessions")
		var ids []string
		for i := 0; i < 3; i++ {
			var st struct {
				ID string `json:"id"`
			}
			Structured(t, CallOK(t, cs, "start_process", map[string]any{"command": "sleep 60", "session": "a"}), &st)
			ids = append(ids, st.ID)
		}
		wantErr(Call(t, cs, "start_process", map[string]any{"command": "sleep 60"}), "--max-processes")
		var cc struct {
			ID string `json:"id"`
		}
		Structured(t, CallOK(t, cs, "create_code_context", map[string]any{"language": "python"}), &cc)
		wantErr(Call(t, cs, "create_code_context", map[string]any{"language": "python"}), "--max-contexts")
		res, _ := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "run_code", Arguments: map[string]any{"language": "javascript", "code": "1"}})
		wantErr(res, "--max-contexts")

		for _, id := range ids {
			CallOK(t, cs, "kill_process", map[string]any{"id": id, "signal": "SIGKILL"})
		}
		CallOK(t, cs, "delete_session", map[string]any{"id": "a"})
		CallOK(t, cs, "delete_session", map[string]any{"id": "b"})
		CallOK(t, cs, "delete_code_context", map[string]any{"id": cc.ID})
		// descriptors are released as the readers of what was killed see EOF
		deadline := time.Now().Add(30 * time.Second)
		for n := fdCount(t, srv); base >= 0 && n > base; n = fdCount(t, srv) {
			if time.Now().After(deadline) {
				ents, _ := os.ReadDir("/proc/" + strconv.Itoa(srv) + "/fd")
				var links []string
				for _, e := range ents {
					l, _ := os.Readlink("/proc/" + strconv.Itoa(srv) + "/fd/" + e.Name())
					links = append(links, e.Name()+"->"+l)
				}
				t.Fatalf("round %d: %d descriptors, %d before: %v", round, n, base, links)
			}
			runtime.Gosched()
		}
	}
}

// attackBash is run by python3 inside the sandbox as `attack.py BASHPID
// once|bg DIR`: it tries every way a process of the shell's uid has to
// reach the session's bash (ptrace attach and seize, /proc/PID/mem,
// process_vm_writev, writing into each of its descriptors through
// /proc/PID/fd and /proc/PID/task/*/fd, its script pipe 255 included) and,
// where one worked, uses it to inject a command and a forged status
// record. It prints "clean" when every attempt was refused, else what
// worked. In bg mode it repeats until DIR/stop exists (DIR/ready after
// the first round) and writes its verdict to DIR/verdict.
const attackBash = `import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
bash, mode = int(sys.argv[1]), sys.argv[2]
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
inject = b"\nbuiltin printf '%s 0\\0/FORGED\\0' $__sbx_s >&254; cd /FORGED; echo FORGED\n"
def attempt():
    got = []
    for req, name in ((16, "PTRACE_ATTACH"), (0x4206, "PTRACE_SEIZE")):
        if libc.ptrace(req, bash, 0, 0) == 0:
            got.append(name)
            libc.ptrace(17, bash, 0, 0)
        elif ctypes.get_errno() != 1:
            got.append("%s errno %d" % (name, ctypes.get_errno()))
    buf = ctypes.create_string_buffer(b"x")
    loc, rem = iovec(ctypes.addressof(buf), 1), iovec(0x10000, 1)
    if libc.process_vm_writev(bash, ctypes.byref(loc), 1, ctypes.byref(rem), 1, 0) != -1 or ctypes.get_errno() != 1:
        got.append("process_vm_writev errno %d" % ctypes.get_errno())
    paths = ["/proc/%d/mem" % bash]
    for d in ["/proc/%d/fd" % bash] + ["/proc/%d/task/%s/fd" % (bash, t) for t in os.listdir("/proc/%d/task" % bash)]:
        try:
            paths += [d + "/" + f for f in os.listdir(d)]
        except OSError:
            pass
    for p in paths:
        try:
            fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            continue
        got.append("open %s for writing" % p)
        try:
            os.write(fd, inject)
        except OSError:
            pass
        os.close(fd)
    return got
if mode == "once":
    got = attempt()
    print("clean" if not got else "GOT: " + "; ".join(got))
else:
    d = sys.argv[3]
    got, rounds = set(), 0
    while True:
        got.update(attempt())
        rounds += 1
        if rounds == 1:
            open(d + "/ready", "w").close()
        if os.path.exists(d + "/stop"):
            break
    open(d + "/verdict", "w").write("clean" if not got else "GOT: " + "; ".join(sorted(got)))
`

// TestSecBashUnreachable: no program the command runs, in the foreground
// or in the background outliving it, can ptrace the session's bash, write
// its memory or open any of its descriptors (the script pipe 255, the
// status socket 254) to make it run or report something; results stay
// the real ones throughout.
func TestSecBashUnreachable(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	dir := t.TempDir() // outside the workdir: bound in with --rw
	if err := os.WriteFile(filepath.Join(dir, "attack.py"), []byte(attackBash), 0o644); err != nil {
		t.Fatal(err)
	}
	cs := Connect(t, "--rw", dir)
	o := sh(t, cs, `cd /tmp; python3 `+dir+`/attack.py $$ once; echo after`)
	if o.ExitCode != 0 || o.Stdout != "clean\nafter\n" || o.Cwd != "/tmp" {
		t.Fatalf("attack from the command's program: %+v", o)
	}
	o = sh(t, cs, `python3 `+dir+`/attack.py $$ bg `+dir+` >/dev/null 2>&1 &
echo $! >`+dir+`/attacker
while [[ ! -e `+dir+`/ready ]]; do sleep 0.01; done; echo started`)
	if o.Stdout != "started\n" || o.ExitCode != 0 {
		t.Fatalf("background attacker: %+v", o)
	}
	for i := 0; i < 5; i++ {
		o = sh(t, cs, `cd /tmp; echo this-should-print; (exit 7)`)
		if o.ExitCode != 7 || o.Stdout != "this-should-print\n" || o.Cwd != "/tmp" {
			t.Fatalf("call %d while the attacker runs: %+v", i, o)
		}
	}
	o = sh(t, cs, "touch "+dir+"/stop; while kill -0 $(<"+dir+"/attacker) 2>/dev/null; do sleep 0.01; done; cat "+dir+"/verdict")
	if o.ExitCode != 0 || o.Stdout != "clean" || o.Cwd != "/tmp" {
		t.Fatalf("background attacker's verdict: %+v", o)
	}
	o = sh(t, cs, "echo ok")
	if o.ExitCode != 0 || o.Stdout != "ok\n" || o.Cwd != "/tmp" {
		t.Fatalf("next call: %+v", o)
	}
}

// TestShellStillUsable: with a non-dumpable bash, programs still ptrace
// their own children, and $BASH, bash -c, subshells, job control and the
// shell's name in ps behave as before.
func TestShellStillUsable(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	cs := Connect(t)
	o := sh(t, cs, `python3 -c '
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    libc.ptrace(0, 0, 0, 0)
    os.kill(os.getpid(), signal.SIGSTOP)
    os._exit(3)
_, st = os.waitpid(pid, 0)
assert os.WIFSTOPPED(st), st
assert libc.ptrace(7, pid, 0, 0) == 0, ctypes.get_errno()
_, st = os.waitpid(pid, 0)
print("traceme", os.WEXITSTATUS(st))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w); os.read(r, 1); os._exit(4)
assert libc.ptrace(16, pid, 0, 0) == 0, ctypes.get_errno()
os.waitpid(pid, 0)
libc.ptrace(17, pid, 0, 0)
os.close(w)
_, st = os.waitpid(pid, 0)
print("attach", os.WEXITSTATUS(st))
'
[[ $BASH == "$(type -P bash)" ]] && echo "\$BASH" $(cat /proc/$$/comm) $(ps -o comm= -p $$)
bash -c 'echo sub $((1+1))'; (echo paren $BASHPID-is-not-$$ | sed "s/[0-9]*-is-not-[0-9]*/pid/")
set -m; sleep 0 & wait $!; echo job $?; set +m`)
	want := "traceme 3\nattach 4\n$BASH bash bash\nsub 2\nparen pid\njob 0\n"
	if o.Stdout != want {
		t.Fatalf("stdout %q, want %q; stderr %q", o.Stdout, want, o.Stderr)
	}
}

// TestSecPythonDriverUnreachable: a program that run_code's python starts
// cannot ptrace the driver or open its descriptors (its result channel).
func TestSecPythonDriverUnreachable(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "attack.py"), []byte(attackBash), 0o644); err != nil {
		t.Fatal(err)
	}
	cs := Connect(t, "--rw", dir)
	var out struct {
		Stdout string `json:"stdout"`
	}
	Structured(t, CallOK(t, cs, "run_code", map[string]any{"code": `import os, subprocess
print(subprocess.run(["python3", "` + dir + `/attack.py", str(os.getpid()), "once"], capture_output=True, text=True).stdout, end="")
print(1 + 1)`}), &out)
	if out.Stdout != "clean\n2\n" {
		t.Fatalf("attack on the driver: %q", out.Stdout)
	}
}

// TestSecNodeDriverUnreachable: the same for javascript: node has no prctl,
// so the server starts it non-dumpable through a sealed copy of the
// dynamic loader; node itself still knows its own path.
func TestSecNodeDriverUnreachable(t *testing.T) {
	for _, bin := range []string{"python3", "node"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("no %s", bin)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "attack.py"), []byte(attackBash), 0o644); err != nil {
		t.Fatal(err)
	}
	// The context's directory belongs to another user, mode 0700: the
	// driver reaches it with the capabilities the cells have (as root).
	cwd := filepath.Join(dir, "private")
	if err := os.Mkdir(cwd, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(cwd, 4321, 4321); err != nil {
			t.Fatal(err)
		}
	}
	cs := Connect(t, "--rw", dir)
	var ctx struct {
		ID string `json:"id"`
	}
	Structured(t, CallOK(t, cs, "create_code_context", map[string]any{"language": "javascript", "cwd": cwd}), &ctx)
	var out struct {
		Stdout string `json:"stdout"`
	}
	Structured(t, CallOK(t, cs, "run_code", map[string]any{"context": ctx.ID, "code": `const cp = require("child_process");
process.stdout.write(cp.execFileSync("python3", ["` + dir + `/attack.py", String(process.pid), "once"]).toString());
console.log(process.execPath, cp.execFileSync(process.execPath, ["-e", "console.log(6 * 7)"]).toString().trim(), process.cwd());`}), &out)
	if want := "clean\n/usr/bin/node 42 " + cwd + "\n"; out.Stdout != want {
		t.Fatalf("attack on the node driver: %q, want %q", out.Stdout, want)
	}
}

// stealFifos is run by python3 inside the sandbox as `steal.py SKIP...`:
// it opens every FIFO it can find by any path (the filesystem but /proc,
// /sys and /dev, and every /proc/PID/fd and /proc/PID/task/*/fd entry of
// processes other than SKIP and itself), writes INJECTED into those it can
// open for writing and reads from those it can open for reading, and
// prints "none" or the FIFOs it opened.
const stealFifos = `import os, stat, sys
skip = set(sys.argv[1:]) | {str(os.getpid())}
paths = []
for root, dirs, files in os.walk("/"):
    if root == "/":
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
    paths += [os.path.join(root, f) for f in files]
for pid in os.listdir("/proc"):
    if not pid.isdigit() or pid in skip:
        continue
    for d in ["/proc/%s/fd" % pid] + ["/proc/%s/task/%s/fd" % (pid, t) for t in os.listdir("/proc/%s/task" % pid)]:
        try:
            paths += [d + "/" + f for f in os.listdir(d)]
        except OSError:
            pass
opened = []
for p in paths:
    try:
        if not stat.S_ISFIFO(os.stat(p).st_mode) or p.endswith("/gate"):
            continue
    except OSError:
        continue
    for mode in (os.O_WRONLY, os.O_RDONLY):
        try:
            fd = os.open(p, mode | os.O_NONBLOCK)
        except OSError:
            continue
        opened.append(p)
        try:
            os.write(fd, b"INJECTED") if mode == os.O_WRONLY else os.read(fd, 1 << 16)
        except OSError:
            pass
        os.close(fd)
print("none" if not opened else "opened: " + " ".join(sorted(set(opened))))
`

// TestSecOtherSessionOutput: from session A, no path (the filesystem,
// /proc/*/fd) opens session B's output FIFOs while B's command runs, so A
// can neither read nor add to B's output: B's result is exactly what B
// wrote.
func TestSecOtherSessionOutput(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "steal.py"), []byte(stealFifos), 0o644); err != nil {
		t.Fatal(err)
	}
	cs := Connect(t, "--rw", dir)
	CallOK(t, cs, "create_session", map[string]any{"id": "b"})
	if o := sh(t, cs, "mkfifo "+dir+"/gate"); o.ExitCode != 0 {
		t.Fatalf("mkfifo: %+v", o)
	}
	// B runs builtins only (no process of its own that A could reach
	// through /proc): it signals that its output FIFOs are open, waits at
	// the gate, then writes.
	bDone := make(chan execOut, 1)
	go func() {
		var o execOut
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "exec", Arguments: map[string]any{"command": `echo B-first; : >` + dir + `/started; read x <` + dir + `/gate; echo B-wrote`, "session": "b"}})
		if err == nil {
			b, _ := json.Marshal(res.StructuredContent)
			json.Unmarshal(b, &o)
		}
		bDone <- o
	}()
	o := sh(t, cs, `while [[ ! -e `+dir+`/started ]]; do sleep 0.01; done
python3 `+dir+`/steal.py $$; echo go >`+dir+`/gate`)
	b := <-bDone
	if o.ExitCode != 0 || !strings.HasPrefix(o.Stdout, "none\n") {
		t.Errorf("session A reached FIFOs: %+v", o)
	}
	if b.ExitCode != 0 || b.Stdout != "B-first\nB-wrote\n" || b.Stderr != "" {
		t.Errorf("session B's output: %+v", b)
	}
}
