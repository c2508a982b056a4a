package isolation

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The sandbox's own root, built by init stage 1 in its mount namespace
// before any sandbox process exists (after bubblewrap's and runc's way):
//
//	mount tmpfs "scratch" on /tmp (our namespace only), pivot_root into it:
//	  /oldroot   the host's tree, submounts and all
//	  /upper     overlay upper and work directories (or --state DIR)
//	  /newroot   with --root overlay outside a user namespace, one overlay of
//	    the whole lower root (upper private); else a tmpfs holding one
//	    entry per top-level entry of the lower root:
//	    symlinks copied; each directory an overlay (lower = the host's
//	    directory, upper private) or, for --root readonly, a read-only
//	    recursive bind; host submounts bound read-only on top;
//	    proc, sys, dev, tmp, var/tmp, run fresh;
//	    /root a private empty home; secrets hidden (empty tmpfs / empty file);
//	    the workdir and --rw paths bound read-write, --ro paths read-only.
//	drop /oldroot, pivot_root into /newroot, unmount the scratch.
//
// Why one overlay per top-level directory in a user namespace: overlayfs
// clones its lower layer without submounts, which an unprivileged user
// namespace refuses for "/" (its submounts are locked), while /usr, /etc,
// /var... usually have none. A directory with locked submounts (userns) is
// bound read-only instead and reported.

// fsConfig is the root the server asks for (initConfig.FS).
type fsConfig struct {
	Root    string   `json:"root"`             // overlay | readonly | host
	Rootfs  string   `json:"rootfs,omitempty"` // host directory for the lower layer ("" = /)
	State   string   `json:"state,omitempty"`  // host directory for the upper layer ("" = tmpfs)
	Workdir string   `json:"workdir"`          // bound read-write (host path, symlinks resolved)
	RW      []string `json:"rw,omitempty"`
	RO      []string `json:"ro,omitempty"`
	Hide    []string `json:"hide,omitempty"` // cfg.Hide plus the server user's homes
	UserNS  bool     `json:"userns,omitempty"`
	Mounts  []string `json:"-"` // the host's mount points, read before pivot_root
}

// fsStatus is what init achieved (initStatus.FS).
type fsStatus struct {
	Root        string   `json:"root"`
	ProcMasked  bool     `json:"proc_masked"`
	SysReadonly bool     `json:"sys_readonly"`
	DevMinimal  bool     `json:"dev_minimal"`
	Hidden      []string `json:"hidden,omitempty"`
	Readonly    []string `json:"readonly,omitempty"`
	Writable    []string `json:"writable,omitempty"`
	BuildMicros int64    `json:"build_us"` // time buildRoot took (for the benchmarks)
}

// defaultHidden are hidden in every namespace level (those that do not
// exist are skipped). /home/* is added entry by entry; /root becomes a
// private, empty, writable home.
var defaultHidden = []string{
	"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
	"/var/run/docker.sock", "/run/docker.sock", "/run/containerd", "/run/secrets",
	"/var/run/secrets", "/var/lib/kubelet",
}

const (
	scratchDir = "/tmp" // covered by our tmpfs in our namespace only
	oldRoot    = "/oldroot"
	newRoot    = "/newroot"
	upperTmp   = "/upper"
)

// privateDirs get a fresh tmpfs (not with --root host): mode per path.
var privateDirs = []struct {
	path string
	mode string
}{{"/tmp", "1777"}, {"/var/tmp", "1777"}, {"/run", "0755"}}

// rootBuilder builds the new root under newRoot from the host's tree
// under oldRoot.
type rootBuilder struct {
	cfg   *fsConfig
	st    *fsStatus
	gap   func(format string, args ...any)
	lower string          // oldRoot + rootfs
	upper string          // where upper/ and work/ go
	ovl   map[string]bool // top-level directories that got an overlay
	// ovlAll: one overlay holds the whole lower root (overlayAll).
	ovlAll bool
	// covered are host mount points whose whole subtree is already in
	// the new root (recursive binds).
	covered []string
}

// buildRoot makes a new root and pivots into it. On return the process's
// root and cwd are the new root; the host's tree is no longer reachable.
//
// Preconditions: in a fresh mount namespace whose mounts are private, with
// CAP_SYS_ADMIN in it; single-threaded as far as fs state goes (stage 1).
func buildRoot(cfg *fsConfig, st *fsStatus, gap func(string, ...any)) error {
	t0 := time.Now()
	defer func() { st.BuildMicros = time.Since(t0).Microseconds() }()
	mounts, err := hostMountPoints()
	if err != nil {
		return err
	}
	cfg.Mounts = mounts
	if err := unix.Mount("sbx-scratch", scratchDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
		return fmt.Errorf("mount scratch tmpfs: %w", err)
	}
	for _, d := range []string{oldRoot, newRoot, upperTmp} {
		if err := os.Mkdir(scratchDir+d, 0o700); err != nil {
			return err
		}
	}
	if err := unix.PivotRoot(scratchDir, scratchDir+oldRoot); err != nil {
		return fmt.Errorf("pivot_root to scratch: %w", err)
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	b := &rootBuilder{cfg: cfg, st: st, gap: gap, lower: oldRoot + cfg.Rootfs, upper: upperTmp, ovl: map[string]bool{}}
	if cfg.State != "" {
		b.upper = oldRoot + cfg.State
	}
	if err := b.build(); err != nil {
		return err
	}
	// Leave the host's tree, then make /newroot the root (runc's
	// pivot_root(".", ".") then detach the old root stacked on top).
	if err := unix.Mount("", oldRoot, "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make old root private: %w", err)
	}
	if err := unix.Unmount(oldRoot, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := os.Chdir(newRoot); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach scratch: %w", err)
	}
	return os.Chdir("/")
}

func (b *rootBuilder) build() error {
	switch b.cfg.Root {
	case "host":
		if err := unix.Mount(b.lower, newRoot, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind host root: %w", err)
		}
		b.st.Writable = append(b.st.Writable, "/")
	default:
		if err := b.layers(); err != nil {
			return err
		}
		b.submounts()
		for _, d := range privateDirs {
			p, err := resolveIn(newRoot, d.path)
			if err != nil || !isDir(p) {
				continue
			}
			if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode="+d.mode); err != nil {
				return fmt.Errorf("private %s: %w", d.path, err)
			}
			b.st.Writable = append(b.st.Writable, d.path)
		}
	}
	if err := b.hide(); err != nil {
		return err
	}
	if err := b.binds(); err != nil {
		return err
	}
	if err := mountProc(newRoot, b.st, b.gap); err != nil {
		return err
	}
	mountSys(newRoot, oldRoot, b.st, b.gap)
	if err := mountDev(newRoot, oldRoot, !b.cfg.UserNS, b.st); err != nil {
		b.gap("dev_minimal: %v", err)
	}
	return nil
}

// layers fills newRoot's top level: a tmpfs with one overlay (or
// read-only bind) per directory of the lower root.
func (b *rootBuilder) layers() error {
	if b.cfg.Root == "overlay" && !b.cfg.UserNS && b.overlayAll() {
		return nil
	}
	if err := unix.Mount("sbx-root", newRoot, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mount root tmpfs: %w", err)
	}
	ents, err := os.ReadDir(b.lower)
	if err != nil {
		return fmt.Errorf("read lower root: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		src, dst := b.lower+"/"+name, newRoot+"/"+name
		fi, err := os.Lstat(src)
		if err != nil {
			continue
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			t, err := os.Readlink(src)
			if err == nil {
				err = os.Symlink(t, dst)
			}
			if err != nil {
				return fmt.Errorf("copy /%s: %w", name, err)
			}
		case fi.IsDir():
			if err := os.Mkdir(dst, fi.Mode().Perm()); err != nil {
				return err
			}
			switch name {
			case "proc", "sys", "dev", "tmp", "run", "root":
				continue // fresh, below (/root: the private home)
			}
			b.layer(name, src, dst)
		default:
			if err := os.WriteFile(dst, nil, 0o644); err == nil {
				_ = bindReadonly(src, dst)
			}
		}
	}
	// Mount points a --rootfs may lack.
	for _, d := range []string{"proc", "sys", "dev", "tmp", "run"} {
		if err := os.Mkdir(newRoot+"/"+d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	switch b.cfg.Root {
	case "readonly":
		b.st.Readonly = append(b.st.Readonly, "/")
	default:
		b.st.Writable = append(b.st.Writable, "/")
	}
	return nil
}

// overlayAll mounts one overlay of the whole lower root at newRoot: one
// mount instead of one per top-level directory (each costs ~0.1 ms of the
// start). Its upper layer has the same layout as the per-directory ones
// (upper/usr/... either way), so a --state directory serves both. Only
// where the lower root's submounts are not locked (not in a user
// namespace: there the kernel refuses it); reports whether it worked.
func (b *rootBuilder) overlayAll() bool {
	up, wk := b.upper+"/upper", b.upper+"/work/.sbx-root"
	err := os.MkdirAll(up, 0o755)
	if err == nil {
		err = os.MkdirAll(wk, 0o700)
	}
	if err == nil {
		err = unix.Mount("overlay", newRoot, "overlay", unix.MS_NOSUID|unix.MS_NODEV,
			"lowerdir="+b.lower+",upperdir="+up+",workdir="+wk)
	}
	if err != nil {
		return false // one overlay per directory instead
	}
	b.ovlAll = true
	// The mount points of the fresh filesystems (a --rootfs may lack them;
	// in the upper layer then). Their lower contents are covered below.
	for _, d := range []string{"proc", "sys", "dev", "tmp", "run", "root"} {
		if p, err := resolveIn(newRoot, "/"+d); err == nil && !isDir(p) {
			_ = os.MkdirAll(p, 0o755)
		}
	}
	b.st.Writable = append(b.st.Writable, "/")
	return true
}

// overlaid reports whether the top-level directory top is in an overlay.
func (b *rootBuilder) overlaid(top string) bool { return b.ovlAll || b.ovl[top] }

// layer puts the lower directory src at dst: an overlay with a private
// upper layer, else (readonly, or an overlay refused) a read-only bind.
func (b *rootBuilder) layer(name, src, dst string) {
	if b.cfg.Root == "overlay" {
		up, wk := b.upper+"/upper/"+name, b.upper+"/work/"+name
		err := os.MkdirAll(up, 0o755)
		if err == nil {
			err = os.MkdirAll(wk, 0o700)
		}
		if err == nil {
			opts := "lowerdir=" + src + ",upperdir=" + up + ",workdir=" + wk
			if b.cfg.UserNS {
				opts += ",userxattr"
			}
			err = unix.Mount("overlay", dst, "overlay", unix.MS_NOSUID|unix.MS_NODEV, opts)
		}
		if err == nil {
			b.ovl[name] = true
			return
		}
		b.gap("filesystem: /%s is read-only: overlay refused (%v)", name, err)
	}
	if err := bindReadonly(src, dst); err != nil {
		b.gap("filesystem: /%s left empty: %v", name, err)
		return
	}
	b.covered = append(b.covered, "/"+name)
	if b.cfg.Root == "overlay" {
		b.st.Readonly = append(b.st.Readonly, "/"+name)
	}
}

// submounts binds the host's mounts that the overlays do not show, read-only
// (overlayfs shows one filesystem per layer).
func (b *rootBuilder) submounts() {
	if b.cfg.Rootfs != "" {
		return
	}
	for _, m := range b.cfg.Mounts {
		top, _, _ := strings.Cut(strings.TrimPrefix(m, "/"), "/")
		if m == "/" || !b.overlaid(top) || under(m, b.covered) || under(m, privatePaths()) {
			continue
		}
		dst, err := resolveIn(newRoot, m)
		if err != nil {
			continue
		}
		if err := bindReadonly(oldRoot+m, dst); err != nil {
			b.gap("filesystem: host mount %s not shown: %v", m, err)
			continue
		}
		b.covered = append(b.covered, m)
		b.st.Readonly = append(b.st.Readonly, m)
	}
}

func privatePaths() []string {
	out := []string{"/proc", "/sys", "/dev"}
	for _, d := range privateDirs {
		out = append(out, d.path)
	}
	return out
}

// hide covers secrets: directories with an empty read-only tmpfs, files
// with an empty file. /root and the server user's home become private.
func (b *rootBuilder) hide() error {
	paths := append([]string(nil), defaultHidden...)
	if ents, err := os.ReadDir(newRoot + "/home"); err == nil {
		for _, e := range ents {
			paths = append(paths, "/home/"+e.Name())
		}
	}
	if names, err := filepath.Glob(newRoot + "/etc/ssh/*_key"); err == nil {
		for _, n := range names {
			paths = append(paths, strings.TrimPrefix(n, newRoot))
		}
	}
	paths = append(paths, b.cfg.Hide...)
	// The private home first: a hidden path may lie below it.
	if p, err := resolveIn(newRoot, "/root"); err == nil {
		_ = os.MkdirAll(p, 0o700)
		if err := unix.Mount("sbx-home", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
			return fmt.Errorf("private /root: %w", err)
		}
		b.st.Writable = append(b.st.Writable, "/root")
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	for _, path := range paths {
		if path == "/root" {
			continue
		}
		p, err := resolveIn(newRoot, path)
		if err != nil {
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil {
			continue // nothing to hide
		}
		if fi.IsDir() {
			err = unix.Mount("sbx-hidden", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=64k")
		} else {
			err = b.hideFile(path, p)
		}
		if err != nil {
			b.gap("filesystem: cannot hide %s: %v", path, err)
			continue
		}
		b.st.Hidden = append(b.st.Hidden, path)
	}
	return nil
}

// hideFile empties a file: in an overlay the file is removed (a whiteout:
// nothing is copied up) and recreated empty, so that the sandbox may still
// replace it (useradd rewrites /etc/shadow); elsewhere /dev/null is bound
// over it. A copy the sandbox wrote itself (--state) is left alone.
func (b *rootBuilder) hideFile(path, p string) error {
	top, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if b.overlaid(top) && !under(path, b.covered) {
		if fi, err := os.Lstat(b.upper + "/upper" + path); err == nil && fi.Mode().IsRegular() {
			return nil
		}
		if os.Remove(p) == nil {
			return os.WriteFile(p, nil, 0o600)
		}
	}
	return bindReadonly(oldRoot+"/dev/null", p)
}

// binds puts the workdir and --rw paths read-write and --ro paths
// read-only at their own paths; tmpfs that hide their parents are made
// read-only afterwards.
func (b *rootBuilder) binds() error {
	type bind struct {
		path string
		rw   bool
	}
	list := []bind{{b.cfg.Workdir, true}}
	for _, p := range b.cfg.RW {
		list = append(list, bind{p, true})
	}
	for _, p := range b.cfg.RO {
		list = append(list, bind{p, false})
	}
	for _, bd := range list {
		if bd.path == "" || bd.path == "/" {
			continue
		}
		src := oldRoot + bd.path
		fi, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("bind %s: %w", bd.path, err)
		}
		dst, err := resolveIn(newRoot, bd.path)
		if err != nil {
			return fmt.Errorf("bind %s: %w", bd.path, err)
		}
		if fi.IsDir() {
			err = os.MkdirAll(dst, 0o755)
		} else if _, serr := os.Lstat(dst); serr != nil {
			if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
				err = os.WriteFile(dst, nil, 0o644)
			}
		}
		if err != nil {
			return fmt.Errorf("bind %s: mount point: %w", bd.path, err)
		}
		if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", bd.path, err)
		}
		if bd.rw {
			b.st.Writable = append(b.st.Writable, bd.path)
			continue
		}
		if err := setReadonly(dst, true); err != nil {
			return fmt.Errorf("bind %s read-only: %w", bd.path, err)
		}
		b.st.Readonly = append(b.st.Readonly, bd.path)
	}
	// The hiding tmpfs may have gained mount points above: now read-only.
	for _, path := range b.st.Hidden {
		if p, err := resolveIn(newRoot, path); err == nil && isDir(p) {
			if err := setReadonly(p, false); err != nil {
				return fmt.Errorf("hidden %s read-only: %w", path, err)
			}
		}
	}
	return nil
}

// bindReadonly binds src (with its submounts) at dst, read-only, nosuid,
// nodev throughout.
func bindReadonly(src, dst string) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return setReadonly(dst, true)
}

// setReadonly makes the mount at p (and, when recursive, every mount below)
// read-only, nosuid and nodev. mount_setattr keeps the other flags, which an
// unprivileged user namespace may not clear (locked).
func setReadonly(p string, recursive bool) error {
	var flags uint = unix.AT_SYMLINK_NOFOLLOW
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	return unix.MountSetattr(-1, p, flags, attr)
}

// resolveIn resolves path inside root as if root were "/": symlinks,
// absolute or relative, never leave root. A missing tail is kept as is.
func resolveIn(root, path string) (string, error) {
	parts := strings.Split(path, "/")
	cur := "/"
	for links := 0; len(parts) > 0; {
		name := parts[0]
		parts = parts[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(root + next)
		if err != nil {
			return root + filepath.Join(append([]string{next}, parts...)...), nil
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("%s: %w", path, unix.ELOOP)
		}
		t, err := os.Readlink(root + next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(t, "/") {
			cur = "/"
		}
		parts = append(strings.Split(t, "/"), parts...)
	}
	return root + cur, nil
}

// hostMountPoints lists the mount points of /proc/self/mountinfo in order
// (a parent before its children), octal escapes decoded.
func hostMountPoints() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(f, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		out = append(out, unescapeOctal(fields[4]))
	}
	return out, sc.Err()
}

func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// under reports whether p is one of dirs or below one.
func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// planRoot validates the root options (server side) and resolves the host
// paths init binds (their symlinks are the host's, resolved here).
func planRoot(cfg Config, workdir string, lvl Level) (fsConfig, error) {
	fc := fsConfig{Root: cfg.Root, UserNS: lvl == LevelUserNS}
	switch fc.Root {
	case "":
		fc.Root = "overlay"
	case "overlay", "readonly", "host":
	default:
		return fc, fmt.Errorf("root %q: want overlay, readonly or host", cfg.Root)
	}
	if lvl == LevelNone {
		fc.Root = "host"
		return fc, nil
	}
	var err error
	if fc.Workdir, err = hostPath("workdir", workdir); err != nil {
		return fc, err
	}
	if cfg.Rootfs != "" {
		if fc.Rootfs, err = hostPath("rootfs", cfg.Rootfs); err != nil {
			return fc, err
		}
		if !isDir(fc.Rootfs) {
			return fc, fmt.Errorf("rootfs %s: not a directory", cfg.Rootfs)
		}
		if fc.Rootfs == "/" {
			fc.Rootfs = ""
		}
	}
	if cfg.State != "" {
		if fc.Root != "overlay" {
			return fc, fmt.Errorf("state %s: only --root overlay has a layer to keep", cfg.State)
		}
		if err := os.MkdirAll(cfg.State, 0o700); err != nil {
			return fc, fmt.Errorf("state: %w", err)
		}
		if fc.State, err = hostPath("state", cfg.State); err != nil {
			return fc, err
		}
	}
	for _, p := range [...]string{fc.Rootfs, fc.State} {
		if strings.ContainsAny(p, ",:") {
			return fc, fmt.Errorf("%s: overlayfs takes no ',' or ':' in a layer's path", p)
		}
	}
	for _, p := range cfg.RW {
		hp, err := hostPath("rw", p)
		if err != nil {
			return fc, err
		}
		fc.RW = append(fc.RW, hp)
	}
	for _, p := range cfg.RO {
		hp, err := hostPath("ro", p)
		if err != nil {
			return fc, err
		}
		fc.RO = append(fc.RO, hp)
	}
	for _, p := range cfg.Hide {
		if !filepath.IsAbs(p) {
			return fc, fmt.Errorf("hide %s: want an absolute path", p)
		}
		fc.Hide = append(fc.Hide, filepath.Clean(p))
	}
	// The server user's home, by $HOME and by its passwd entry.
	homes := []string{os.Getenv("HOME")}
	if u, err := user.Current(); err == nil {
		homes = append(homes, u.HomeDir)
	}
	for _, h := range homes {
		if filepath.IsAbs(h) && filepath.Clean(h) != "/" {
			fc.Hide = append(fc.Hide, filepath.Clean(h))
			if r, err := filepath.EvalSymlinks(h); err == nil && r != "/" {
				fc.Hide = append(fc.Hide, r)
			}
		}
	}
	return fc, nil
}

// hostPath is p made absolute with the host's symlinks resolved.
func hostPath(what, p string) (string, error) {
	a, err := filepath.Abs(p)
	if err == nil {
		a, err = filepath.EvalSymlinks(a)
	}
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", what, p, err)
	}
	return a, nil
}

// filesystemInfo is sandbox_info's filesystem object.
func filesystemInfo(fc fsConfig, st fsStatus, ns bool) Filesystem {
	f := Filesystem{Root: fc.Root, Rootfs: "/", Hidden: []string{}, Readonly: []string{}, Writable: []string{}}
	if !ns {
		f.Root, f.Writable = "host", []string{"/"}
		return f
	}
	if fc.Rootfs != "" {
		f.Rootfs = fc.Rootfs
	}
	if fc.State != "" {
		state := fc.State
		f.State = &state
	}
	f.Hidden = append(f.Hidden, st.Hidden...)
	f.Readonly = append(f.Readonly, st.Readonly...)
	f.Writable = append(f.Writable, st.Writable...)
	return f
}
