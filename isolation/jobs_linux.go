package isolation

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// jobCgroups gives every job (a Spec.Tag: a session's shell, a background
// process, a code context's driver) a cgroup of its own below the
// sandbox's cgroup (v2; or, on a host without cgroup v2, v1 freezer), joined while the process is held before its first
// instruction (hold_linux.go). A job's processes stay in it whatever they
// do: clearing the environment, setsid, double-forking. Tags are paths
// ("P/S1/3" lies below "P/S1" and "P"), so killing a tag kills the jobs
// below it too. The sandbox cannot move anything: its cgroupfs is
// read-only, and init writes through dir, opened in stage 1.
type jobCgroups struct {
	dir int  // init's cgroup (fdJobs), an O_PATH directory
	v1  bool // a v1 freezer hierarchy: no cgroup.kill, freeze with freezer.state
}

// openJobs enables job cgroups when stage 1 kept init's v2 cgroup (or, at
// level none, where the host's mounts are in view, by opening it now).
func (d *initd) openJobs() {
	switch {
	case d.st.JobsFD:
		d.jobs = &jobCgroups{dir: fdJobs, v1: d.cfg.JobsV1}
	case d.cfg.Level == LevelNone && d.cfg.CgroupJobs != "":
		fd, err := unix.Open(d.cfg.CgroupJobs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			d.st.gap("job_cgroups: open the sandbox's cgroup %s: %v", d.cfg.CgroupJobs, err)
			return
		}
		d.jobs = &jobCgroups{dir: fd, v1: d.cfg.JobsV1}
	}
	d.st.JobCgroups = d.jobs != nil
}

// freezeWait bounds how long a kill waits for a cgroup to freeze.
const freezeWait = 200 * time.Millisecond

// jobPath maps a tag to a cgroup path below the sandbox's: one cgroup per
// component, bytes outside [A-Za-z0-9_-] written as _XX (so no name has a
// dot, as every cgroup interface file does).
func jobPath(tag string) string {
	parts := strings.Split(tag, "/")
	for i, p := range parts {
		var b strings.Builder
		for j := 0; j < len(p); j++ {
			c := p[j]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "_%02x", c)
			}
		}
		if b.Len() == 0 {
			b.WriteString("_")
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, "/")
}

// place creates tag's cgroup (and its parents) and moves pid into it.
//
// Preconditions: d.mu held (the reaper removes job cgroups under it).
func (j *jobCgroups) place(pid int, tag string) error {
	if tag == "" {
		return nil
	}
	path := jobPath(tag)
	parts := strings.Split(path, "/")
	for i := range parts {
		if err := unix.Mkdirat(j.dir, strings.Join(parts[:i+1], "/"), 0o755); err != nil && err != unix.EEXIST {
			return fmt.Errorf("create job cgroup %s: %w", path, err)
		}
	}
	if err := j.write(path+"/cgroup.procs", strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("join job cgroup %s: %w", path, err)
	}
	return nil
}

func (j *jobCgroups) write(file, value string) error {
	fd, err := unix.Openat(j.dir, file, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(value))
	return err
}

func (j *jobCgroups) exists(path string) bool {
	var st unix.Stat_t
	return unix.Fstatat(j.dir, path, &st, 0) == nil
}

// remove deletes tag's cgroup if it is empty and has no job below it.
func (j *jobCgroups) remove(tag string) {
	if tag != "" {
		_ = unix.Unlinkat(j.dir, jobPath(tag), unix.AT_REMOVEDIR)
	}
}

// members lists the pids in path's cgroup and every cgroup below it.
func (j *jobCgroups) members(path string) []int {
	var out []int
	if b, err := j.read(path + "/cgroup.procs"); err == nil {
		for _, w := range strings.Fields(b) {
			if pid, err := strconv.Atoi(w); err == nil {
				out = append(out, pid)
			}
		}
	}
	for _, sub := range j.children(path) {
		out = append(out, j.members(path+"/"+sub)...)
	}
	return out
}

func (j *jobCgroups) read(file string) (string, error) {
	fd, err := unix.Openat(j.dir, file, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), file)
	defer f.Close()
	// pids, bounded by the kernel's pid_max (at most 4194304: < 32 MiB).
	b, err := io.ReadAll(io.LimitReader(f, 32<<20))
	return string(b), err
}

// children lists the cgroups directly below path ("" = the sandbox's).
func (j *jobCgroups) children(path string) []string {
	if path == "" {
		path = "."
	}
	fd, err := unix.Openat(j.dir, path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	ents, _ := f.ReadDir(-1)
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// resolve finds the cgroup of tag, or of its nearest ancestor tag that has
// one; exact says which.
func (j *jobCgroups) resolve(tag string) (path string, exact bool) {
	p := jobPath(tag)
	if j.exists(p) {
		return p, true
	}
	for {
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return "", false
		}
		p = p[:i]
		if j.exists(p) {
			return p, false
		}
	}
}

// freeze freezes path's cgroup and waits, bounded, until it is frozen:
// nothing in it forks while a kill picks its targets. SIGKILL still
// reaches frozen tasks on v2; on v1 they die once thawed.
func (j *jobCgroups) freeze(path string) (thaw func(), err error) {
	if j.v1 {
		return j.freezeV1(path)
	}
	if err := j.write(path+"/cgroup.freeze", "1"); err != nil {
		return func() {}, err
	}
	thaw = func() { _ = j.write(path+"/cgroup.freeze", "0") }
	fd, err := unix.Openat(j.dir, path+"/cgroup.events", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return thaw, err
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(freezeWait)
	buf := make([]byte, 256)
	for {
		n, _ := unix.Pread(fd, buf, 0)
		if strings.Contains(string(buf[:max(n, 0)]), "frozen 1") {
			return thaw, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return thaw, fmt.Errorf("cgroup %s did not freeze", path)
		}
		// cgroup.events signals a change with POLLPRI.
		_, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}, int(min(left, 10*time.Millisecond)/time.Millisecond)+1)
	}
}

func (j *jobCgroups) freezeV1(path string) (thaw func(), err error) {
	if err := j.write(path+"/freezer.state", "FROZEN"); err != nil {
		return func() {}, err
	}
	thaw = func() { _ = j.write(path+"/freezer.state", "THAWED") }
	deadline := time.Now().Add(freezeWait)
	for { // v1 has no change notification: poll (freezing takes microseconds)
		if st, err := j.read(path + "/freezer.state"); err != nil || strings.TrimSpace(st) == "FROZEN" {
			return thaw, err
		}
		if time.Now().After(deadline) {
			return thaw, fmt.Errorf("cgroup %s did not freeze", path)
		}
		time.Sleep(time.Millisecond)
	}
}

// kill signals the members of tag's job cgroup: all of them when tag has a
// cgroup (SIGKILL through cgroup.kill, which no fork escapes); when only an
// ancestor has one (a session command, "S1/7", inside its shell's "S1")
// and since is set, the ancestor's members started at or after since,
// except root unless includeRoot, with the cgroup frozen meanwhile. It
// returns the pids signalled; ok is false when membership cannot select.
func (j *jobCgroups) kill(req killReq, sinceTicks uint64, self int) (pids []int, ok bool) {
	path, exact := j.resolve(req.Tag)
	switch {
	case exact:
		return j.killCgroup(path, syscall.Signal(req.Sig), self), true
	case path != "" && sinceTicks > 0:
		thaw, _ := j.freeze(path)
		defer thaw()
		for _, pid := range j.members(path) {
			if pid == self || pid == req.Root && !req.IncludeRoot {
				continue
			}
			if p, ok := readStat(pid); ok && !p.zombie && p.start >= sinceTicks {
				if syscall.Kill(pid, syscall.Signal(req.Sig)) == nil {
					pids = append(pids, pid)
				}
			}
		}
		return pids, true
	}
	return nil, false
}

// killAll SIGKILLs every job cgroup of the sandbox (init sits in the
// sandbox's cgroup itself, above them).
func (j *jobCgroups) killAll() {
	for _, sub := range j.children("") {
		j.killCgroup(sub, syscall.SIGKILL, -1)
	}
}

// killCgroup signals every member of path's cgroup and the cgroups below
// it and returns them (as listed before the signal). SIGKILL goes through
// cgroup.kill on v2, and on v1 is sent with the cgroup frozen.
func (j *jobCgroups) killCgroup(path string, sig syscall.Signal, self int) []int {
	if sig == syscall.SIGKILL {
		if j.v1 {
			thaw, _ := j.freeze(path)
			defer thaw()
		} else {
			pids := j.members(path)
			if j.write(path+"/cgroup.kill", "1") == nil {
				return pids
			}
		}
	}
	pids := j.members(path)
	for _, pid := range pids {
		if pid != self {
			_ = syscall.Kill(pid, sig)
		}
	}
	return pids
}
