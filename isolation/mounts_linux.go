package isolation

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Kernel surfaces of the new root, as a hardened container has them (runc's
// defaults: libcontainer/specconv's masked and read-only paths).

// procMasked read empty (files: /dev/null bound over them) or as an empty
// read-only directory.
var procMasked = []string{
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/proc/kallsyms",
}

// procReadonly are bound read-only over themselves.
var procReadonly = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}

// sysMasked are covered by an empty read-only tmpfs.
var sysMasked = []string{"/sys/firmware", "/sys/devices/virtual/powercap"}

// devNodes are the only device nodes in /dev, bound from the host's (a
// user namespace may not mknod).
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

// mountProc mounts a fresh procfs at root/proc and masks it. Without a
// fresh /proc the pid namespace is useless (pids would be the host's), so
// that failure fails the level.
func mountProc(root string, st *fsStatus, gap func(string, ...any)) error {
	if err := unix.Mount("proc", root+"/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount fresh /proc: %w", err)
	}
	var err error
	for _, p := range procMasked {
		if e := maskPath(root+p, oldRoot+"/dev/null"); e != nil && err == nil {
			err = fmt.Errorf("mask %s: %w", p, e)
		}
	}
	for _, p := range procReadonly {
		if e := readonlySelf(root + p); e != nil && err == nil {
			err = fmt.Errorf("%s read-only: %w", p, e)
		}
	}
	if err != nil {
		gap("proc_masked: %v", err)
	} else {
		st.ProcMasked = true
	}
	return nil
}

// maskPath hides p: a file gets null bound over it, a directory an empty
// read-only tmpfs. A path that does not exist needs nothing.
func maskPath(p, null string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return nil
	}
	if fi.IsDir() {
		return unix.Mount("sbx-masked", p, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0")
	}
	return unix.Mount(null, p, "", unix.MS_BIND, "")
}

// readonlySelf binds p over itself and makes it read-only (recursively).
func readonlySelf(p string) error {
	if _, err := os.Stat(p); err != nil {
		return nil
	}
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return setReadonly(p, true)
}

// mountSys gives root/sys a read-only sysfs: a fresh one when the kernel
// allows it (it needs a network namespace of our user namespace's), else
// the host's bound read-only. /sys/fs/cgroup is an empty read-only tmpfs
// (the host's cgroup mounts do not show through); the sandbox's own cgroup
// hierarchies go there.
func mountSys(root, old string, st *fsStatus, gap func(string, ...any)) {
	dst := root + "/sys"
	flags := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("sysfs", dst, "sysfs", flags, ""); err != nil {
		if err := bindReadonly(old+"/sys", dst); err != nil {
			gap("sys_readonly: no /sys: %v", err)
			return
		}
	}
	var err error
	for _, p := range sysMasked {
		if e := maskPath(root+p, old+"/dev/null"); e != nil && err == nil {
			err = fmt.Errorf("mask %s: %w", p, e)
		}
	}
	if cg := dst + "/fs/cgroup"; isDir(cg) {
		if e := unix.Mount("sbx-cgroup", cg, "tmpfs", flags, "mode=0755,size=64k"); e != nil && err == nil {
			err = fmt.Errorf("cover /sys/fs/cgroup: %w", e)
		}
	}
	if err != nil {
		gap("sys_readonly: %v", err)
		return
	}
	st.SysReadonly = true
}

// mountDev makes root/dev a fresh tmpfs with only devNodes, a new devpts
// instance (ptmx inside it), shm, mqueue and the fd links; the tmpfs is
// then read-only and nodev (nothing made there is a device).
func mountDev(root, old string, realRoot bool, st *fsStatus) error {
	dev := root + "/dev"
	if err := unix.Mount("sbx-dev", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return fmt.Errorf("mount /dev tmpfs: %w", err)
	}
	for _, n := range devNodes {
		if err := os.WriteFile(dev+"/"+n, nil, 0o666); err != nil {
			return err
		}
		if err := unix.Mount(old+"/dev/"+n, dev+"/"+n, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", n, err)
		}
	}
	for _, d := range []string{"pts", "shm", "mqueue"} {
		if err := os.Mkdir(dev+"/"+d, 0o755); err != nil {
			return err
		}
	}
	opts := "newinstance,ptmxmode=0666,mode=0620"
	if realRoot {
		opts += ",gid=5" // tty; not mapped in a user namespace
	}
	if err := unix.Mount("devpts", dev+"/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, opts); err != nil {
		return fmt.Errorf("mount devpts: %w", err)
	}
	if err := unix.Mount("shm", dev+"/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	if err := unix.Mount("mqueue", dev+"/mqueue", "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /dev/mqueue: %w", err)
	}
	for name, target := range map[string]string{
		"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	} {
		if err := os.Symlink(target, dev+"/"+name); err != nil {
			return err
		}
	}
	if err := setReadonly(dev, false); err != nil {
		return fmt.Errorf("/dev read-only: %w", err)
	}
	st.DevMinimal = true
	return nil
}
