package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sbx-mcp/sbx-mcp/server"
	"github.com/sbx-mcp/sbx-mcp/session"
)

// maxOutputCap bounds max_output_bytes so a result (text block plus
// structuredContent, base64 at worst) stays far below the 10 MiB clients accept.
const maxOutputCap = 1 << 20

// maxTimeout bounds timeout_ms.
const maxTimeout = 24 * time.Hour

type execArgs struct {
	Command        string   `json:"command" jsonschema_description:"Bash script to run (multi-line and heredocs fine; NUL-free)."`
	Session        string   `json:"session,omitempty" jsonschema_description:"Session id (default: \"default\"). Other ids must be made with create_session."`
	Cwd            string   `json:"cwd,omitempty" jsonschema_description:"Working directory for this command only (relative to the session cwd)."`
	Env            Env      `json:"env,omitempty" jsonschema_description:"Variables for this command only, as NAME=value strings."`
	UnsetEnv       []string `json:"unset_env,omitempty" jsonschema_description:"Variable names to unset for this command only."`
	TimeoutMs      int      `json:"timeout_ms,omitempty" jsonschema_description:"Kill the command after this many ms (default: the session's, 60000). Exit code 124 then."`
	Stdin          *string  `json:"stdin,omitempty" jsonschema_description:"Text fed to the command's stdin (default: empty)."`
	MaxOutputBytes int      `json:"max_output_bytes,omitempty" jsonschema_description:"Bytes kept per stream (head and tail; max 1048576)."`
	Raw            bool     `json:"raw,omitempty" jsonschema_description:"Return output that is not valid UTF-8 as base64 (default: mostly-text output comes back as text with invalid bytes replaced, encoding utf-8-lossy)."`
}

type execResult struct {
	session.Result
	// Set when the command yielded to the background (yield_ms; yield.go).
	Running      bool   `json:"running,omitempty" jsonschema_description:"Still running as background process id (yield_ms); its session stays busy until it ends."`
	ID           string `json:"id,omitempty" jsonschema_description:"Background process id (yield_ms): wait_for_process, get_process_logs, write_process_stdin and kill_process take it."`
	StdoutOffset int64  `json:"stdout_offset,omitempty" jsonschema_description:"With running: where the output returned so far ends (get_process_logs offsets)."`
	StderrOffset int64  `json:"stderr_offset,omitempty"`
}

// execYieldArgs are exec's arguments: exec_stream's plus yield_ms.
type execYieldArgs struct {
	execArgs
	YieldMs int `json:"yield_ms,omitempty" jsonschema_description:"Return after this many ms if the command is still running, with the output so far, running: true and a process id; it goes on in the background (bash -c with the session's cwd and exported env; shell state changes do not persist; timeout_ms only if given)."`
}

func (r execResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "exit_code: %d  duration: %dms  session: %s  cwd: %s", r.ExitCode, r.DurationMs, r.Session, r.Cwd)
	if r.TimedOut {
		b.WriteString("  TIMED OUT")
	}
	if r.Running {
		b.WriteString("  RUNNING as process " + r.ID)
	}
	if r.SessionEnded {
		b.WriteString("  SESSION ENDED")
	}
	b.WriteByte('\n')
	if r.Note != "" {
		b.WriteString("note: " + r.Note + "\n")
	}
	stream := func(name, content, enc string, truncated bool, total int64, replaced int) {
		if content == "" {
			return
		}
		fmt.Fprintf(&b, "--- %s", name)
		switch enc {
		case "utf-8":
		case "utf-8-lossy":
			fmt.Fprintf(&b, " (utf-8-lossy: %d invalid bytes shown as U+FFFD)", replaced)
		default:
			fmt.Fprintf(&b, " (%s: not valid UTF-8)", enc)
		}
		if truncated {
			fmt.Fprintf(&b, " (truncated, %d bytes in all)", total)
		}
		b.WriteString(" ---\n")
		b.WriteString(content)
		if !strings.HasSuffix(content, "\n") {
			b.WriteByte('\n')
		}
	}
	stream("stdout", r.Stdout, r.StdoutEncoding, r.StdoutTruncated, r.StdoutBytes, r.StdoutReplaced)
	stream("stderr", r.Stderr, r.StderrEncoding, r.StderrTruncated, r.StderrBytes, r.StderrReplaced)
	return b.String()
}

// oomCount reads the sandbox's OOM kill count (ok false: unknown, or no
// client would get the log line, which is all it is read for).
func oomCount(call *server.Call, d *Deps) (int64, bool) {
	if !call.WantsLog("warning") {
		return 0, false
	}
	return d.CurrentSandbox().OOMKills()
}

// logOutcome sends the log lines worth having about a command's end (to
// clients that asked for them): a timeout kill, a shell restart, and
// processes the OOM killer killed while it ran (oomBefore: the count
// before it started).
func logOutcome(call *server.Call, d *Deps, r session.Result, oomBefore int64, oomKnown bool) {
	switch {
	case r.TimedOut:
		call.Log("warning", fmt.Sprintf("session %s: command killed after %dms (timeout): %s", r.Session, r.DurationMs, r.Note))
	case r.SessionEnded:
		call.Log("notice", fmt.Sprintf("session %s: the shell ended and will be restarted for the next command: %s", r.Session, r.Note))
	}
	if r.TimedOut && r.SessionEnded {
		call.Log("warning", fmt.Sprintf("session %s: the shell was restarted: %s", r.Session, r.Note))
	}
	if n, ok := oomCount(call, d); ok && oomKnown && n > oomBefore {
		call.Log("warning", fmt.Sprintf("session %s: the OOM killer killed %d process(es) in the sandbox while the command ran (the --memory limit)", r.Session, n-oomBefore))
	} else if !oomKnown && !r.TimedOut && r.ExitCode == 137 {
		call.Log("warning", fmt.Sprintf("session %s: the command was killed by SIGKILL (exit 137): out of memory or killed from inside", r.Session))
	}
}

// request validates exec/exec_stream arguments into a session request.
func (a execArgs) request() (session.Request, error) {
	if strings.TrimSpace(a.Command) == "" {
		return session.Request{}, fmt.Errorf("command is empty")
	}
	if a.TimeoutMs < 0 || time.Duration(a.TimeoutMs)*time.Millisecond > maxTimeout {
		return session.Request{}, fmt.Errorf("timeout_ms must be between 1 and %d", maxTimeout.Milliseconds())
	}
	if a.MaxOutputBytes < 0 || a.MaxOutputBytes > maxOutputCap {
		return session.Request{}, fmt.Errorf("max_output_bytes must be between 1 and %d", maxOutputCap)
	}
	return session.Request{
		Session: a.Session, Command: a.Command, Cwd: a.Cwd, Env: a.Env.withUnset(a.UnsetEnv), Stdin: a.Stdin,
		Timeout: time.Duration(a.TimeoutMs) * time.Millisecond, MaxOutput: a.MaxOutputBytes, Raw: a.Raw,
	}, nil
}

func init() {
	register("exec", []string{SetCore, SetExec}, true, func(d *Deps) server.Tool {
		return server.NewTool("exec",
			"Run a bash command in a persistent session (cd, export, functions persist). "+
				"Limits: timeout 60s by default (timeout_ms), output capped per stream (head and tail kept), one command at a time per session. "+
				"A non-zero exit code is not an error. Servers: start_process; long jobs: yield_ms.",
			server.Annotations{Title: "Run command", DestructiveHint: true, OpenWorldHint: true},
			func(ctx context.Context, call *server.Call, ya execYieldArgs) (execResult, error) {
				a := ya.execArgs
				if ya.YieldMs < 0 || time.Duration(ya.YieldMs)*time.Millisecond > maxTimeout {
					return execResult{}, fmt.Errorf("yield_ms must be between 1 and %d", maxTimeout.Milliseconds())
				}
				if ya.YieldMs > 0 {
					return execYield(ctx, call, d, a, time.Duration(ya.YieldMs)*time.Millisecond)
				}
				req, err := a.request()
				if err != nil {
					return execResult{}, err
				}
				if call.WantsOutput() { // the status of a task this call may become
					req.OnChunk = func(_ string, data []byte) { call.Output(data) }
				}
				oom, known := oomCount(call, d)
				r, err := d.Sessions.Exec(ctx, req)
				logOutcome(call, d, r, oom, known)
				return execResult{Result: r}, err
			}).WithTasks().WithKey(sessionKey("session"))
	})
}
