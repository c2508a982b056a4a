package isolation

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupSet is the sandbox's own cgroup in every hierarchy we can write.
//
// Layout: <parent>/<name> holds init ("sandbox cgroup"). On cgroup v1 the
// limits go on <parent>/<name>/jobs, which only init's spawner thread joins,
// so every sandbox process is born under the limits while init's other
// threads are not (a fork bomb at pids.max cannot stop init from creating a
// thread). On cgroup v2 a thread cannot leave its process's domain cgroup,
// so the limits go on <name> itself and include init (a few tasks).
type cgroupSet struct {
	procs     []string // cgroup.procs files init joins
	jobsTasks []string // v1 tasks files for the spawner thread
	limitsV1  []limitFile
	dirs      []string // created, deepest last
	killFile  string   // v2 cgroup.kill
	limited   bool     // every requested limit is written
}

type limitFile struct {
	dir, file, value string
}

type cgMount struct {
	point       string
	root        string
	v2          bool
	controllers []string
}

// ownCgroups returns this process's cgroup path per hierarchy: "" key is v2.
func ownCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			m[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			m[c] = parts[2]
		}
	}
	return m, nil
}

func cgroupMounts() ([]cgMount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cgMount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint opts [optional...] - fstype source superopts
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		switch qf[0] {
		case "cgroup2":
			out = append(out, cgMount{point: pf[4], root: pf[3], v2: true})
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(qf[2], ",") {
				switch o {
				case "pids", "memory", "cpu":
					ctrls = append(ctrls, o)
				}
			}
			if len(ctrls) > 0 {
				out = append(out, cgMount{point: pf[4], root: pf[3], controllers: ctrls})
			}
		}
	}
	return out, sc.Err()
}

// sweepStale removes the empty cgroups of sbx-mcp servers that died
// without Close (kill -9). rmdir fails on a populated cgroup, so nothing
// alive is touched.
func sweepStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, "sbx-mcp-*-*"))
	for _, dir := range dirs {
		f := strings.Split(filepath.Base(dir), "-")
		pid, err := strconv.Atoi(f[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + f[2]); err == nil {
			continue
		}
		_ = os.Remove(filepath.Join(dir, "jobs"))
		_ = os.Remove(dir)
	}
}

func cgPath(m cgMount, own string) string {
	rel := own
	if m.root != "/" {
		rel = strings.TrimPrefix(own, m.root)
	}
	return filepath.Join(m.point, rel)
}

// newCgroups creates the sandbox cgroups and writes lim. A nil set with an
// error means cgroups are not usable (the caller falls back to rlimits).
func newCgroups(name string, lim Limits) (*cgroupSet, error) {
	own, err := ownCgroups()
	if err != nil {
		return nil, err
	}
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{"pids": lim.Pids > 0, "memory": lim.MemoryBytes > 0, "cpu": lim.CPUs > 0}
	s := &cgroupSet{}
	done := map[string]bool{}
	var errs []error
	// cgroup v2 first: cgroup.kill and, on pure v2 hosts, the controllers.
	for _, m := range mounts {
		if !m.v2 || own[""] == "" {
			continue
		}
		parent := cgPath(m, own[""])
		sweepStale(parent)
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		s.dirs = append(s.dirs, dir)
		s.procs = append(s.procs, filepath.Join(dir, "cgroup.procs"))
		if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err == nil {
			s.killFile = filepath.Join(dir, "cgroup.kill")
		}
		avail := readWords(filepath.Join(parent, "cgroup.controllers"))
		for _, c := range []string{"pids", "memory", "cpu"} {
			if !want[c] || !avail[c] {
				continue
			}
			if !readWords(filepath.Join(parent, "cgroup.subtree_control"))[c] {
				if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
					errs = append(errs, fmt.Errorf("enable %s controller: %w", c, err))
					continue
				}
			}
			if err := writeV2Limit(dir, c, lim); err != nil {
				errs = append(errs, err)
				continue
			}
			done[c] = true
		}
		break
	}
	// cgroup v1 controllers for whatever v2 did not provide.
	for _, m := range mounts {
		if m.v2 {
			continue
		}
		var ctrls []string
		for _, c := range m.controllers {
			if want[c] && !done[c] {
				ctrls = append(ctrls, c)
			}
		}
		if len(ctrls) == 0 {
			continue
		}
		sweepStale(cgPath(m, own[m.controllers[0]]))
		dir := filepath.Join(cgPath(m, own[m.controllers[0]]), name)
		jobs := filepath.Join(dir, "jobs")
		if err := os.Mkdir(dir, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		s.dirs = append(s.dirs, dir)
		if err := os.Mkdir(jobs, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		s.dirs = append(s.dirs, jobs)
		var files []limitFile
		for _, c := range ctrls {
			files = append(files, v1Limits(c, lim)...)
		}
		ok := true
		for _, lf := range files {
			if err := writeLimit(jobs, lf); err != nil {
				errs = append(errs, err)
				ok = false
			}
		}
		if ok {
			for _, c := range ctrls {
				done[c] = true
			}
		}
		s.procs = append(s.procs, filepath.Join(dir, "cgroup.procs"))
		s.jobsTasks = append(s.jobsTasks, filepath.Join(jobs, "tasks"))
		s.limitsV1 = append(s.limitsV1, files...)
	}
	s.limited = true
	for c, w := range want {
		if w && !done[c] {
			s.limited = false
			if len(errs) == 0 {
				errs = append(errs, fmt.Errorf("no writable hierarchy with the %s controller", c))
			}
		}
	}
	if len(s.dirs) == 0 {
		return nil, errors.Join(errs...)
	}
	if !s.limited {
		return s, errors.Join(errs...)
	}
	return s, nil
}

func readWords(path string) map[string]bool {
	b, _ := os.ReadFile(path)
	m := map[string]bool{}
	for _, w := range strings.Fields(string(b)) {
		m[w] = true
	}
	return m
}

func writeLimit(dir string, lf limitFile) error {
	p := filepath.Join(dir, lf.file)
	if err := os.WriteFile(p, []byte(lf.value), 0); err != nil {
		if lf.file == "memory.memsw.limit_in_bytes" || lf.file == "memory.swap.max" {
			return nil // no swap accounting: nothing to turn off
		}
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

func v1Limits(c string, lim Limits) []limitFile {
	switch c {
	case "pids":
		return []limitFile{{file: "pids.max", value: strconv.Itoa(lim.Pids)}}
	case "memory":
		v := strconv.FormatInt(lim.MemoryBytes, 10)
		return []limitFile{{file: "memory.limit_in_bytes", value: v}, {file: "memory.memsw.limit_in_bytes", value: v}}
	case "cpu":
		return []limitFile{{file: "cpu.cfs_period_us", value: "100000"},
			{file: "cpu.cfs_quota_us", value: strconv.Itoa(int(lim.CPUs * 100000))}}
	}
	return nil
}

func writeV2Limit(dir, c string, lim Limits) error {
	var files []limitFile
	switch c {
	case "pids":
		files = []limitFile{{file: "pids.max", value: strconv.Itoa(lim.Pids)}}
	case "memory":
		files = []limitFile{{file: "memory.max", value: strconv.FormatInt(lim.MemoryBytes, 10)}, {file: "memory.swap.max", value: "0"}}
	case "cpu":
		files = []limitFile{{file: "cpu.max", value: fmt.Sprintf("%d 100000", int(lim.CPUs*100000))}}
	}
	for _, lf := range files {
		if err := writeLimit(dir, lf); err != nil {
			return err
		}
	}
	return nil
}

// join puts pid (init, before it runs anything) into the sandbox cgroups.
func (s *cgroupSet) join(pid int) error {
	for _, p := range s.procs {
		if err := os.WriteFile(p, []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("join %s: %w", p, err)
		}
	}
	return nil
}

// limitParents moves the v1 limits from jobs to the sandbox cgroup itself
// (used when init's spawner thread could not join jobs).
func (s *cgroupSet) limitParents() error {
	for _, t := range s.jobsTasks {
		parent := filepath.Dir(filepath.Dir(t))
		for _, lf := range s.limitsV1 {
			if err := writeLimit(parent, lf); err != nil {
				return err
			}
		}
	}
	return nil
}

// destroy kills whatever is left in the cgroups and removes them.
func (s *cgroupSet) destroy() {
	if s.killFile != "" {
		_ = os.WriteFile(s.killFile, []byte("1"), 0)
	}
	deadline := time.Now().Add(2 * time.Second)
	for i := len(s.dirs) - 1; i >= 0; i-- {
		dir := s.dirs[i]
		for {
			err := os.Remove(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
				break
			}
			// Still populated: SIGKILL what is in it (these are sandbox
			// processes by construction) and retry.
			for _, f := range []string{"cgroup.procs", "tasks"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				for _, w := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(w); err == nil && pid > 1 {
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
