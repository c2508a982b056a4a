package isolation

// The private directory: where init keeps files that sandbox programs must
// not reach by any path (the sessions' output FIFOs).
//
// In the namespace levels stage 1 mounts a small tmpfs, opens its root
// (O_PATH) at fdPrivate and detaches the mount (MNT_DETACH): the directory
// then exists only as that descriptor, in no mount namespace's tree, and
// stays usable through it. Init reaches it as /proc/self/fd/<fdPrivate>
// (Sandbox.PrivateDir; ops use that path), and a child spawned with
// Spec.PrivateFd gets the descriptor too, which it can use through its own
// /proc/self/fd. Nobody else can: /proc/PID/fd of another process needs
// ptrace access, and the holders are init and non-dumpable session shells,
// which close it for every command they run. At level none stage 1 cannot
// mount: the directory is RunDir/private on the host, reachable by path
// to processes of the same uid (reported in reasons).

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// fdPrivate is the stage 1 → init descriptor of the private directory
// (above fdJobsTasks and the few v1 controllers).
const fdPrivate = 40

// openPrivateDir makes the private directory below runDir and puts it at
// fdPrivate; with detach, on a tmpfs taken out of the mount tree.
//
// Preconditions: stage 1, with CAP_SYS_ADMIN when detach is set.
func openPrivateDir(runDir string, detach bool, st *initStatus) {
	p := runDir + "/private"
	if err := os.Mkdir(p, 0o700); err != nil {
		st.gap("private_dir: %v", err)
		return
	}
	if detach {
		if err := unix.Mount("sbx-private", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,size=16m,nr_inodes=65536"); err != nil {
			st.gap("private_dir: mount: %v", err)
			os.Remove(p)
			return
		}
	}
	fd, err := unix.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		st.gap("private_dir: open: %v", err)
		return
	}
	if detach {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
			unix.Close(fd)
			st.gap("private_dir: detach: %v", err)
			return
		}
		os.Remove(p)
	}
	if err := moveFd(fd, fdPrivate); err != nil {
		st.gap("private_dir: %v", err)
		return
	}
	st.Private, st.PrivateDetached = true, detach
	if !detach {
		st.gap("private_dir: no mount namespace, so the sessions' output FIFOs are in %s, where processes of the same uid can open them", p)
	}
}

// privatePath is the private directory as init (and its ops) reach it.
func privatePath() string { return "/proc/self/fd/" + strconv.Itoa(fdPrivate) }

// PrivatePathIn is the private directory as a child spawned with
// Spec.PrivateFd = fd reaches it.
func PrivatePathIn(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// checkPrivateFd validates a spawn's PrivateFd against what init has.
func (d *initd) checkPrivateFd(fd int) error {
	switch {
	case !d.st.Private:
		return fmt.Errorf("spawn: the sandbox has no private directory")
	case fd < 3 || fd >= minSealedFd || fd == fdPrivate:
		return fmt.Errorf("spawn: private fd %d out of range", fd)
	}
	return nil
}
