package main

// The "config" subcommand: print the snippet that registers sbx-mcp with an
// MCP client.
//
//	sbx-mcp config --client claude-desktop|claude-code|cursor|vscode
//	               [--binary PATH | --docker IMAGE [--workspace DIR]] [--name NAME] [-- server flags...]
//
// The snippet goes to stdout (so it can be piped or appended); a one-line hint
// about where it belongs goes to stderr.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sbx-mcp/sbx-mcp/config"
)

// configClients lists the supported --client values with where their snippet goes.
var configClients = map[string]string{
	"claude-desktop": "merge into claude_desktop_config.json (Linux: ~/.config/Claude/, macOS: ~/Library/Application Support/Claude/)",
	"claude-code":    "run this command (add --scope user or --scope project to choose where it is stored)",
	"cursor":         "merge into ~/.cursor/mcp.json (or .cursor/mcp.json in a project)",
	"vscode":         "merge into .vscode/mcp.json in the workspace (or the user mcp.json)",
}

// dockerRunArgs are the docker flags that give the container's sandbox full
// isolation; see the README section "Docker".
var dockerRunArgs = []string{
	"run", "-i", "--rm",
	"--cap-add", "SYS_ADMIN",
	"--security-opt", "seccomp=unconfined",
	"--security-opt", "apparmor=unconfined",
	"--security-opt", "systempaths=unconfined",
}

// runConfig implements "sbx-mcp config". args excludes the word "config".
func runConfig(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sbx-mcp config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := fs.String("client", "", "client to configure: claude-desktop, claude-code, cursor or vscode")
	binary := fs.String("binary", "", "path of the sbx-mcp binary (default: this executable)")
	docker := fs.String("docker", "", "run the server with docker from this image instead of a local binary")
	workspace := fs.String("workspace", "", "with --docker: host directory mounted as /workspace")
	name := fs.String("name", "sbx", "server name in the client's configuration")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sbx-mcp config --client claude-desktop|claude-code|cursor|vscode [--binary PATH | --docker IMAGE [--workspace DIR]] [--name NAME] [-- server flags...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	extra := fs.Args() // flag stops at "--" and drops it
	if len(extra) > 0 && (len(args) < len(extra)+1 || args[len(args)-len(extra)-1] != "--") {
		return fmt.Errorf("config: unexpected argument %q (server flags go after --, e.g. -- --memory 1G)", extra[0])
	}
	if err := config.Check(extra); err != nil {
		return fmt.Errorf("config: server flags after --: %v", err)
	}
	if *client == "" {
		fs.Usage()
		return errors.New("config: --client is required")
	}
	hint, ok := configClients[*client]
	if !ok {
		return fmt.Errorf("config: unknown client %q (want claude-desktop, claude-code, cursor or vscode)", *client)
	}
	if *name == "" {
		return errors.New("config: --name must not be empty")
	}
	if *binary != "" && *docker != "" {
		return errors.New("config: --binary and --docker exclude each other")
	}
	if *workspace != "" && *docker == "" {
		return errors.New("config: --workspace needs --docker")
	}

	var workdirNote string
	if *docker == "" && !hasWorkdir(extra) {
		// Without --workdir the sandbox's workdir would depend on where the
		// client starts the server: name it.
		wd := "${workspaceFolder}" // VS Code expands it to the open folder
		if *client != "vscode" {
			var err error
			if wd, err = os.Getwd(); err != nil {
				return fmt.Errorf("config: current directory (pass -- --workdir DIR): %w", err)
			}
			workdirNote = fmt.Sprintf(" (--workdir is the current directory, %s: put your project's path there)", wd)
		}
		extra = append([]string{"--workdir", wd}, extra...)
	}
	command, cmdArgs, err := configCommand(*binary, *docker, *workspace, extra)
	if err != nil {
		return err
	}
	out, err := configSnippet(*client, *name, command, cmdArgs)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "# %s: %s%s\n", *client, hint, workdirNote)
	return nil
}

// hasWorkdir reports whether server flags set the workdir.
func hasWorkdir(flags []string) bool {
	for _, f := range flags {
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if strings.HasPrefix(f, "-") && name == "workdir" {
			return true
		}
	}
	return false
}

// configCommand returns the command and arguments the client must start.
func configCommand(binary, image, workspace string, extra []string) (string, []string, error) {
	if image != "" {
		args := append([]string{}, dockerRunArgs...)
		if workspace != "" {
			abs, err := filepath.Abs(workspace)
			if err != nil {
				return "", nil, fmt.Errorf("config: --workspace: %w", err)
			}
			args = append(args, "-v", abs+":/workspace")
		}
		args = append(args, image)
		return "docker", append(args, extra...), nil
	}
	if binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", nil, fmt.Errorf("config: find this executable (pass --binary): %w", err)
		}
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		binary = exe
	} else if abs, err := filepath.Abs(binary); err == nil && strings.ContainsRune(binary, filepath.Separator) {
		// Clients start servers from an unknown cwd: make relative paths absolute,
		// but keep a bare name ("sbx-mcp") for PATH lookup.
		binary = abs
	}
	return binary, append([]string{}, extra...), nil
}

// configSnippet renders the configuration for one client.
func configSnippet(client, name, command string, args []string) (string, error) {
	if args == nil {
		args = []string{}
	}
	switch client {
	case "claude-code":
		words := []string{"claude", "mcp", "add", "--transport", "stdio", shellQuote(name), "--", shellQuote(command)}
		for _, a := range args {
			words = append(words, shellQuote(a))
		}
		return strings.Join(words, " ") + "\n", nil
	case "vscode":
		type server struct {
			Type    string   `json:"type"`
			Command string   `json:"command"`
			Args    []string `json:"args"`
		}
		return marshalSnippet(map[string]any{"servers": map[string]server{name: {"stdio", command, args}}})
	case "claude-desktop", "cursor":
		type server struct {
			Command string   `json:"command"`
			Args    []string `json:"args"`
		}
		return marshalSnippet(map[string]any{"mcpServers": map[string]server{name: {command, args}}})
	}
	return "", fmt.Errorf("config: unknown client %q", client)
}

func marshalSnippet(v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", err
	}
	return string(b) + "\n", nil
}

// shellQuote quotes s for a POSIX shell when it contains anything but safe characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// configMain runs "sbx-mcp config" and returns the process exit code.
func configMain(args []string, stdout, stderr io.Writer) int {
	err := runConfig(args, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "sbx-mcp: %v\n", err)
		return 2
	}
}
