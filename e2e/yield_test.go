package e2e_test

import (
	"testing"

	"github.com/sbx-mcp/sbx-mcp/e2e"
)

// exec with yield_ms returns while the command runs (running: true and a
// process id); wait_for_process returns the rest, and no output is ever
// returned twice.
func TestExecYield(t *testing.T) {
	cs := e2e.Connect(t)
	res := e2e.CallOK(t, cs, "exec", map[string]any{"command": "for i in 1 2 3 4 5; do echo $i; sleep 1; done", "yield_ms": 500})
	first := e2e.Map(t, res)
	id, _ := first["id"].(string)
	if first["running"] != true || id == "" {
		t.Fatalf("exec with yield_ms: %v", first)
	}
	// the session is busy until the command ends
	sessions := e2e.Map(t, e2e.CallOK(t, cs, "list_sessions", nil))["sessions"].([]any)
	if busy := sessions[0].(map[string]any)["busy"]; busy != true {
		t.Errorf("session busy = %v while the yielded command runs", busy)
	}
	waited := e2e.Map(t, e2e.CallOK(t, cs, "wait_for_process", map[string]any{"id": id, "exit": true, "timeout_ms": 60000}))
	if waited["exit_code"] != float64(0) {
		t.Fatalf("wait_for_process: %v", waited)
	}
	got := first["stdout"].(string) + waited["stdout"].(string)
	if got != "1\n2\n3\n4\n5\n" {
		t.Errorf("exec returned %q, wait_for_process %q: want lines 1-5 once", first["stdout"], waited["stdout"])
	}
	rest := e2e.Map(t, e2e.CallOK(t, cs, "get_process_logs", map[string]any{"id": id}))
	if rest["stdout"] != "" {
		t.Errorf("get_process_logs repeated output: %q", rest["stdout"])
	}
	all := e2e.Map(t, e2e.CallOK(t, cs, "get_process_logs", map[string]any{"id": id, "offset": 0}))
	if all["stdout"] != "1\n2\n3\n4\n5\n" {
		t.Errorf("the log from offset 0: %q", all["stdout"])
	}
	// the session is free again: a command on it runs
	if out := e2e.Map(t, e2e.CallOK(t, cs, "exec", map[string]any{"command": "echo after"}))["stdout"]; out != "after\n" {
		t.Errorf("exec after the yielded command: %q", out)
	}
	// a quick command under yield_ms returns exec's result
	quick := e2e.Map(t, e2e.CallOK(t, cs, "exec", map[string]any{"command": "echo quick; exit 3", "yield_ms": 30000}))
	if quick["running"] == true || quick["stdout"] != "quick\n" || quick["exit_code"] != float64(3) {
		t.Errorf("quick command with yield_ms: %v", quick)
	}
}

// write_process_stdin and kill_process work on a yielded exec.
func TestExecYieldStdinKill(t *testing.T) {
	cs := e2e.Connect(t)
	first := e2e.Map(t, e2e.CallOK(t, cs, "exec", map[string]any{"command": "read line; echo got $line; sleep 1000", "yield_ms": 200}))
	id, _ := first["id"].(string)
	if first["running"] != true {
		t.Fatalf("exec: %v", first)
	}
	e2e.CallOK(t, cs, "write_process_stdin", map[string]any{"id": id, "data": "hello\n"})
	e2e.CallOK(t, cs, "wait_for_process", map[string]any{"id": id, "pattern": "got hello", "timeout_ms": 60000})
	killed := e2e.Map(t, e2e.CallOK(t, cs, "kill_process", map[string]any{"id": id}))
	if killed["status"] != "killed" {
		t.Errorf("kill_process: %v", killed)
	}
	if out := e2e.Map(t, e2e.CallOK(t, cs, "exec", map[string]any{"command": "echo free"}))["stdout"]; out != "free\n" {
		t.Errorf("session after kill: %q", out)
	}
}

// run_code with yield_ms returns a cell id; wait_code returns the rest of
// the output (not what was returned already) and the cell's result.
func TestRunCodeYield(t *testing.T) {
	cs := e2e.Connect(t)
	code := "import time\nfor i in range(1, 6):\n    print(i, flush=True)\n    time.sleep(0.5)\n6*7"
	first := e2e.Map(t, e2e.CallOK(t, cs, "run_code", map[string]any{"code": code, "yield_ms": 300}))
	id, _ := first["id"].(string)
	if first["running"] != true || id == "" {
		t.Fatalf("run_code with yield_ms: %v", first)
	}
	done := e2e.Map(t, e2e.CallOK(t, cs, "wait_code", map[string]any{"id": id, "timeout_ms": 60000}))
	for done["running"] == true { // a slow machine: wait again
		first["stdout"] = first["stdout"].(string) + done["stdout"].(string)
		done = e2e.Map(t, e2e.CallOK(t, cs, "wait_code", map[string]any{"id": id, "timeout_ms": 60000}))
	}
	if got := first["stdout"].(string) + done["stdout"].(string); got != "1\n2\n3\n4\n5\n" {
		t.Errorf("run_code returned %q, wait_code %q: want 1-5 once", first["stdout"], done["stdout"])
	}
	results, _ := done["results"].([]any)
	if len(results) != 1 || results[0].(map[string]any)["text"] != "42" {
		t.Errorf("result: %v", done["results"])
	}
	if r := e2e.Call(t, cs, "wait_code", map[string]any{"id": id}); !r.IsError {
		t.Errorf("a second wait_code on a returned cell: %v", e2e.Text(r))
	}
}
