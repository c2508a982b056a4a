package isolation

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// suiteRegexp selects the runtime and attack tests (not the file-op tests
// of files*_test.go, which have their own owner).
const suiteRegexp = `^(TestSec|TestKillSelector|TestSpawn|TestFastExit|TestDo|TestMakeFifo|TestBaseEnv|TestInfo|TestIsolationModes)`

// Check 13: the same suite run as an unprivileged user passes at the level
// it reports, and that level is userns on this machine (SBX_EXPECT_LEVEL
// lets a host without unprivileged user namespaces say otherwise).
func TestUnprivilegedSuite(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("this is the unprivileged run (or a non-root run): nothing to re-run")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("setpriv: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary lives in a root-only build directory: copy it where
	// nobody can execute it, with a workdir and TMPDIR nobody can write.
	dir, err := os.MkdirTemp("", "sbx-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{dir, filepath.Join(dir, "tmp")} {
		os.MkdirAll(d, 0o777)
		os.Chmod(d, 0o777)
	}
	bin := filepath.Join(dir, "isolation.test")
	if err := copyFile(exe, bin); err != nil {
		t.Fatal(err)
	}
	level := "userns"
	if l := os.Getenv("SBX_EXPECT_UNPRIV_LEVEL"); l != "" {
		level = l
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin,
		"-test.run", suiteRegexp, "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.WaitDelay = 10 * time.Second // a leaked grandchild must not hold the output pipe forever
	cmd.Env = []string{"PATH=" + SandboxPath, "HOME=" + dir, "TMPDIR=" + filepath.Join(dir, "tmp"),
		"SBX_REQUIRE_ISOLATION=1", "SBX_EXPECT_LEVEL=" + level}
	out, err := cmd.CombinedOutput()
	t.Logf("unprivileged run:\n%s", out)
	if err != nil {
		t.Fatalf("unprivileged suite failed: %v", err)
	}
	if !strings.Contains(string(out), `"level": "`+level+`"`) || strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("unprivileged suite did not run at level %s without skips", level)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
