package isolation

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// fdJobs is the stage 1 → init descriptor of init's v2 cgroup directory
// (on the host's cgroup2 mount, which the sandbox never sees): job cgroups
// are created and joined through it (jobs_linux.go).
const fdJobs = 6

// fdJobsTasks, fdJobsTasks+1, ... carry the v1 jobs cgroups' tasks files
// (initConfig.JobsTasks, opened on the host's mounts) for the spawner
// thread to join in runInit.
const fdJobsTasks = 7

// cgroupRoot is where the sandbox sees its cgroups.
const cgroupRoot = "/sys/fs/cgroup"

// enterCgroupNamespace confines the sandbox's view of cgroups. The server
// has put init into the sandbox's cgroups before sending the config, so
// the new cgroup namespace is rooted there: /proc/*/cgroup reads "/" (or
// "/jobs"), and a cgroupfs mounted inside shows that subtree and nothing
// above or beside it (no other sandbox, no limits set on the parent). The
// host's cgroup mounts are detached and the sandbox's own are mounted
// read-only: no process inside can create, join, freeze or retune a
// cgroup; init keeps a writable handle on its v2 cgroup (fdJobs) opened
// before, for the job cgroups.
//
// Preconditions: stage 1, on its locked thread, after / was made private,
// after openCgroupHandles and after the new root is built (the mounts go
// on its /sys/fs/cgroup); before seccomp (which refuses unshare).
func enterCgroupNamespace(cfg *initConfig, st *initStatus) {
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		st.gap("cgroup_ns: unshare: %v", err)
		st.gap("cgroup_confined: no cgroup namespace; %s is the host's", cgroupRoot)
		return
	}
	st.CgroupNS = true
	if err := mountCgroups(cfg.CgroupMounts); err != nil {
		st.gap("cgroup_confined: %v", err)
		return
	}
	st.CgroupConfined = true
}

// openCgroupHandles opens init's v2 cgroup (fdJobs) and the v1 jobs tasks
// files (fdJobsTasks...) on the host's cgroup mounts, which the sandbox's
// new root does not have.
//
// Preconditions: stage 1, before buildRoot.
func openCgroupHandles(cfg *initConfig, st *initStatus) {
	if cfg.CgroupJobs != "" {
		fd, err := unix.Open(cfg.CgroupJobs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = moveFd(fd, fdJobs)
		}
		if err != nil {
			st.gap("job_cgroups: open the sandbox's cgroup %s: %v", cfg.CgroupJobs, err)
		} else {
			st.JobsFD = true
		}
	}
	for i, tasks := range cfg.JobsTasks {
		fd, err := unix.Open(tasks, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = moveFd(fd, fdJobsTasks+i)
		}
		if err != nil {
			st.gap("cgroup_limits: open %s: %v", tasks, err)
			break
		}
		st.JobsTaskFDs++
	}
}

// moveFd makes fd the descriptor number to, kept across execve.
func moveFd(fd, to int) error {
	if fd == to {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0)
		return err
	}
	err := unix.Dup3(fd, to, 0)
	unix.Close(fd)
	return err
}

// mountCgroups replaces whatever is mounted at /sys/fs/cgroup with a
// read-only view of the sandbox's own hierarchies: a cgroup2 mount at the
// top on a pure v2 host, else a tmpfs holding one directory per hierarchy
// (an empty tmpfs when the sandbox has no cgroup of its own).
func mountCgroups(mounts []cgroupMount) error {
	if _, err := os.Stat(cgroupRoot); err != nil {
		return fmt.Errorf("%s: %w", cgroupRoot, err)
	}
	// Detach the host's mounts (and everything under them). EINVAL: not a
	// mount point, nothing to detach.
	if err := unix.Unmount(cgroupRoot, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
		return fmt.Errorf("detach the host's %s: %w", cgroupRoot, err)
	}
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY
	if len(mounts) == 1 && mounts[0].Dir == "" {
		m := mounts[0]
		if err := unix.Mount(m.Type, cgroupRoot, m.Type, flags, m.Data); err != nil {
			return fmt.Errorf("mount %s at %s: %w", m.Type, cgroupRoot, err)
		}
		return nil
	}
	if err := unix.Mount("cgroup-root", cgroupRoot, "tmpfs", flags&^unix.MS_RDONLY, "mode=0755,size=64k,nr_inodes=64"); err != nil {
		return fmt.Errorf("mount a tmpfs at %s: %w", cgroupRoot, err)
	}
	for _, m := range mounts {
		if m.Dir == "" || filepath.IsAbs(m.Dir) || filepath.Clean(m.Dir) != m.Dir || m.Dir == ".." || filepath.Dir(m.Dir) != "." {
			continue // only plain names under the tmpfs
		}
		dir := filepath.Join(cgroupRoot, m.Dir)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", dir, err)
		}
		if err := unix.Mount(m.Type, dir, m.Type, flags, m.Data); err != nil {
			return fmt.Errorf("mount %s (%s) at %s: %w", m.Type, m.Data, dir, err)
		}
	}
	if err := unix.Mount("", cgroupRoot, "", unix.MS_REMOUNT|unix.MS_BIND|flags, ""); err != nil {
		return fmt.Errorf("make %s read-only: %w", cgroupRoot, err)
	}
	return nil
}
