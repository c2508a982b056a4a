package isolation

import (
	"bytes"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

type procInfo struct {
	ppid   int
	start  uint64 // clock ticks after boot
	zombie bool
}

// procTable is one scan of /proc: pid → ppid, start time, state.
type procTable map[int]procInfo

func scanProcs() procTable {
	t := procTable{}
	f, err := os.Open("/proc")
	if err != nil {
		return t
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if p, ok := readStat(pid); ok {
			t[pid] = p
		}
	}
	return t
}

// readStat parses /proc/pid/stat; comm may hold spaces and parentheses, so
// the fields start after the last ')'.
func readStat(pid int) (procInfo, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procInfo{}, false
	}
	fields := bytes.Fields(b[i+2:]) // fields[0] is field 3 (state)
	if len(fields) < 20 {
		return procInfo{}, false
	}
	ppid, _ := strconv.Atoi(string(fields[1]))
	start, _ := strconv.ParseUint(string(fields[19]), 10, 64)
	return procInfo{ppid: ppid, start: start, zombie: fields[0][0] == 'Z' || fields[0][0] == 'X'}, true
}

// descendsFrom reports whether pid is a (strict) descendant of anc.
func (t procTable) descendsFrom(pid, anc int) bool {
	for i := 0; i < 4096; i++ { // bounded: a table read while processes come and go may hold a cycle
		p, ok := t[pid]
		if !ok || p.ppid == 0 {
			return false
		}
		if p.ppid == anc {
			return true
		}
		pid = p.ppid
	}
	return false
}

// hasTag reports whether pid's environment holds TagEnv=tag or
// TagEnv=tag/... (needs the process to be dumpable and of our uid).
func hasTag(pid int, tag string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	want := []byte(TagEnv + "=" + tag)
	for _, kv := range bytes.Split(b, []byte{0}) {
		if bytes.HasPrefix(kv, want) && (len(kv) == len(want) || kv[len(want)] == '/') {
			return true
		}
	}
	return false
}

// nanoToTicks converts a wall-clock time to /proc's start-time unit (ticks
// since boot, CLOCK_BOOTTIME), rounding down so a process started in the
// same tick as the instant counts as started after it.
func nanoToTicks(unixNano int64) uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	boot := time.Now().UnixNano() - ts.Nano()
	d := unixNano - boot
	if d <= 0 {
		return 0
	}
	return uint64(d) / uint64(time.Second/procTicks)
}
