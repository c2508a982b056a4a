package isolation

// Non-dumpable children (Spec.NonDumpable): the session shells, whose
// status and script channels no other sandbox process may reach, and the
// code drivers, whose result channels no other process may write.
//
// Every sandbox process runs under the same uid, and a process of the same
// uid may ptrace another, write its memory through /proc/PID/mem or open
// its descriptors through /proc/PID/fd, unless the target is not
// "dumpable" and the caller lacks CAP_SYS_PTRACE in the target's user
// namespace (kernel/ptrace.c __ptrace_may_access; fs/proc/base.c
// proc_fd_access_allowed goes through the same check). CAP_SYS_PTRACE is
// never in the sandbox's bounding set, so a non-dumpable process is out of
// reach of every other sandbox process, its own children included.
//
// A process cannot be made non-dumpable from outside, and bash has no
// prctl; execve does it: when the executed file is not readable by the
// exec'ing task, would_dump sets BINPRM_FLAGS_ENFORCE_NONDUMP and
// begin_new_exec sets the new image's dumpable to fs.suid_dumpable (0 or
// 2: not SUID_DUMP_USER) instead of SUID_DUMP_USER (fs/exec.c). So init
// keeps a copy of the executable in a sealed memfd with mode 0111 and
// executes that through /proc/self/fd/N; root could read it anyway with
// CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH, so the spawner thread drops
// those two from its effective set around the fork (capabilities are per
// thread; the child inherits the thread's) and raises them again. At
// execve, root's effective set is recomputed from its permitted set, which
// is unchanged (no_new_privs included: nothing is gained), so the child
// runs with the usual capabilities, only non-dumpable.
//
// A dynamically linked program other than the shell is not copied: its
// ELF interpreter is (see nonDumpableExec), which is just as unreadable.
//
// What stays non-dumpable: the process and its forks (bash's subshells,
// process substitutions), which share its credentials. A program it
// executes is readable and dumpable again: its own business.
//
// The copy is made when init starts, before any sandbox code runs, so a
// later change to the file inside the sandbox (a replaced /bin/bash) never
// reaches a session shell; the sandbox's root is read as it was at start.
//
// The child's working directory is set (in the child, before execve) with
// the reduced capabilities: callers that may start in a directory only
// root's DAC capabilities reach start in "/" and change directory after.
//
// Side effects, all cosmetic: the child's comm is the descriptor number
// (the basename of the path executed; bash's setup rewrites it),
// /proc/PID/exe reads "/memfd:NAME (deleted)", argv is as given.

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ShellPath is the executable init copies for non-dumpable spawns at start.
const ShellPath = "/bin/bash"

// minSealedFd keeps the memfds above the descriptors a child receives
// (ForkExec dup2s Files onto 0..n-1 before execve).
const minSealedFd = 100

// sealed holds init's memfd copies of executables (path → fd).
type sealed struct {
	mu  sync.Mutex
	fds map[string]int
}

// Bounds of the sealed copies: the paths come from the sandbox's files
// (an interpreter named by a program it may have replaced).
const (
	maxSealed     = 8        // distinct executables
	maxSealedSize = 32 << 20 // bytes each
)

// fd returns the memfd copy of path, making it on first use.
func (s *sealed) fd(path string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fd, ok := s.fds[path]; ok {
		return fd, nil
	}
	if len(s.fds) >= maxSealed {
		return -1, fmt.Errorf("copy %s: already %d sealed executables", path, maxSealed)
	}
	fd, err := sealedCopy(path)
	if err != nil {
		return -1, err
	}
	if s.fds == nil {
		s.fds = map[string]int{}
	}
	s.fds[path] = fd
	return fd, nil
}

// sealedCopy copies the regular file at path into a sealed memfd with mode
// 0111 (executable, readable by no one but a capable root), close-on-exec.
func sealedCopy(path string) (int, error) {
	src, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(src)
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return -1, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return -1, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size > maxSealedSize {
		return -1, fmt.Errorf("%s is larger than %d MiB", path, maxSealedSize>>20)
	}
	name := filepath.Base(path)
	mfd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err == unix.EINVAL { // before Linux 6.3: no MFD_EXEC, memfds are executable
		mfd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return -1, fmt.Errorf("memfd_create: %w", err)
	}
	fd, err := unix.FcntlInt(uintptr(mfd), unix.F_DUPFD_CLOEXEC, minSealedFd)
	unix.Close(mfd)
	if err != nil {
		return -1, fmt.Errorf("dup memfd: %w", err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("copy %s: %s: %w", path, what, err)
	}
	for left := st.Size; left > 0; {
		n, err := unix.Sendfile(fd, src, nil, int(min(left, 1<<30)))
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			return fail("sendfile", err)
		}
		if n == 0 {
			return fail("sendfile", errors.New("file shrank"))
		}
		left -= int64(n)
	}
	if err := unix.Fchmod(fd, 0o111); err != nil {
		return fail("chmod", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals|unix.F_SEAL_EXEC); err != nil {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil { // before 6.3
			return fail("seal", err)
		}
	}
	return fd, nil
}

// dacCaps are the capabilities that let root read a file whatever its mode.
const dacCaps = 1<<unix.CAP_DAC_OVERRIDE | 1<<unix.CAP_DAC_READ_SEARCH

// withoutDAC runs fn with dacCaps out of the calling thread's effective set
// and restores the set after (it stays within the permitted set, which is
// not touched).
//
// Preconditions: on a locked OS thread (the spawner's).
func withoutDAC(fn func()) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data, saved [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	saved = data
	if data[0].Effective&dacCaps == 0 {
		fn()
		return nil
	}
	data[0].Effective &^= dacCaps
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	fn()
	if err := unix.Capset(&hdr, &saved[0]); err != nil {
		// Not expected (raising within the permitted set); the spawner
		// would go on without DAC_OVERRIDE, which is safe but wrong.
		return fmt.Errorf("restore capabilities: %w", err)
	}
	return nil
}

// nonDumpableGap says why non-dumpable spawns would be dumpable after all
// ("" when they are not): fs.suid_dumpable=1 makes every exec dumpable.
func nonDumpableGap() string {
	b, err := os.ReadFile("/proc/sys/fs/suid_dumpable")
	if err != nil {
		return ""
	}
	if strings.TrimSpace(string(b)) == "1" {
		return "shell_nondumpable: fs.suid_dumpable is 1, so the session shells and code drivers stay dumpable (other sandbox processes can ptrace them)"
	}
	return ""
}

// nonDumpableExec returns what the spawner executes for a non-dumpable
// spawn of path with argv args: a sealed copy of the executable itself
// (the shell), or, for a dynamically linked one, a sealed copy of its ELF
// interpreter (the dynamic loader, ~250 KB) run as a program with path as
// its first argument. would_dump looks only at the file execve opens (and
// the interpreter it maps), so the loader's unreadable copy makes the new
// image non-dumpable while the program itself is mapped from the sandbox's
// root as usual: no 100 MB copy of node per sandbox. The program then sees
// argv[0] = path and /proc/self/exe is the loader's memfd (the drivers put
// the program's path back where it matters, e.g. node's process.execPath).
func (d *initd) nonDumpableExec(path string, args []string) (string, []string, error) {
	target, argv := path, args
	if path != ShellPath {
		if interp, err := elfInterp(path); err != nil {
			return "", nil, fmt.Errorf("non-dumpable %s: %w", path, err)
		} else if interp != "" {
			target = interp
			argv = append([]string{filepath.Base(interp), path}, args[min(1, len(args)):]...)
		}
	}
	fd, err := d.sealed.fd(target)
	if err != nil {
		return "", nil, fmt.Errorf("non-dumpable %s: %w", path, err)
	}
	return "/proc/self/fd/" + strconv.Itoa(fd), argv, nil
}

// elfInterp returns the ELF interpreter (PT_INTERP) of the executable at
// path, "" for a static one.
func elfInterp(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		if p.Filesz == 0 || p.Filesz > 4096 {
			return "", fmt.Errorf("PT_INTERP of %d bytes", p.Filesz)
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return "", fmt.Errorf("read PT_INTERP: %w", err)
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}
