package server

import (
	"fmt"
	"strings"
	"testing"
)

// Calls beyond MaxCalls wait in a FIFO queue and start in arrival order as
// slots free up; past MaxQueued a call is refused as busy at once.
func TestCallQueue(t *testing.T) {
	release := make(chan string)
	cancelled := make(chan struct{}, 10)
	w := startWire(t, Options{Tools: []Tool{gateTool(release, cancelled)}, MaxCalls: 1, MaxQueued: 2})
	const meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`
	for i := 1; i <= 4; i++ {
		w.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"gate","arguments":{},%s}}`, i, meta))
	}
	// 1 runs, 2 and 3 wait, 4 is over the bound
	m := w.next()
	if m["id"] != float64(4) || result(t, m)["isError"] != true || !strings.Contains(fmt.Sprint(result(t, m)["content"]), "server busy") {
		t.Fatalf("call 4: %v", m)
	}
	for i := 1; i <= 3; i++ {
		release <- fmt.Sprint("r", i)
		m := w.next()
		if m["id"] != float64(i) || !strings.Contains(fmt.Sprint(result(t, m)), fmt.Sprint("r", i)) {
			t.Fatalf("answer %d: %v", i, m)
		}
	}
}
