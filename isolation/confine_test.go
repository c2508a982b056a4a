package isolation

// The attack suite of issue 13: the sandbox cannot touch the host (its
// files, secrets, kernel knobs, devices). Every attempt on a host knob is
// made so that it cannot change anything even if it succeeded: opening for
// writing (nothing written), or writing the current value back.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano())
}

// mustNotExist fails when path exists on the host (and removes it).
func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		os.RemoveAll(path)
		t.Errorf("host path %s was created from inside the sandbox", path)
	}
}

// Writes outside the workdir never reach the host; with the overlay they
// read back inside (at level userns the host's root-owned directories are
// not writable, but the top level and the overlays' roots are).
func TestSecWritesStayInside(t *testing.T) {
	s := nsSandbox(t, Config{})
	name := uniq("sbx-confine")
	etc, usr := "/etc/"+name, "/usr/"+name
	r := run(t, s, fmt.Sprintf(`touch %s; /usr/bin/python3 -c "open('%s','w').write('py')"; echo x > /%s; cat %s /%s`, etc, usr, name, usr, name))
	for _, p := range []string{etc, usr, "/" + name} {
		mustNotExist(t, p)
	}
	if r.stdout != "pyx\n" {
		t.Fatalf("writes did not read back inside: %v", r)
	}
}

// A workdir symlink to a host file: echo >> changes the sandbox's copy at
// most, never the host's file (write_file: e2e/confine_test.go).
func TestSecSymlinkToHostFile(t *testing.T) {
	s := nsSandbox(t, Config{})
	target := "/etc/hostname"
	before, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(s.Workdir(), "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	r := run(t, s, "echo pwned >> "+link+"; cat "+link)
	after, _ := os.ReadFile(target)
	if !bytes.Equal(before, after) {
		os.WriteFile(target, before, 0o644)
		t.Fatalf("host %s changed through a workdir symlink: %v", target, r)
	}
	if wantLevel() == LevelFull && !strings.Contains(r.stdout, "pwned") {
		t.Fatalf("the sandbox's copy was not written: %v", r)
	}
}

// The server user's home (by $HOME) and its secrets are invisible to exec,
// also when the workdir lies inside it (read_file, list_files and run_code:
// e2e/confine_test.go).
func TestSecSecretsHidden(t *testing.T) {
	home := t.TempDir()
	if os.Geteuid() == 0 {
		// A place the sandbox's lower layer shows (the host's /tmp is not).
		home = "/var/lib/" + uniq("sbx-confine-home")
		t.Cleanup(func() { os.RemoveAll(home) })
	}
	const secret = "c4n4ry-ssh-9d1e"
	for p, data := range map[string]string{".ssh/id_ed25519": secret, ".aws/credentials": "aws=" + secret} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(home, p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, p), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	work := filepath.Join(home, "proj")
	os.MkdirAll(work, 0o755)
	os.WriteFile(filepath.Join(work, "mine"), []byte("visible"), 0o644)
	t.Setenv("HOME", home)
	s := nsSandbox(t, Config{Workdir: work})
	r := run(t, s, fmt.Sprintf(`cat %[1]s/.ssh/id_ed25519 %[1]s/.aws/credentials ~/.ssh/id_ed25519; grep -rs %[2]s %[1]s /root /home /etc/shadow; /usr/bin/python3 -c "print(open('%[1]s/.ssh/id_ed25519').read())"; cat mine; echo; cat /etc/shadow | wc -c`, home, secret))
	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Fatalf("secret visible to exec: %v", r)
	}
	if !strings.HasPrefix(r.stdout, "visible\n0\n") {
		t.Fatalf("workdir inside the hidden home should work and /etc/shadow read empty: %v", r)
	}
	// (Unprivileged, the home lies in the host's /tmp, which the sandbox
	// does not see at all.)
	if os.Geteuid() == 0 && !slices.Contains(s.Info().Filesystem.Hidden, home) {
		t.Fatalf("home %s not reported hidden: %+v", home, s.Info().Filesystem)
	}
}

// The host's /tmp outside the workdir is invisible and sandbox /tmp files
// never reach it, while a workdir under /tmp works both ways.
func TestSecPrivateTmp(t *testing.T) {
	host, err := os.CreateTemp("", "sbx-confine-host-")
	if err != nil {
		t.Fatal(err)
	}
	host.WriteString("host-tmp-secret")
	host.Close()
	t.Cleanup(func() { os.Remove(host.Name()) })
	s := nsSandbox(t, Config{}) // the workdir is under the host's TMPDIR
	name := uniq("sbx-confine-in")
	os.WriteFile(filepath.Join(s.Workdir(), "from-host"), []byte("h"), 0o644)
	r := run(t, s, fmt.Sprintf(`cat %s; ls /tmp; echo in > /tmp/%s; echo w > from-sandbox; cat from-host`, host.Name(), name))
	if strings.Contains(r.stdout, "host-tmp-secret") || strings.Contains(r.stdout, filepath.Base(host.Name())) {
		t.Fatalf("host /tmp visible: %v", r)
	}
	mustNotExist(t, "/tmp/"+name)
	mustNotExist(t, filepath.Join(os.TempDir(), name))
	if b, err := os.ReadFile(filepath.Join(s.Workdir(), "from-sandbox")); err != nil || string(b) != "w\n" || !strings.HasSuffix(r.stdout, "h") {
		t.Fatalf("workdir under /tmp: host sees %q (%v); sandbox: %v", b, err, r)
	}
}

// Kernel knobs: opening core_pattern, drop_caches or a sysfs knob for
// writing fails (nothing is ever written); touch /sys/x fails.
func TestSecKernelKnobs(t *testing.T) {
	s := nsSandbox(t, Config{})
	knobs := []string{"/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches", "/proc/sys/kernel/randomize_va_space",
		"/proc/sys/vm/swappiness", "/sys/kernel/mm/transparent_hugepage/enabled", "/proc/sysrq-trigger"}
	script := `import os, sys
for p in sys.argv[1:]:
    try:
        fd = os.open(p, os.O_WRONLY)
    except OSError as e:
        print(p, "refused", e.errno)
    else:
        os.close(fd)
        print(p, "OPENED")
`
	r := runSpec(t, s, Spec{Path: "/usr/bin/python3", Args: append([]string{"python3", "-c", script}, knobs...), Env: s.BaseEnv()})
	for _, k := range knobs {
		if _, err := os.Stat(k); err != nil {
			continue
		}
		if !strings.Contains(r.stdout, k+" refused") {
			t.Errorf("%s writable from inside: %v", k, r)
		}
	}
	if r := run(t, s, "touch /sys/sbx-x || touch /sys/kernel/sbx-x || echo refused"); !strings.Contains(r.stdout, "refused") {
		t.Errorf("touch in /sys: %v", r)
	}
	if !s.Info().Layers["sys_readonly"] {
		t.Errorf("sys_readonly false: %v", s.Info().Reasons)
	}
}

// Masked /proc files read empty or fail.
func TestSecProcMasked(t *testing.T) {
	s := nsSandbox(t, Config{})
	for _, p := range []string{"/proc/keys", "/proc/timer_list", "/proc/kallsyms", "/proc/sched_debug", "/proc/kcore", "/proc/latency_stats"} {
		r := run(t, s, "head -c 100 "+p+" 2>/dev/null; true")
		if r.stdout != "" {
			t.Errorf("%s readable: %q", p, r.stdout)
		}
	}
	if r := run(t, s, "ls -A /proc/acpi /proc/scsi 2>/dev/null; true"); strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(r.stdout, "/proc/acpi:", ""), "/proc/scsi:", "")) != "" {
		t.Errorf("masked directories not empty: %v", r)
	}
	if !s.Info().Layers["proc_masked"] {
		t.Errorf("proc_masked false: %v", s.Info().Reasons)
	}
}

// /dev holds exactly the allowed set, devpts is the sandbox's own, and
// mknod of the host's disk fails.
func TestSecDevices(t *testing.T) {
	s := nsSandbox(t, Config{})
	r := run(t, s, "ls -A /dev")
	want := "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero"
	if got := strings.Join(strings.Fields(r.stdout), " "); got != want {
		t.Fatalf("/dev = %q, want %q", got, want)
	}
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err != nil {
		t.Fatal(err)
	}
	maj, min := unix.Major(st.Dev), unix.Minor(st.Dev)
	r = run(t, s, fmt.Sprintf("mknod /tmp/disk b %d %d && echo made; mknod /dev/disk b %d %d && echo made; mknod %s/disk b %d %d && echo made; true", maj, min, maj, min, s.Workdir(), maj, min))
	if strings.Contains(r.stdout, "made") {
		t.Fatalf("mknod of the host's disk succeeded: %v", r)
	}
	// A new devpts instance: a pty works, and its pts/ holds only ours.
	r = run(t, s, `/usr/bin/python3 -c "import os; m,s=os.openpty(); print(os.ttyname(s)); print(sorted(os.listdir('/dev/pts')))"; grep ' /dev/pts ' /proc/self/mountinfo`)
	if !strings.HasPrefix(r.stdout, "/dev/pts/0\n['0', 'ptmx']\n") || !strings.Contains(r.stdout, "devpts") {
		t.Fatalf("devpts: %v", r)
	}
	if !s.Info().Layers["dev_minimal"] {
		t.Errorf("dev_minimal false: %v", s.Info().Reasons)
	}
}

// A user namespace inside cannot be made (seccomp), so nothing can be
// remounted writable through one.
func TestSecNestedUserNamespace(t *testing.T) {
	s := nsSandbox(t, Config{})
	name := uniq("sbx-nested")
	r := run(t, s, fmt.Sprintf(`unshare -Urm sh -c 'mount -o remount,rw /; mount -o remount,rw /etc; mount -o remount,rw /proc/sys; touch /etc/%[1]s' && echo entered; unshare -Ur true && echo entered; /usr/bin/python3 -c "import os; os.unshare(os.CLONE_NEWUSER)" && echo entered; true`, name))
	if strings.Contains(r.stdout, "entered") {
		t.Fatalf("a nested user namespace was created: %v", r)
	}
	mustNotExist(t, "/etc/"+name)
	if r := run(t, s, "echo 1 > /proc/sys/kernel/sysrq && echo wrote; true"); strings.Contains(r.stdout, "wrote") {
		t.Fatalf("/proc/sys writable: %v", r)
	}
}

// A crash inside with the host's core_pattern changes nothing the host
// runs: core_pattern is the same before and after and cannot be written.
func TestSecCrashCorePattern(t *testing.T) {
	before, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	if err != nil {
		t.Fatal(err)
	}
	s := nsSandbox(t, Config{})
	r := run(t, s, `ulimit -c unlimited 2>/dev/null; (cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern) 2>/dev/null && echo wrote; sh -c 'kill -SEGV $$'; echo crashed=$?`)
	if strings.Contains(r.stdout, "wrote") || !strings.Contains(r.stdout, "crashed=139") {
		t.Fatalf("crash: %v", r)
	}
	after, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	if !bytes.Equal(before, after) {
		t.Fatalf("core_pattern changed: %q -> %q", before, after)
	}
}

// With the host's network, packet and raw sockets fail (CAP_NET_RAW gone).
func TestSecPacketSocketHostNetwork(t *testing.T) {
	s := nsSandbox(t, Config{Network: "host"})
	r := run(t, s, `/usr/bin/python3 -c "
import socket
for fam, typ, proto in ((socket.AF_PACKET, socket.SOCK_RAW, 0), (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)):
    try:
        socket.socket(fam, typ, proto)
        print('opened', fam)
    except OSError as e:
        print('refused', e.errno)
"`)
	if strings.Contains(r.stdout, "opened") || strings.Count(r.stdout, "refused") != 2 {
		t.Fatalf("raw sockets with the host network: %v", r)
	}
}

// The server binary, if visible at all, cannot be changed from inside.
func TestSecServerBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	s := nsSandbox(t, Config{})
	r := run(t, s, fmt.Sprintf(`echo junk >> %[1]s; cp /bin/true %[1]s; echo junk >> /proc/1/exe; ls -l /proc/1/exe; true`, exe))
	after, err := os.ReadFile(exe)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("server binary changed from inside: %v", r)
	}
	if strings.Contains(r.stdout, exe) {
		t.Fatalf("init's binary path is readable inside: %v", r)
	}
}

// prlimit on init fails, and init survives the attempt; a process's own
// limits and its children's stay settable.
func TestSecPrlimitInit(t *testing.T) {
	s := nsSandbox(t, Config{})
	r := run(t, s, `prlimit --pid 1 --nofile=3:3 && echo changed; prlimit --pid 1 --nproc=1:1 && echo changed; prlimit --nofile=100:100 true && echo self-ok; sleep 5 & prlimit --pid $! --nofile=50:50 && echo child-ok; kill $!`)
	if strings.Contains(r.stdout, "changed") || !strings.Contains(r.stdout, "self-ok") || !strings.Contains(r.stdout, "child-ok") {
		t.Fatalf("prlimit: %v", r)
	}
	var out struct{ S string }
	if err := s.Do(context.Background(), "test.echo", map[string]any{"s": "alive"}, &out); err != nil || out.S != "alive" {
		t.Fatalf("init after prlimit: %v", err)
	}
}

// io_uring and file handles are refused by seccomp.
func TestSecIoUringAndHandles(t *testing.T) {
	s := nsSandbox(t, Config{})
	script := fmt.Sprintf(`import ctypes
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(512)
for nr, args in ((%d, (8, buf)), (%d, (-100, b"/", buf, buf, 0))):
    r = libc.syscall(nr, *args)
    print(nr, r, ctypes.get_errno())
`, unix.SYS_IO_URING_SETUP, unix.SYS_NAME_TO_HANDLE_AT)
	r := runSpec(t, s, Spec{Path: "/usr/bin/python3", Args: []string{"python3", "-c", script}, Env: s.BaseEnv()})
	want := fmt.Sprintf("%d -1 %d\n%d -1 %d\n", unix.SYS_IO_URING_SETUP, unix.EPERM, unix.SYS_NAME_TO_HANDLE_AT, unix.EPERM)
	if r.stdout != want {
		t.Fatalf("got %v, want stdout %q", r, want)
	}
}

// Still usable: python3, node and git run; at level full, dpkg -i of a
// local package installs into the overlay and never onto the host.
func TestSecStillUsable(t *testing.T) {
	s := nsSandbox(t, Config{})
	r := run(t, s, `/usr/bin/python3 -c 'print(6*7)' && node -e 'console.log(6*7)' && git init -q repo && cd repo && git -c user.email=a@b -c user.name=a commit -q --allow-empty -m x && git log --oneline | wc -l`)
	if r.stdout != "42\n42\n1\n" {
		t.Fatalf("tools: %v", r)
	}
	pkg := uniq("sbx-confine-pkg")
	if wantLevel() != LevelFull {
		// The host's root-owned /var/lib/dpkg belongs to an unmapped uid:
		// dpkg is refused, and sandbox_info says so.
		if os.Geteuid() == 0 {
			return
		}
		if !slices.Contains(s.Info().Reasons, "filesystem: "+userNSForeignFiles) {
			t.Fatalf("level %s: reasons do not say dpkg cannot install: %q", wantLevel(), s.Info().Reasons)
		}
		r = run(t, s, fmt.Sprintf(`mkdir -p p/DEBIAN; printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n' > p/DEBIAN/control
dpkg-deb -b p p.deb >/dev/null && dpkg -i p.deb`, pkg))
		if r.exit.Code == 0 || !strings.Contains(r.stdout+r.stderr, "/var/lib/dpkg") {
			t.Fatalf("dpkg -i at level %s: %v (the report says it cannot work)", wantLevel(), r)
		}
		return
	}
	r = run(t, s, fmt.Sprintf(`set -e; mkdir -p p/DEBIAN p/usr/share/%[1]s; echo hi > p/usr/share/%[1]s/f
printf 'Package: %[1]s\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n' > p/DEBIAN/control
dpkg-deb -b p p.deb >/dev/null; dpkg -i p.deb >/dev/null; cat /usr/share/%[1]s/f; dpkg -s %[1]s | grep -c installed`, pkg))
	mustNotExist(t, "/usr/share/"+pkg)
	if r.stdout != "hi\n1\n" {
		t.Fatalf("dpkg -i in the overlay: %v", r)
	}
	if b, _ := os.ReadFile("/var/lib/dpkg/status"); bytes.Contains(b, []byte(pkg)) {
		t.Fatal("the host's dpkg database changed")
	}
}

// --rw and --ro bind host paths as named; --hide hides one.
func TestSecBindsAndHide(t *testing.T) {
	rw, ro := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(ro, "f"), []byte("ro"), 0o644)
	s := nsSandbox(t, Config{RW: []string{rw}, RO: []string{ro}, Hide: []string{"/etc/hostname"}})
	r := run(t, s, fmt.Sprintf(`echo w > %s/new && echo rw-ok; cat %s/f; echo x > %s/f && echo ro-written; wc -c < /etc/hostname`, rw, ro, ro))
	if !strings.HasPrefix(r.stdout, "rw-ok\nro0\n") && r.stdout != "rw-ok\nro0\n" {
		t.Fatalf("binds: %v", r)
	}
	if b, err := os.ReadFile(filepath.Join(rw, "new")); err != nil || string(b) != "w\n" {
		t.Fatalf("--rw write did not reach the host: %q %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(ro, "f")); string(b) != "ro" {
		t.Fatalf("--ro path changed: %q", b)
	}
	fs := s.Info().Filesystem
	if !slices.Contains(fs.Writable, rw) || !slices.Contains(fs.Readonly, ro) || !slices.Contains(fs.Hidden, "/etc/hostname") {
		t.Fatalf("filesystem report: %+v", fs)
	}
}

// --state keeps the overlay's changes across a restart; without it they
// are gone.
func TestSecStatePersists(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	name := "/etc/" + uniq("sbx-state")
	t.Cleanup(func() { os.Remove(name) })
	s1 := nsSandbox(t, Config{State: state})
	if r := run(t, s1, "echo kept > "+name+" && cat "+name); r.stdout != "kept\n" {
		t.Fatalf("write: %v", r)
	}
	s1.Close()
	mustNotExist(t, name)
	s2 := nsSandbox(t, Config{State: state})
	if r := run(t, s2, "cat "+name); r.stdout != "kept\n" {
		t.Fatalf("not kept across a restart: %v", r)
	}
	if fs := s2.Info().Filesystem; fs.State == nil || *fs.State == "" {
		t.Fatalf("state not reported: %+v", fs)
	}
	s3 := nsSandbox(t, Config{})
	if r := run(t, s3, "cat "+name+" 2>/dev/null; true"); r.stdout != "" {
		t.Fatalf("kept without --state: %v", r)
	}
}

// sandbox_info's filesystem object and layers, per root mode; strict
// refuses --root host.
func TestSecFilesystemInfo(t *testing.T) {
	s := nsSandbox(t, Config{})
	fs := s.Info().Filesystem
	if fs.Root != "overlay" || fs.Rootfs != "/" || fs.State != nil {
		t.Fatalf("default root: %+v", fs)
	}
	for _, p := range []string{s.Workdir(), "/tmp", "/var/tmp", "/run", "/root", "/"} {
		if !slices.Contains(fs.Writable, p) {
			t.Errorf("%s not reported writable: %+v", p, fs)
		}
	}
	if !slices.Contains(fs.Hidden, "/etc/shadow") {
		t.Errorf("/etc/shadow not reported hidden: %+v", fs)
	}
	for _, l := range []string{"proc_masked", "sys_readonly", "dev_minimal"} {
		if !s.Info().Layers[l] {
			t.Errorf("%s false: %v", l, s.Info().Reasons)
		}
	}

	ro := nsSandbox(t, Config{Root: "readonly"})
	if fs := ro.Info().Filesystem; fs.Root != "readonly" || !slices.Contains(fs.Readonly, "/") {
		t.Fatalf("readonly root: %+v", fs)
	}
	if r := run(t, ro, "touch /etc/sbx-ro-x 2>&1; echo ok > w && cat w"); !strings.Contains(r.stdout, "Read-only file system") || !strings.HasSuffix(r.stdout, "ok\n") {
		t.Fatalf("readonly root: %v", r)
	}

	h := nsSandbox(t, Config{Root: "host"})
	if fs := h.Info().Filesystem; fs.Root != "host" || !strings.Contains(strings.Join(h.Info().Reasons, "\n"), "root host") {
		t.Fatalf("host root: %+v %v", fs, h.Info().Reasons)
	}

	off := startSandbox(t, Config{Isolation: "off"})
	if fs := off.Info().Filesystem; fs.Root != "host" || off.Info().Layers["dev_minimal"] ||
		!strings.Contains(strings.Join(off.Info().Reasons, "\n"), "filesystem: root host") {
		t.Fatalf("level none: %+v %v", fs, off.Info().Reasons)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if sb, err := Start(ctx, Config{Isolation: "strict", Root: "host", Workdir: t.TempDir()}); err == nil {
		sb.Close()
		t.Fatal("strict accepted --root host")
	} else if wantLevel() == LevelFull && !strings.Contains(err.Error(), "root host") {
		t.Fatalf("strict refused for another reason: %v", err)
	}
}

// --rootfs DIR: the lower layer is DIR, not the host's /; writes land in
// the overlay, never in DIR.
func TestSecRootfs(t *testing.T) {
	root := filepath.Join(t.TempDir(), "rootfs")
	copyIn := func(p string) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, bin := range []string{"/bin/bash", "/bin/cat"} {
		copyIn(bin)
		out, err := exec.Command("ldd", bin).Output()
		if err != nil {
			t.Fatalf("ldd %s: %v", bin, err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
				copyIn(f[2])
			case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
				copyIn(f[0])
			}
		}
	}
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/marker"), []byte("from-rootfs\n"), 0o644)
	s := nsSandbox(t, Config{Rootfs: root})
	r := run(t, s, "cat /etc/marker; cat /etc/hostname 2>/dev/null || echo no-host-etc; echo new > /etc/new && cat /etc/new")
	if r.stdout != "from-rootfs\nno-host-etc\nnew\n" {
		t.Fatalf("rootfs: %v", r)
	}
	mustNotExist(t, filepath.Join(root, "etc/new"))
	if fs := s.Info().Filesystem; fs.Rootfs != root || fs.Root != "overlay" {
		t.Fatalf("rootfs report: %+v", fs)
	}
}
