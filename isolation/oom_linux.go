package isolation

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// OOMKills returns how many processes the kernel's OOM killer has killed
// in the sandbox so far, from the cgroup that holds the memory limit:
// oom_kill of memory.events (cgroup v2, counting the whole subtree) or of
// memory.oom_control (cgroup v1). ok is false where that is not known: no
// memory limit held by a cgroup.
func (s *Sandbox) OOMKills() (n int64, ok bool) {
	if s == nil || s.cg == nil || !s.cg.held["memory"] {
		return 0, false
	}
	if s.cg.v2Sandbox != "" {
		if n, ok := readOOMKill(filepath.Join(filepath.Dir(s.cg.v2Sandbox), "memory.events")); ok {
			return n, true
		}
	}
	for _, lf := range s.cg.limitsV1 {
		if lf.file == "memory.limit_in_bytes" {
			return readOOMKill(filepath.Join(lf.dir, "memory.oom_control"))
		}
	}
	return 0, false
}

// readOOMKill reads the "oom_kill N" line of a cgroup file.
func readOOMKill(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, found := bytes.CutPrefix(line, []byte("oom_kill ")); found {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
