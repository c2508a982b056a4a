package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sbx-mcp/sbx-mcp/e2e"
)

// The 2026-07-28 wire, raw: no initialize, _meta on every request. (The
// SDK client runs the rest of the suite at 2026-07-28 too; these check the
// exact shapes.)

const (
	modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	tasksMeta  = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}`
)

// msg is one decoded line from the server.
type msg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params map[string]any  `json:"params"`
	Result map[string]any  `json:"result"`
	Error  *struct {
		Code    int            `json:"code"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	} `json:"error"`
}

func recvMsg(t *testing.T, r *e2e.Raw) msg {
	t.Helper()
	line := r.Recv(t, time.Minute)
	var m msg
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("bad line %s: %v", line, err)
	}
	return m
}

// response reads lines up to the response with id, returning it and the
// notifications before it.
func response(t *testing.T, r *e2e.Raw, id string) (msg, []msg) {
	t.Helper()
	var notes []msg
	for {
		m := recvMsg(t, r)
		if string(m.ID) == id && m.Method == "" {
			return m, notes
		}
		notes = append(notes, m)
	}
}

func call(id int, tool, args, meta string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s,%s}}`, id, tool, args, meta)
}

func TestModernDiscoverAndVersions(t *testing.T) {
	r := e2e.StartRaw(t)
	r.Send(t, `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{`+modernMeta+`}}`)
	d, _ := response(t, r, "1")
	res := d.Result
	versions, _ := res["supportedVersions"].([]any)
	caps, _ := res["capabilities"].(map[string]any)
	meta, _ := res["_meta"].(map[string]any)
	info, _ := meta["io.modelcontextprotocol/serverInfo"].(map[string]any)
	exts, _ := caps["extensions"].(map[string]any)
	icons, _ := info["icons"].([]any)
	if res["resultType"] != "complete" || len(versions) != 5 || versions[0] != "2026-07-28" || versions[1] != "2025-11-25" ||
		caps["tools"] == nil || exts["io.modelcontextprotocol/tasks"] == nil || info["name"] != "sbx-mcp" || info["version"] == nil ||
		len(icons) != 1 || !strings.HasPrefix(icons[0].(map[string]any)["src"].(string), "data:image/svg+xml;base64,") ||
		res["instructions"] == nil || res["ttlMs"] == nil || res["cacheScope"] != "private" {
		t.Fatalf("discover result: %v", res)
	}
	r.Send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"1900-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}`)
	e, _ := response(t, r, "2")
	if e.Error == nil || e.Error.Code != -32022 || e.Error.Data["requested"] != "1900-01-01" || len(e.Error.Data["supported"].([]any)) != 5 {
		t.Fatalf("bad version: %+v", e.Error)
	}
	r.Send(t, `{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{`+modernMeta+`}}`)
	l, _ := response(t, r, "3")
	if l.Result["ttlMs"] == nil || l.Result["cacheScope"] != "private" || l.Result["resultType"] != "complete" || len(l.Result["tools"].([]any)) < 20 {
		t.Fatalf("tools/list: ttlMs %v cacheScope %v resultType %v", l.Result["ttlMs"], l.Result["cacheScope"], l.Result["resultType"])
	}
}

// Every modern result carries resultType and _meta serverInfo, tool errors
// included.
func TestModernResultTypeEverywhere(t *testing.T) {
	r := e2e.StartRaw(t)
	calls := []string{
		call(1, "exec", `{"command":"echo hi"}`, modernMeta),
		call(2, "exec_stream", `{"command":"echo streamed"}`, modernMeta),
		call(3, "write_file", `{"path":"f.txt","content":"x"}`, modernMeta),
		call(4, "read_file", `{"path":"f.txt"}`, modernMeta),
		call(5, "list_files", `{"path":"."}`, modernMeta),
		call(6, "run_code", `{"code":"1+1"}`, modernMeta),
		call(7, "sandbox_info", `{}`, modernMeta),
		call(8, "list_sessions", `{}`, modernMeta),
		call(9, "read_file", `{"path":"/no/such/file"}`, modernMeta),
		`{"jsonrpc":"2.0","id":10,"method":"ping","params":{` + modernMeta + `}}`,
		`{"jsonrpc":"2.0","id":11,"method":"server/discover","params":{` + modernMeta + `}}`,
	}
	for i, c := range calls {
		r.Send(t, c)
		m, _ := response(t, r, fmt.Sprint(i+1))
		meta, _ := m.Result["_meta"].(map[string]any)
		if m.Result == nil || m.Result["resultType"] != "complete" || meta["io.modelcontextprotocol/serverInfo"] == nil {
			t.Errorf("request %d: result %v, error %+v", i+1, m.Result, m.Error)
		}
	}
}

// notifications/message only for a request with a logLevel in _meta: a
// command killed on timeout is logged at warning.
func TestModernLoggingGated(t *testing.T) {
	r := e2e.StartRaw(t)
	timeout := `{"command":"sleep 30","timeout_ms":300}`
	r.Send(t, call(1, "exec", timeout, modernMeta))
	m, notes := response(t, r, "1")
	if m.Result == nil || len(notes) != 0 {
		t.Fatalf("without a log level: %d notifications before %v", len(notes), m.Result)
	}
	withLevel := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"info"}`
	r.Send(t, call(2, "exec", timeout, withLevel))
	m, notes = response(t, r, "2")
	if m.Result == nil || len(notes) != 1 || notes[0].Method != "notifications/message" || notes[0].Params["level"] != "warning" ||
		!strings.Contains(fmt.Sprint(notes[0].Params["data"]), "killed after") {
		t.Fatalf("with log level info: %+v", notes)
	}
	r.Send(t, call(3, "exec", timeout, strings.Replace(withLevel, `"info"`, `"error"`, 1)))
	if _, notes = response(t, r, "3"); len(notes) != 0 {
		t.Fatalf("a warning went to a client at level error: %+v", notes)
	}
}

// Legacy clients get the same log lines after logging/setLevel.
func TestLegacyLoggingAfterSetLevel(t *testing.T) {
	r := e2e.StartRaw(t)
	r.Initialize(t, "2025-11-25")
	r.Send(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec","arguments":{"command":"sleep 30","timeout_ms":300}}}`)
	if _, notes := response(t, r, "1"); len(notes) != 0 {
		t.Fatalf("log lines before logging/setLevel: %+v", notes)
	}
	r.Send(t, `{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"debug"}}`)
	response(t, r, "2")
	r.Send(t, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"exec","arguments":{"command":"sleep 30","timeout_ms":300}}}`)
	if _, notes := response(t, r, "3"); len(notes) != 1 || notes[0].Params["level"] != "warning" {
		t.Fatalf("after logging/setLevel: %+v", notes)
	}
}

// Legacy raw wire: a batch under 2025-03-26 is answered as one array; an
// unknown tools/list cursor is -32602.
func TestLegacyBatchAndCursor(t *testing.T) {
	r := e2e.StartRaw(t)
	r.Initialize(t, "2025-03-26")
	r.Send(t, `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo batched"}}}]`)
	line := r.Recv(t, time.Minute)
	var batch []msg
	if err := json.Unmarshal(line, &batch); err != nil || len(batch) != 2 || string(batch[0].ID) != "1" || string(batch[1].ID) != "2" ||
		!strings.Contains(string(line), "batched") {
		t.Fatalf("batch answer %s (%v)", line, err)
	}
	r.Send(t, `{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":"page-2"}}`)
	if m, _ := response(t, r, "3"); m.Error == nil || m.Error.Code != -32602 {
		t.Fatalf("bad cursor: %+v", m)
	}
}

// listenTask subscribes to a task's status notifications.
func listenTask(t *testing.T, r *e2e.Raw, subID, taskID string) {
	t.Helper()
	r.Send(t, `{"jsonrpc":"2.0","id":"`+subID+`","method":"subscriptions/listen","params":{"notifications":{"taskIds":["`+taskID+`"]},`+tasksMeta+`}}`)
	ack := recvMsg(t, r)
	if ack.Method != "notifications/subscriptions/acknowledged" || !strings.Contains(fmt.Sprint(ack.Params["notifications"]), taskID) {
		t.Fatalf("ack: %+v", ack)
	}
}

// awaitTask reads lines until notifications/tasks reports a final status.
func awaitTask(t *testing.T, r *e2e.Raw, taskID string) msg {
	t.Helper()
	for {
		m := recvMsg(t, r)
		if m.Method == "notifications/tasks" && m.Params["taskId"] == taskID && m.Params["status"] != "working" {
			return m
		}
	}
}

func taskGet(t *testing.T, r *e2e.Raw, id int, taskID string) map[string]any {
	t.Helper()
	r.Send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tasks/get","params":{"taskId":%q,%s}}`, id, taskID, tasksMeta))
	m, _ := response(t, r, fmt.Sprint(id))
	if m.Result == nil {
		t.Fatalf("tasks/get: %+v", m.Error)
	}
	return m.Result
}

// A long exec becomes a task: working (with the output so far), then
// completed with exec's full result.
func TestTaskExecCompletes(t *testing.T) {
	r := e2e.StartRaw(t, "--task-after", "300")
	r.Send(t, call(1, "exec", `{"command":"echo started; sleep 2; echo done"}`, tasksMeta))
	created, _ := response(t, r, "1")
	taskID, _ := created.Result["taskId"].(string)
	if created.Result["resultType"] != "task" || created.Result["status"] != "working" || taskID == "" {
		t.Fatalf("CreateTaskResult: %v", created.Result)
	}
	listenTask(t, r, "sub", taskID)
	if got := taskGet(t, r, 2, taskID); got["status"] != "working" && got["status"] != "completed" {
		t.Fatalf("status %v", got["status"])
	}
	awaitTask(t, r, taskID)
	got := taskGet(t, r, 3, taskID)
	res, _ := got["result"].(map[string]any)
	sc, _ := res["structuredContent"].(map[string]any)
	if got["status"] != "completed" || sc["stdout"] != "started\ndone\n" || sc["exit_code"] != float64(0) {
		t.Fatalf("completed task: %v", got)
	}
	// a client without the extension blocks as before
	r.Send(t, call(4, "exec", `{"command":"sleep 0.5; echo plain"}`, modernMeta))
	if m, _ := response(t, r, "4"); m.Result["resultType"] != "complete" || !strings.Contains(fmt.Sprint(m.Result["structuredContent"]), "plain") {
		t.Fatalf("blocking call: %v", m.Result)
	}
}

// tasks/cancel kills the command: no process is left behind.
func TestTaskCancelLeavesNoProcess(t *testing.T) {
	r := e2e.StartRaw(t, "--task-after", "200")
	r.Send(t, call(1, "exec", `{"command":"sleep 1234"}`, tasksMeta))
	created, _ := response(t, r, "1")
	taskID, _ := created.Result["taskId"].(string)
	if taskID == "" {
		t.Fatalf("no task: %v", created.Result)
	}
	listenTask(t, r, "sub", taskID)
	r.Send(t, `{"jsonrpc":"2.0","id":2,"method":"tasks/cancel","params":{"taskId":"`+taskID+`",`+tasksMeta+`}}`)
	var final msg
	for final.Method == "" { // the ack and the cancelled status, in either order
		m := recvMsg(t, r)
		if m.Method == "notifications/tasks" && m.Params["status"] != "working" {
			final = m
		}
	}
	if final.Params["status"] != "cancelled" {
		t.Fatalf("final status: %v", final.Params)
	}
	r.Send(t, call(3, "exec", `{"command":"ps -eo args | grep -c '^sleep 1234' || true"}`, modernMeta))
	m, _ := response(t, r, "3")
	if sc, _ := m.Result["structuredContent"].(map[string]any); sc["stdout"] != "0\n" {
		t.Fatalf("after tasks/cancel: %v", m.Result)
	}
}

// A command the OOM killer kills under --memory is logged at warning (the
// memory cgroup's oom_kill count goes up).
func TestModernLogsOOMKill(t *testing.T) {
	r := e2e.StartRaw(t, "--memory", "24M")
	r.Send(t, call(1, "sandbox_info", `{}`, modernMeta))
	info, _ := response(t, r, "1")
	layers, _ := info.Result["structuredContent"].(map[string]any)["layers"].(map[string]any)
	if layers["cgroup_limits"] != true {
		if os.Getenv("SBX_REQUIRE_ISOLATION") == "1" {
			t.Fatalf("SBX_REQUIRE_ISOLATION=1 but no cgroup limits: %v", info.Result["structuredContent"])
		}
		t.Skip("no cgroup limits at this isolation level")
	}
	withLevel := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"warning"}`
	r.Send(t, call(2, "exec", `{"command":"tail /dev/zero; echo status $?"}`, withLevel))
	m, notes := response(t, r, "2")
	found := false
	for _, n := range notes {
		found = found || n.Method == "notifications/message" && strings.Contains(fmt.Sprint(n.Params["data"]), "OOM killer killed")
	}
	if !found {
		t.Fatalf("no OOM log line; notifications %+v, result %v", notes, m.Result["structuredContent"])
	}
}
