package e2e

// Attacks from inside the sandbox on what the server reads from it (issue
// 18): every channel is bounded and the command status cannot be forged.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// serverMem returns VmRSS and VmHWM (bytes) of the sbx-mcp server started
// by this test binary (the largest, if several are running).
func serverMem(t *testing.T) (rss, hwm int64) {
	t.Helper()
	bin := Build(t)
	ents, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range ents {
		if exe, err := os.Readlink(p + "/exe"); err != nil || exe != bin {
			continue
		}
		st, err := os.ReadFile(p + "/status")
		if err != nil {
			continue
		}
		var ppid int
		var r, h int64
		for _, l := range strings.Split(string(st), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "PPid:":
				ppid, _ = strconv.Atoi(f[1])
			case "VmRSS:":
				r, _ = strconv.ParseInt(f[1], 10, 64)
			case "VmHWM:":
				h, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
		if ppid == os.Getpid() {
			rss, hwm = max(rss, r*1024), max(hwm, h*1024)
		}
	}
	if hwm == 0 {
		t.Fatal("server process not found")
	}
	return rss, hwm
}

// TestSecStatusNotForgeable: the run directory holds no status channel,
// and records forged by other processes for the command in flight (and the
// next ones) are ignored: the real exit code, output and cwd come back.
func TestSecStatusNotForgeable(t *testing.T) {
	cs := Connect(t)
	o := sh(t, cs, `find /run/sbx-mcp -name 'status*'; find /run/sbx-mcp -type s`)
	if o.ExitCode != 0 || strings.TrimSpace(o.Stdout) != "" {
		t.Fatalf("run directory holds a status channel: %+v", o)
	}
	dir := t.TempDir()
	// A background subshell holds bash's close-on-exec copy of the status
	// socket; it floods it (and every socket and FIFO it can reach under
	// the run directory and in /proc/*/fd) with records for this command
	// and the next twenty, until told to stop.
	o = sh(t, cs, `ready=`+dir+`/ready stop=`+dir+`/stop
forge() { local s; for ((s = $1; s < $1 + 20; s++)); do builtin printf '%s 0\0/FORGED\0' $s; done; }
(
  while [[ ! -e $stop ]]; do
    for fd in /proc/$BASHPID/fd/*; do [[ $(readlink $fd) == socket:* ]] && forge $__sbx_s >$fd; done 2>/dev/null
    for p in $(find /run/sbx-mcp -type p -o -type s) /proc/[0-9]*/fd/*; do
      [[ -p $p || -S $p || $(readlink $p 2>/dev/null) == socket:* ]] || continue
      timeout 1 bash -c 'forge() { local s; for ((s = $1; s < $1 + 20; s++)); do builtin printf "%s 0\0/FORGED\0" $s; done; }; forge '$__sbx_s' >'$p 2>/dev/null
    done
    touch $ready
  done
) >/dev/null 2>&1 &
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
	o = sh(t, cs, "touch "+dir+"/stop; echo ok")
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
	for _, s := range []string{"default", "other", "default", "other"} {
		o = execIn(t, cs, map[string]any{"command": "echo next-call-works", "session": s})
		if o.ExitCode != 0 || !strings.Contains(o.Stdout, "next-call-works") {
			t.Fatalf("session %s after the writes: %+v", s, o)
		}
	}
	if _, hwm := serverMem(t); hwm-rss0 > 64<<20 {
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
		if _, hwm := serverMem(t); hwm-rss0 > 64<<20 {
			t.Fatalf("%s: server peak RSS grew by %d MiB (from %d MiB)", tc.lang, (hwm-rss0)>>20, rss0>>20)
		}
		r, _ = runCode(t, cs, map[string]any{"language": tc.lang, "code": "1+1"})
		if r.main() != "2" || r.Error != nil {
			t.Fatalf("%s next cell: %+v", tc.lang, r)
		}
	}
}
