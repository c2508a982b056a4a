package isolation

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

const miniServerArg = "__sbx_test_miniserver"

// miniServerMain makes the test binary act as a tiny sbx-mcp server (for
// the kill -9 test): args are miniServerArg, isolation, workdir, marker. It
// starts a sandbox, spawns a plain process and a setsid daemon whose argv[0]
// is marker, prints "ready <level>" and waits to be killed.
func miniServerMain(args []string) bool {
	if len(args) < 5 || args[1] != miniServerArg {
		return false
	}
	s, err := Start(context.Background(), Config{Isolation: args[2], Workdir: args[3], Log: zerolog.New(os.Stderr)})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	marker := args[4]
	// Three marked sleeps; the marker reaches argv[0] through $M so no
	// bash command line carries it.
	script := `(exec -a $M sleep 1000) & setsid bash -c '(exec -a $M sleep 1000) & exec -a $M sleep 1000' & sleep 0.2; echo started`
	pr, pw, _ := os.Pipe()
	env := append(s.BaseEnv(), "M="+marker)
	if _, err := s.Spawn(context.Background(), Spec{Path: "/bin/bash", Args: []string{"bash", "-c", script}, Env: env, Files: []*os.File{nil, pw, pw}}); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	pw.Close()
	b := make([]byte, 64)
	n, _ := pr.Read(b)
	fmt.Printf("ready %s %s", s.Info().Level, b[:n])
	select {}
}

// hostPids returns the pids (as the test sees them) whose cmdline contains
// marker.
func hostPids(marker string) []int {
	var out []int
	matches, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil || !strings.Contains(string(b), marker) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(m)))
		if pid != os.Getpid() {
			out = append(out, pid)
		}
	}
	return out
}

// waitGone polls (generously) until no process carries marker; it returns
// how long that took and what is left.
func waitGone(marker string, limit time.Duration) (time.Duration, []int) {
	start := time.Now()
	for {
		left := hostPids(marker)
		if len(left) == 0 || time.Since(start) > limit {
			return time.Since(start), left
		}
		time.Sleep(10 * time.Millisecond)
	}
}
