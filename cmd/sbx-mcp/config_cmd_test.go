package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConfigJSONClients(t *testing.T) {
	tests := []struct {
		client   string
		key      string // top-level key holding the servers
		wantType string // "type" field of the server entry ("" = absent)
	}{
		{"claude-desktop", "mcpServers", ""},
		{"cursor", "mcpServers", ""},
		{"vscode", "servers", "stdio"},
	}
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := []string{"--client", tt.client, "--binary", "/opt/sbx/sbx-mcp", "--", "--memory", "512M", "--network", "none"}
			if err := runConfig(args, &stdout, &stderr); err != nil {
				t.Fatalf("runConfig: %v (stderr %q)", err, stderr.String())
			}
			var doc map[string]map[string]map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
			}
			if len(doc) != 1 || doc[tt.key] == nil {
				t.Fatalf("want only key %q, got %s", tt.key, stdout.String())
			}
			srv := doc[tt.key]["sbx"]
			if srv == nil {
				t.Fatalf("no server named sbx in %s", stdout.String())
			}
			if srv["command"] != "/opt/sbx/sbx-mcp" {
				t.Errorf("command = %v", srv["command"])
			}
			// every snippet names the workdir: the current directory (VS Code: the open folder)
			wd, _ := os.Getwd()
			if tt.client == "vscode" {
				wd = "${workspaceFolder}"
			}
			wantArgs := []any{"--workdir", wd, "--memory", "512M", "--network", "none"}
			if !reflect.DeepEqual(srv["args"], wantArgs) {
				t.Errorf("args = %v, want %v", srv["args"], wantArgs)
			}
			gotType, _ := srv["type"].(string)
			if gotType != tt.wantType {
				t.Errorf("type = %q, want %q", gotType, tt.wantType)
			}
			if stderr.Len() == 0 {
				t.Error("no hint on stderr")
			}
		})
	}
}

func TestConfigNoExtraArgsIsEmptyList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := runConfig([]string{"--client", "cursor", "--binary", "sbx-mcp", "--name", "box"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	// A bare name stays a bare name (PATH lookup); args holds the workdir.
	wd, _ := os.Getwd()
	want := "{\n  \"mcpServers\": {\n    \"box\": {\n      \"command\": \"sbx-mcp\",\n      \"args\": [\n        \"--workdir\",\n        \"" + wd + "\"\n      ]\n    }\n  }\n}\n"
	if stdout.String() != want {
		t.Errorf("got\n%s\nwant\n%s", stdout.String(), want)
	}
}

func TestConfigRelativeBinaryBecomesAbsolute(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := runConfig([]string{"--client", "claude-desktop", "--binary", "./bin/sbx-mcp"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		MCPServers map[string]struct{ Command string } `json:"mcpServers"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got := doc.MCPServers["sbx"].Command
	if !filepath.IsAbs(got) || !strings.HasSuffix(got, "/bin/sbx-mcp") {
		t.Errorf("command = %q, want an absolute path ending in /bin/sbx-mcp", got)
	}
}

func TestConfigDefaultBinaryIsThisExecutable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := runConfig([]string{"--client", "vscode"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Servers map[string]struct{ Command string } `json:"servers"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Servers["sbx"].Command; !filepath.IsAbs(got) {
		t.Errorf("command = %q, want an absolute path", got)
	}
}

func TestConfigDocker(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"--client", "claude-desktop", "--docker", "ghcr.io/sbx-mcp/sbx-mcp:latest", "--workspace", "/home/me/project", "--", "--pids", "64"}
	if err := runConfig(args, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		MCPServers map[string]struct {
			Command string
			Args    []string
		} `json:"mcpServers"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.MCPServers["sbx"]
	want := []string{"run", "-i", "--rm", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined",
		"--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined",
		"-v", "/home/me/project:/workspace", "ghcr.io/sbx-mcp/sbx-mcp:latest", "--pids", "64"}
	if s.Command != "docker" || !reflect.DeepEqual(s.Args, want) {
		t.Errorf("got %q %q, want docker %q", s.Command, s.Args, want)
	}
}

// The claude-code line is a shell command: run its words through a real shell
// and check every argument survives quoting.
func TestConfigClaudeCodeQuoting(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	var stdout, stderr bytes.Buffer
	extra := []string{"--env", "GREETING=it's a \"test\" $HOME", "--workdir", "/tmp/with space"}
	args := append([]string{"--client", "claude-code", "--binary", "/opt/my tools/sbx-mcp", "--"}, extra...)
	if err := runConfig(args, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(stdout.String(), "\n")
	const prefix = "claude mcp add --transport stdio sbx -- "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("got %q, want prefix %q", line, prefix)
	}
	// Replace "claude" with a function that prints its arguments one per line.
	script := `claude() { for a in "$@"; do printf '%s\n' "$a"; done; }; ` + line
	out, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	want := append([]string{"mcp", "add", "--transport", "stdio", "sbx", "--", "/opt/my tools/sbx-mcp"}, extra...)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("shell saw %q\nwant %q", got, want)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no client", nil, "--client is required"},
		{"unknown client", []string{"--client", "emacs"}, `unknown client "emacs"`},
		{"binary and docker", []string{"--client", "cursor", "--binary", "/x", "--docker", "img"}, "exclude each other"},
		{"empty name", []string{"--client", "cursor", "--name", ""}, "--name must not be empty"},
		{"workspace without docker", []string{"--client", "cursor", "--workspace", "/tmp"}, "--workspace needs --docker"},
		{"bad flag", []string{"--client", "cursor", "--bogus"}, "bogus"},
		{"server flags without --", []string{"--client", "cursor", "memory", "1G"}, `unexpected argument "memory"`},
		{"bad server flag", []string{"--client", "cursor", "--", "--memory", "lots"}, "--memory"},
		{"unknown server flag", []string{"--client", "cursor", "--", "--bogus"}, "bogus"},
		{"help as server flag", []string{"--client", "cursor", "--", "--help"}, "do not belong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runConfig(tt.args, &stdout, &stderr)
			if err == nil {
				t.Fatalf("no error; stdout %q", stdout.String())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty on error: %q", stdout.String())
			}
		})
	}
}

// The subcommand is reachable through run, the program's entry point.
func TestRunConfigSubcommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), strings.NewReader(""), &stdout, &stderr, []string{"config", "--client", "cursor", "--binary", "/x/sbx-mcp"})
	if code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"mcpServers"`) {
		t.Errorf("stdout %q", stdout.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(t.Context(), strings.NewReader(""), &stdout, &stderr, []string{"config", "--client", "nope"}); code != 2 {
		t.Errorf("unknown client: exit code %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), `unknown client "nope"`) {
		t.Errorf("stderr %q", stderr.String())
	}
}

// Every snippet names the workdir; one given after -- is kept as it is.
func TestConfigSnippetWorkdir(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := runConfig([]string{"--client", "claude-code", "--binary", "/x/sbx-mcp"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if got, want := stdout.String(), "claude mcp add --transport stdio sbx -- /x/sbx-mcp --workdir "+shellQuote(wd)+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !strings.Contains(stderr.String(), "--workdir is the current directory") {
		t.Errorf("no note about the workdir: %q", stderr.String())
	}
	stdout.Reset()
	if err := runConfig([]string{"--client", "claude-code", "--binary", "/x/sbx-mcp", "--", "--workdir=/p"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if got := stdout.String(); got != "claude mcp add --transport stdio sbx -- /x/sbx-mcp --workdir=/p\n" {
		t.Errorf("given workdir: %q", got)
	}
	stdout.Reset()
	if err := runConfig([]string{"--client", "cursor", "--docker", "img"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout.String(), "--workdir") {
		t.Errorf("docker snippet got a host workdir: %s", stdout.String())
	}
}
