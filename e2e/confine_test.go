package e2e

// Issue 13 through the real tools: the file tools see exactly the root exec
// sees, and neither reaches the host's files or secrets.

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// write_file outside the workdir lands in the sandbox's overlay: exec and
// read_file read it back, the host never has it; through a workdir symlink
// to a host file, the host file stays byte-identical.
func TestConfineWriteFileStaysInside(t *testing.T) {
	cs := Connect(t)
	name := fmt.Sprintf("/etc/sbx-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())
	CallOK(t, cs, "write_file", map[string]any{"path": name, "content": "inside"})
	if _, err := os.Lstat(name); err == nil {
		os.Remove(name)
		t.Fatalf("write_file created host %s", name)
	}
	if o := sh(t, cs, "cat "+name); o.Stdout != "inside" {
		t.Fatalf("exec does not see write_file's file: %+v", o)
	}
	var rf struct{ Content string }
	Structured(t, CallOK(t, cs, "read_file", map[string]any{"path": name}), &rf)
	if rf.Content != "inside" {
		t.Fatalf("read_file: %q", rf.Content)
	}

	const target = "/etc/hostname"
	before, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ Workdir string }
	Structured(t, CallOK(t, cs, "sandbox_info", map[string]any{}), &info)
	link := filepath.Join(info.Workdir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	Call(t, cs, "write_file", map[string]any{"path": link, "content": "pwned\n"})
	Call(t, cs, "write_file", map[string]any{"path": link, "content": "pwned\n", "append": true})
	sh(t, cs, "echo pwned >> "+link)
	if after, _ := os.ReadFile(target); !bytes.Equal(before, after) {
		os.WriteFile(target, before, 0o644)
		t.Fatalf("host %s changed through a workdir symlink", target)
	}
	// A kernel knob written with its own value: refused.
	cur, _ := os.ReadFile("/proc/sys/vm/swappiness")
	if res := Call(t, cs, "write_file", map[string]any{"path": "/proc/sys/vm/swappiness", "content": string(cur)}); !res.IsError {
		t.Fatalf("write_file of /proc/sys/vm/swappiness succeeded: %s", Text(res))
	}
}

// With HOME holding ssh and aws canaries, exec, read_file, list_files and
// run_code return neither.
func TestConfineSecretsHidden(t *testing.T) {
	home := "/var/lib/" + fmt.Sprintf("sbx-e2e-home-%d-%d", os.Getpid(), time.Now().UnixNano())
	if os.Geteuid() != 0 {
		home = t.TempDir()
	} else {
		t.Cleanup(func() { os.RemoveAll(home) })
	}
	const canary = "c4n4ry-e2e-51b7"
	for p, data := range map[string]string{".ssh/id_ed25519": canary, ".aws/credentials": "k=" + canary} {
		os.MkdirAll(filepath.Dir(filepath.Join(home, p)), 0o700)
		if err := os.WriteFile(filepath.Join(home, p), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	cs := Connect(t)
	var all strings.Builder
	o := sh(t, cs, fmt.Sprintf("cat %[1]s/.ssh/id_ed25519 %[1]s/.aws/credentials; grep -rs %[2]s %[1]s /root /home", home, canary))
	all.WriteString(o.Stdout + o.Stderr)
	for _, p := range []string{home + "/.ssh/id_ed25519", home + "/.aws/credentials"} {
		all.WriteString(Text(Call(t, cs, "read_file", map[string]any{"path": p})))
	}
	all.WriteString(Text(Call(t, cs, "list_files", map[string]any{"path": home, "recursive": true, "include_hidden": true})))
	all.WriteString(Text(Call(t, cs, "run_code", map[string]any{"code": fmt.Sprintf("import glob\nfor p in glob.glob(%q, recursive=True):\n    try: print(open(p).read())\n    except Exception as e: print(e)", home+"/**/*")})))
	if strings.Contains(all.String(), canary) {
		t.Fatalf("a canary is visible:\n%s", all.String())
	}
	if strings.Contains(all.String(), "id_ed25519\"") || strings.Contains(all.String(), "credentials\"") {
		t.Fatalf("list_files shows the secrets:\n%s", all.String())
	}
}

// sandbox_info reports the filesystem object and the kernel-surface layers.
func TestConfineSandboxInfo(t *testing.T) {
	state := stateDir(t)
	cs := Connect(t, "--state", state)
	var info struct {
		Level      string
		Layers     map[string]bool
		Reasons    []string
		Workdir    string
		Filesystem struct {
			Root, Rootfs               string
			State                      *string
			Hidden, Readonly, Writable []string
		}
	}
	Structured(t, CallOK(t, cs, "sandbox_info", map[string]any{}), &info)
	fs := info.Filesystem
	if info.Level == "none" {
		if fs.Root != "host" {
			t.Fatalf("level none reports root %q", fs.Root)
		}
		return
	}
	if fs.Root != "overlay" || fs.Rootfs != "/" || fs.State == nil || *fs.State != state {
		t.Fatalf("filesystem: %+v", fs)
	}
	if !slices.Contains(fs.Writable, info.Workdir) || !slices.Contains(fs.Writable, "/tmp") || !slices.Contains(fs.Hidden, "/etc/shadow") {
		t.Fatalf("filesystem lists: %+v", fs)
	}
	for _, l := range []string{"proc_masked", "sys_readonly", "dev_minimal"} {
		if !info.Layers[l] {
			t.Errorf("layer %s false: %v", l, info.Reasons)
		}
	}
}

// stateDir is a t.TempDir for --state. overlayfs leaves its work directory
// mode 000, which an unprivileged owner cannot remove: this opens it up
// before the TempDir's own cleanup (cleanups run last-registered first).
func stateDir(t *testing.T) string {
	dir := t.TempDir()
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o700)
			}
			return nil
		})
	})
	return dir
}

// apt-get install of a package built in the sandbox (no network needed)
// installs into the --root overlay: dpkg knows it and its file is there,
// while the host's dpkg database and the file's path are untouched.
func TestConfineAptGetInstall(t *testing.T) {
	if _, err := os.Stat("/usr/bin/apt-get"); err != nil {
		t.Skip("no apt-get on this machine")
	}
	cs := Connect(t, "--root", "overlay")
	var info struct{ Level string }
	Structured(t, CallOK(t, cs, "sandbox_info", map[string]any{}), &info)
	if info.Level != "full" {
		if os.Getenv("SBX_REQUIRE_ISOLATION") == "1" {
			t.Fatalf("level %s, want full", info.Level)
		}
		t.Skipf("level %s: apt-get into the overlay needs level full (see the README)", info.Level)
	}
	statusBefore, err := os.ReadFile("/var/lib/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	pkg := fmt.Sprintf("sbx-apt-%d-%d", os.Getpid(), time.Now().UnixNano())
	file := "/usr/share/" + pkg + "/f"
	o := execIn(t, cs, map[string]any{"timeout_ms": 120000, "command": fmt.Sprintf(`set -e; mkdir -p p/DEBIAN p/usr/share/%[1]s; echo hi > p/usr/share/%[1]s/f
printf 'Package: %[1]s\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n' > p/DEBIAN/control
dpkg-deb -b p %[1]s.deb >/dev/null
apt-get install -y "$PWD/%[1]s.deb" >apt.log 2>&1 || { cat apt.log; exit 1; }
cat %[2]s; dpkg -s %[1]s | grep '^Status:'`, pkg, file)})
	if o.Stdout != "hi\nStatus: install ok installed\n" || o.ExitCode != 0 {
		t.Fatalf("apt-get install in the overlay: %+v", o)
	}
	if _, err := os.Lstat(file); err == nil {
		t.Fatalf("host has %s", file)
	}
	if statusAfter, _ := os.ReadFile("/var/lib/dpkg/status"); !bytes.Equal(statusBefore, statusAfter) {
		t.Fatal("the host's /var/lib/dpkg/status changed")
	}
}

// Every thread of the sandbox's init carries the reduced privileges, read
// from inside: init starts its long-running part in place (no second
// execve in a static build), so the threads its Go runtime made before the
// reduction must have been changed too. A thread left with full
// capabilities, or without the filter, would give a process forked from
// it (or an op run on it) what the sandbox must not have.
func TestConfineInitThreads(t *testing.T) {
	const docker = 0xa00425fb // keptCaps: Docker's default set less CAP_MKNOD
	eachLevel(t, func(t *testing.T, cs *mcp.ClientSession) {
		var info struct {
			Layers  map[string]bool `json:"layers"`
			Reasons []string        `json:"reasons"`
		}
		Structured(t, CallOK(t, cs, "sandbox_info", nil), &info)
		for _, l := range []string{"caps_dropped", "seccomp", "no_new_privs", "cgroup_ns"} {
			if !info.Layers[l] {
				t.Errorf("layer %s false: %v", l, info.Reasons)
			}
		}
		var r struct {
			Stdout string `json:"stdout"`
		}
		Structured(t, CallOK(t, cs, "exec", map[string]any{
			"command": `for f in /proc/1/task/*/status; do echo "== $f"; grep -E '^(CapEff|CapPrm|NoNewPrivs|Seccomp):' "$f"; done`,
		}), &r)
		threads := strings.Split(r.Stdout, "== ")[1:]
		if len(threads) < 2 {
			t.Fatalf("init has %d threads (a Go runtime has several): %q", len(threads), r.Stdout)
		}
		for _, th := range threads {
			lines := strings.Split(strings.TrimSpace(th), "\n")
			fields := map[string]string{}
			for _, l := range lines[1:] {
				k, v, _ := strings.Cut(l, ":")
				fields[k] = strings.TrimSpace(v)
			}
			for _, k := range []string{"CapEff", "CapPrm"} {
				v, err := strconv.ParseUint(fields[k], 16, 64)
				if err != nil || v&^docker != 0 {
					t.Errorf("%s: %s %q exceeds Docker's default set", lines[0], k, fields[k])
				}
			}
			if fields["NoNewPrivs"] != "1" || fields["Seccomp"] != "2" {
				t.Errorf("%s: %v", lines[0], fields)
			}
		}
	})
}
