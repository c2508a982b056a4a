package tools

import (
	"fmt"
	"strings"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// Instructions is the short guide to the tools that initialize returns
// (kept under 2 KB; a test measures it).
func Instructions(d *Deps) string {
	var b strings.Builder
	b.WriteString("sbx-mcp gives you an isolated Linux sandbox (bash, coreutils, python3, node).\n")
	b.WriteString("- exec runs bash in a persistent session: cd, export, functions persist between calls; ")
	b.WriteString("\"default\" always exists, create_session makes independent ones. A non-zero exit code is data. ")
	b.WriteString("Commands time out (default 60s, timeout_ms) and output is capped per stream (head+tail kept).\n")
	b.WriteString("- exec_stream streams output as progress notifications.\n")
	b.WriteString("- start_process runs servers and long jobs in the background; read output with get_process_logs, ")
	b.WriteString("wait_for_process (exit, port or regex), stop with kill_process.\n")
	b.WriteString("- read_file, write_file, list_files, file_info, mkdir, move_file, delete_file work on the sandbox's files; ")
	b.WriteString("relative paths resolve against the session's cwd.\n")
	b.WriteString("- run_code runs Python (default) or JavaScript in a persistent context; the last expression is the result; ")
	b.WriteString("matplotlib plots come back as images.\n")
	if d != nil && d.Sandbox != nil {
		info := d.Sandbox.Info()
		fmt.Fprintf(&b, "Isolation: %s. Workdir: %s.", info.Level, d.Sandbox.Workdir())
		if info.Level != isolation.LevelFull && len(info.Reasons) > 0 {
			fmt.Fprintf(&b, " Gaps: %s.", strings.Join(info.Reasons, "; "))
		}
		b.WriteByte('\n')
	} else {
		b.WriteString("Isolation: the sandbox did not start; tools that run code will fail (see sandbox_info).\n")
	}
	s := b.String()
	if len(s) > 1900 {
		s = s[:1900]
	}
	return s
}
