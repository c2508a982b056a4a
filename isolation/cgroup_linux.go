package isolation

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupSet is the sandbox's own cgroup in every hierarchy we can write;
// the layout is drawn in doc.go.
type cgroupSet struct {
	procs     []string // cgroup.procs files init joins (before it unshares its cgroup namespace)
	jobsTasks []string // v1 tasks files for the spawner thread
	limitsV1  []limitFile
	dirs      []string // created, deepest last (job cgroups below are removed with them)
	killFile  string   // v2 cgroup.kill of the whole sandbox
	v2Sandbox string   // v2: the sandbox cgroup (init's, the root of its cgroup namespace)
	// jobsDir is init's cgroup that job cgroups go below: v2Sandbox, or
	// without cgroup v2 init's v1 freezer cgroup (jobsV1).
	jobsDir string
	jobsV1  bool
	mounts  []cgroupMount
	// held names each requested limit ("pids", "memory", "cpu") that a
	// cgroup enforces; failed says why the others are not.
	held   map[string]bool
	failed map[string]error
}

// cgroupMount is one cgroup hierarchy init mounts, read-only, under
// /sys/fs/cgroup inside the sandbox: Dir is relative to it ("" = itself).
type cgroupMount struct {
	Dir  string `json:"dir"`
	Type string `json:"type"` // cgroup or cgroup2
	Data string `json:"data,omitempty"`
}

type limitFile struct {
	dir, file, value string
}

type cgMount struct {
	point       string
	root        string
	v2          bool
	controllers []string // the ones we use: pids, memory, cpu (limits), freezer (v1 job cgroups)
	data        string   // the hierarchy's mount data (every controller, name=)
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
	subsys := map[string]bool{}
	if b, err := os.ReadFile("/proc/cgroups"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, _, ok := strings.Cut(line, "\t"); ok && !strings.HasPrefix(name, "#") {
				subsys[name] = true
			}
		}
	}
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
			var ctrls, data []string
			for _, o := range strings.Split(qf[2], ",") {
				switch {
				case o == "pids" || o == "memory" || o == "cpu" || o == "freezer":
					ctrls = append(ctrls, o)
					data = append(data, o)
				case subsys[o] || strings.HasPrefix(o, "name="):
					data = append(data, o)
				}
			}
			if len(ctrls) > 0 {
				out = append(out, cgMount{point: pf[4], root: pf[3], controllers: ctrls, data: strings.Join(data, ",")})
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
		all := append([]string{dir}, subCgroups(dir)...) // jobs, sandbox, job cgroups
		for i := len(all) - 1; i >= 0; i-- {
			_ = os.Remove(all[i])
		}
	}
}

func cgPath(m cgMount, own string) string {
	rel := own
	if m.root != "/" {
		rel = strings.TrimPrefix(own, m.root)
	}
	return filepath.Join(m.point, rel)
}

// newCgroups creates the sandbox cgroups and writes lim. Each limit is
// tried on its own: one that fails is named in failed and leaves the others
// in force. A nil set with an error means no cgroup of our own at all.
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
	s := &cgroupSet{held: map[string]bool{}, failed: map[string]error{}}
	var errs []error
	// cgroup v2 first: membership (cgroup.kill, cgroup.freeze) and, on pure
	// v2 hosts, the controllers. The limits go on <name>, which the sandbox
	// never sees; init and every sandbox process live in <name>/sandbox,
	// the root of the sandbox's cgroup namespace.
	for _, m := range mounts {
		if !m.v2 || own[""] == "" || noCgroupV2 {
			continue
		}
		parent := cgPath(m, own[""])
		sweepStale(parent)
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			errs = append(errs, err)
			break
		}
		s.dirs = append(s.dirs, dir)
		avail := readWords(filepath.Join(parent, "cgroup.controllers"))
		for _, c := range []string{"pids", "memory", "cpu"} {
			if !want[c] || !avail[c] {
				continue
			}
			if !readWords(filepath.Join(parent, "cgroup.subtree_control"))[c] {
				if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
					s.failed[c] = fmt.Errorf("enable the %s controller: %w", c, err)
					continue
				}
			}
			if err := writeV2Limit(dir, c, lim); err != nil {
				s.failed[c] = err
				continue
			}
			s.held[c] = true
			delete(s.failed, c)
		}
		sandbox := filepath.Join(dir, "sandbox")
		if err := os.Mkdir(sandbox, 0o755); err != nil {
			errs = append(errs, err)
			break
		}
		s.dirs = append(s.dirs, sandbox)
		s.v2Sandbox, s.jobsDir = sandbox, sandbox
		s.procs = append(s.procs, filepath.Join(sandbox, "cgroup.procs"))
		if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err == nil {
			s.killFile = filepath.Join(dir, "cgroup.kill")
		}
		s.mounts = append(s.mounts, cgroupMount{Dir: cgRel(m.point), Type: "cgroup2"})
		break
	}
	// cgroup v1 controllers for whatever v2 did not provide: <name> holds
	// init, <name>/jobs the limits and every sandbox process.
	for _, m := range mounts {
		if m.v2 {
			continue
		}
		var ctrls []string
		for _, c := range m.controllers {
			if want[c] && !s.held[c] {
				ctrls = append(ctrls, c)
			}
		}
		if len(ctrls) == 0 {
			continue
		}
		fail := func(err error) {
			for _, c := range ctrls {
				s.failed[c] = err
			}
		}
		sweepStale(cgPath(m, own[m.controllers[0]]))
		dir := filepath.Join(cgPath(m, own[m.controllers[0]]), name)
		jobs := filepath.Join(dir, "jobs")
		if err := os.Mkdir(dir, 0o755); err != nil {
			fail(err)
			continue
		}
		s.dirs = append(s.dirs, dir)
		if err := os.Mkdir(jobs, 0o755); err != nil {
			fail(err)
			continue
		}
		s.dirs = append(s.dirs, jobs)
		joined := false
		for _, c := range ctrls {
			files := v1Limits(c, lim)
			var err error
			for _, lf := range files {
				if err = writeLimit(jobs, lf); err != nil {
					break
				}
			}
			if err != nil {
				s.failed[c] = err
				continue
			}
			s.held[c] = true
			delete(s.failed, c)
			for _, lf := range files {
				lf.dir = jobs
				s.limitsV1 = append(s.limitsV1, lf)
			}
			joined = true
		}
		if !joined {
			continue
		}
		s.procs = append(s.procs, filepath.Join(dir, "cgroup.procs"))
		s.jobsTasks = append(s.jobsTasks, filepath.Join(jobs, "tasks"))
		if m.data != "" {
			s.mounts = append(s.mounts, cgroupMount{Dir: cgRel(m.point), Type: "cgroup", Data: m.data})
		}
	}
	if s.jobsDir == "" {
		if err := s.freezerJobs(mounts, own, name); err != nil {
			errs = append(errs, err)
		}
	}
	for c, w := range want {
		if w && !s.held[c] && s.failed[c] == nil {
			s.failed[c] = fmt.Errorf("no writable hierarchy with the %s controller", c)
		}
	}
	if len(s.dirs) == 0 {
		if len(errs) == 0 {
			errs = append(errs, errors.New("no writable cgroup hierarchy"))
		}
		return nil, errors.Join(errs...)
	}
	return s, errors.Join(errs...)
}

// noCgroupV2 makes newCgroups ignore cgroup v2 hierarchies (tests of the
// cgroup v1 layout on a hybrid host).
var noCgroupV2 = false

// freezerJobs sets up job cgroups without cgroup v2: below init's own
// cgroup in the v1 freezer hierarchy, killed by freeze, kill, thaw.
func (s *cgroupSet) freezerJobs(mounts []cgMount, own map[string]string, name string) error {
	for _, m := range mounts {
		if m.v2 || !slices.Contains(m.controllers, "freezer") {
			continue
		}
		dir := filepath.Join(cgPath(m, own["freezer"]), name)
		if slices.Contains(s.dirs, dir) { // co-mounted with a limited controller: init joins it already
			s.jobsDir, s.jobsV1 = dir, true
			return nil
		}
		sweepStale(filepath.Dir(dir))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("job cgroups: %w", err)
		}
		s.dirs = append(s.dirs, dir)
		s.procs = append(s.procs, filepath.Join(dir, "cgroup.procs"))
		s.jobsDir, s.jobsV1 = dir, true
		s.mounts = append(s.mounts, cgroupMount{Dir: cgRel(m.point), Type: "cgroup", Data: m.data})
		return nil
	}
	return errors.New("job cgroups: no cgroup v2 and no writable v1 freezer hierarchy")
}

// cgRel is where a host cgroup mount point goes under the sandbox's
// /sys/fs/cgroup: the same relative place, or its base name when the host
// mounts it elsewhere.
func cgRel(point string) string {
	if rel, err := filepath.Rel("/sys/fs/cgroup", point); err == nil && !strings.HasPrefix(rel, "..") {
		if rel == "." {
			return ""
		}
		return rel
	}
	return filepath.Base(point)
}

// planCgroups creates the sandbox's cgroups when it can and tells init
// about them in icfg. Each requested limit that no cgroup holds falls back
// on its own: pids on RLIMIT_NPROC, memory on RLIMIT_AS (both applied
// before the process's first instruction, see hold_linux.go), cpus on
// nothing; the reasons say so.
func planCgroups(lvl Level, name string, lim Limits, icfg *initConfig) (*cgroupSet, []string) {
	cg, err := newCgroups(name, lim)
	var reasons []string
	if cg == nil {
		if lim == (Limits{}) {
			return nil, []string{fmt.Sprintf("cgroup_limits: no cgroup of our own (%v)", err)}
		}
		cg = &cgroupSet{failed: map[string]error{}}
		for c, n := range map[string]float64{"pids": float64(lim.Pids), "memory": float64(lim.MemoryBytes), "cpu": lim.CPUs} {
			if n > 0 {
				cg.failed[c] = err
			}
		}
	} else {
		icfg.JobsTasks = cg.jobsTasks
		icfg.CgroupMounts = cg.mounts
		icfg.CgroupJobs, icfg.JobsV1 = cg.jobsDir, cg.jobsV1
	}
	if err := cg.failed["pids"]; err != nil {
		icfg.RlimitPids = lim.Pids
		msg := fmt.Sprintf("cgroup_limits: pids not in a cgroup (%v); RLIMIT_NPROC instead, set before each process's first instruction: it counts every task of the uid", err)
		switch {
		case os.Geteuid() == 0 && lvl != LevelUserNS:
			msg += ", and real root ignores it: the process limit is not enforced"
		case lvl == LevelUserNS:
			msg += " in the sandbox's user namespace, init's threads included"
		default:
			msg += " on the host, the server's own included"
		}
		reasons = append(reasons, msg)
	}
	if err := cg.failed["memory"]; err != nil {
		icfg.RlimitMem = lim.MemoryBytes
		reasons = append(reasons, fmt.Sprintf("cgroup_limits: memory not in a cgroup (%v); RLIMIT_AS instead: it bounds each process's address space, not the sandbox's total", err))
	}
	if err := cg.failed["cpu"]; err != nil {
		reasons = append(reasons, fmt.Sprintf("cgroup_limits: cpus not in a cgroup (%v): the CPU limit is not enforced", err))
	}
	if len(cg.dirs) == 0 {
		return nil, reasons
	}
	return cg, reasons
}

// limited reports whether every requested limit is held by a cgroup.
func (s *cgroupSet) limited() bool { return s != nil && len(s.failed) == 0 }

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
	for _, lf := range s.limitsV1 {
		if err := writeLimit(filepath.Dir(lf.dir), lf); err != nil {
			return err
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
	var dirs []string
	for _, dir := range s.dirs {
		dirs = append(dirs, dir)
		if dir == s.jobsDir {
			dirs = append(dirs, subCgroups(dir)...)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		dir := dirs[i]
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

// subCgroups lists the cgroups below dir, parents before children.
func subCgroups(dir string) []string {
	var out []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			sub := filepath.Join(dir, e.Name())
			out = append(out, sub)
			out = append(out, subCgroups(sub)...)
		}
	}
	return out
}
