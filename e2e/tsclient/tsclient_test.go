// Package tsclient drives the built sbx-mcp with the official TypeScript MCP
// client (@modelcontextprotocol/sdk, StdioClientTransport) through run.mjs.
//
// Setup: npm ci --prefix e2e/tsclient (installs into the ignored
// e2e/tsclient/node_modules). Without node or the modules the test skips,
// except when CI is set, where it fails.
package tsclient

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sbx-mcp/sbx-mcp/e2e"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// requiredInCI are the tools whose checks must run (not skip) in CI.
var requiredInCI = []string{"exec", "exec_stream", "read_file", "write_file", "run_code"}

func TestTypeScriptClient(t *testing.T) {
	inCI := os.Getenv("CI") != ""
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("node_modules", "@modelcontextprotocol", "sdk", "package.json"))
	}
	if err != nil {
		if !inCI {
			t.Skipf("node or @modelcontextprotocol/sdk missing (%v): run npm ci --prefix e2e/tsclient", err)
		}
		t.Fatalf("CI is set but node or @modelcontextprotocol/sdk is missing (%v): .ci/run must run npm ci --prefix e2e/tsclient", err)
	}
	bin := e2e.Build(t)

	args := []string{"run.mjs"}
	if inCI {
		args = append(args, "--require", strings.Join(requiredInCI, ","))
	}
	args = append(args, "--", bin, "--workdir", t.TempDir())

	// A "does not hang" limit, not a speed check.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()

	var failed, ran []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		t.Log(line)
		switch {
		case strings.HasPrefix(line, "FAIL "):
			failed = append(failed, line)
		case strings.HasPrefix(line, "ok "):
			ran = append(ran, line)
		}
	}
	if stderr.Len() > 0 && (runErr != nil || len(failed) > 0) {
		t.Logf("node stderr (includes the server's):\n%s", stderr.String())
	}
	for _, f := range failed {
		t.Error(f)
	}
	if runErr != nil {
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) || len(failed) == 0 {
			t.Fatalf("node run.mjs: %v", runErr)
		}
	}
	if !containsPrefix(ran, "ok tools/list") {
		t.Error("tools/list check did not pass")
	}
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}
