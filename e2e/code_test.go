package e2e

// End-to-end tests of the code interpreter (run_code and the code context
// tools) through the real binary and the official Go SDK client.

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type codeOutput struct {
	Text         string `json:"text"`
	HTML         string `json:"html"`
	PNG          string `json:"png"`
	IsMainResult bool   `json:"is_main_result"`
}

type codeResult struct {
	Results []codeOutput `json:"results"`
	Stdout  string       `json:"stdout"`
	Stderr  string       `json:"stderr"`
	Error   *struct {
		Name      string `json:"name"`
		Value     string `json:"value"`
		Traceback string `json:"traceback"`
	} `json:"error"`
	ExecutionCount int    `json:"execution_count"`
	Context        string `json:"context"`
	Language       string `json:"language"`
	TimedOut       bool   `json:"timed_out"`
	StateLost      bool   `json:"state_lost"`
}

func (r codeResult) main() string {
	for _, o := range r.Results {
		if o.IsMainResult {
			return o.Text
		}
	}
	return ""
}

func runCode(t *testing.T, cs *mcp.ClientSession, args map[string]any) (codeResult, *mcp.CallToolResult) {
	t.Helper()
	res := CallOK(t, cs, "run_code", args)
	var r codeResult
	Structured(t, res, &r)
	return r, res
}

func TestCodePython(t *testing.T) {
	cs := Connect(t)
	runCode(t, cs, map[string]any{"code": "x=42; y=10"})
	r, _ := runCode(t, cs, map[string]any{"code": "print(x+y)"})
	if r.Stdout != "52\n" || r.Error != nil || r.Language != "python" || r.Context != "python" {
		t.Fatalf("print(x+y): %+v", r)
	}
	r, res := runCode(t, cs, map[string]any{"code": "1+1", "language": "python"})
	if r.main() != "2" || !strings.Contains(Text(res), "2") {
		t.Fatalf("1+1: %+v", r)
	}
	r, res = runCode(t, cs, map[string]any{"code": "1/0"})
	if res.IsError || r.Error == nil || r.Error.Name != "ZeroDivisionError" {
		t.Fatalf("1/0: %+v", r)
	}
	cell := fmt.Sprintf(`"<cell-%d>", line 1`, r.ExecutionCount)
	if !strings.Contains(r.Error.Traceback, cell) || !strings.Contains(Text(res), "ZeroDivisionError") {
		t.Fatalf("traceback does not name %s:\n%s", cell, r.Error.Traceback)
	}
}

func TestCodePythonRich(t *testing.T) {
	cs := Connect(t)
	r, res := runCode(t, cs, map[string]any{"code": "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title('squares')"})
	if r.Error != nil {
		t.Fatalf("plot: %+v", r.Error)
	}
	var images []*mcp.ImageContent
	for _, c := range res.Content {
		if im, ok := c.(*mcp.ImageContent); ok {
			images = append(images, im)
		}
	}
	if len(images) != 1 || images[0].MIMEType != "image/png" {
		t.Fatalf("want one PNG image block, got %d: %+v", len(images), res.Content)
	}
	img, err := png.Decode(bytes.NewReader(images[0].Data))
	if err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("image block is not a PNG plot: %v", err)
	}
	found := false
	for _, o := range r.Results {
		if o.PNG == "image:0" {
			found = true
		}
		if len(o.PNG) > 100 {
			t.Errorf("structuredContent repeats the base64 (%d bytes)", len(o.PNG))
		}
	}
	if !found {
		t.Errorf("no result references image:0: %+v", r.Results)
	}

	r, _ = runCode(t, cs, map[string]any{"code": "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2], 'b': [3, 4]})\ndf"})
	if r.Error != nil || len(r.Results) == 0 {
		t.Fatalf("dataframe: %+v", r)
	}
	o := r.Results[len(r.Results)-1]
	if !o.IsMainResult || !strings.Contains(o.HTML, "<table") || !strings.Contains(o.Text, "a  b") {
		t.Fatalf("dataframe result: %+v", o)
	}

	r, _ = runCode(t, cs, map[string]any{"code": "import no_such_module_sbx"})
	if r.Error == nil || r.Error.Name != "ModuleNotFoundError" || !strings.Contains(r.Error.Value, "pip install") {
		t.Fatalf("missing module: %+v", r.Error)
	}
}

func TestCodeContexts(t *testing.T) {
	cs := Connect(t)
	var a, b struct{ ID, Language, Cwd string }
	Structured(t, CallOK(t, cs, "create_code_context", map[string]any{"language": "python"}), &a)
	Structured(t, CallOK(t, cs, "create_code_context", map[string]any{"language": "python", "env": map[string]any{"GREETING": "hi"}}), &b)
	if a.ID == "" || a.ID == b.ID || a.Language != "python" || a.Cwd == "" {
		t.Fatalf("create: %+v %+v", a, b)
	}
	runCode(t, cs, map[string]any{"code": "secret = 'a'", "context": a.ID})
	r, _ := runCode(t, cs, map[string]any{"code": "import os\nprint(os.environ['GREETING'])\nsecret", "context": b.ID})
	if r.Error == nil || r.Error.Name != "NameError" || r.Stdout != "hi\n" {
		t.Fatalf("contexts not isolated: %+v", r)
	}
	r, _ = runCode(t, cs, map[string]any{"code": "secret", "context": a.ID})
	if r.main() != "'a'" {
		t.Fatalf("context a lost its state: %+v", r)
	}
	var list struct {
		Contexts []struct{ ID, Language, Cwd, CreatedAt string } `json:"contexts"`
	}
	Structured(t, CallOK(t, cs, "list_code_contexts", nil), &list)
	if len(list.Contexts) != 2 {
		t.Fatalf("list: %+v", list)
	}
	CallOK(t, cs, "delete_code_context", map[string]any{"id": a.ID})
	if res := Call(t, cs, "run_code", map[string]any{"code": "1", "context": a.ID}); !res.IsError {
		t.Errorf("run on a deleted context: %s", Text(res))
	}
	if res := Call(t, cs, "delete_code_context", map[string]any{"id": a.ID}); !res.IsError {
		t.Errorf("delete twice: %s", Text(res))
	}
	if res := Call(t, cs, "run_code", map[string]any{"code": "1", "language": "cobol"}); !res.IsError || !strings.Contains(Text(res), "language") {
		t.Errorf("unknown language: %s", Text(res))
	}
	if res := Call(t, cs, "run_code", map[string]any{"code": "1", "context": "nope"}); !res.IsError || !strings.Contains(Text(res), "create_code_context") {
		t.Errorf("unknown context: %s", Text(res))
	}
}

func TestCodeJavaScript(t *testing.T) {
	cs := Connect(t)
	js := func(code string) codeResult {
		t.Helper()
		r, _ := runCode(t, cs, map[string]any{"code": code, "language": "javascript"})
		if r.Error != nil {
			t.Fatalf("%q: %+v", code, r.Error)
		}
		return r
	}
	js("let counter = 0")
	js("counter++")
	if got := js("counter += 1; counter").main(); got != "2" {
		t.Fatalf("counter: %q", got)
	}
	if got := js("await Promise.resolve(42)").main(); got != "42" {
		t.Fatalf("await: %q", got)
	}
	js("const base = 40")
	if got := js("base + 2").main(); got != "42" {
		t.Fatalf("const: %q", got)
	}
	r := js("console.log('to stdout'); console.error('to stderr')")
	if r.Stdout != "to stdout\n" || r.Stderr != "to stderr\n" {
		t.Fatalf("console: %+v", r)
	}
	r, res := runCode(t, cs, map[string]any{"code": "await Promise.reject(new TypeError('nope'))", "language": "javascript"})
	if res.IsError || r.Error == nil || r.Error.Name != "TypeError" || r.Error.Value != "nope" {
		t.Fatalf("rejection: %+v", r)
	}
}

func TestCodeTimeoutKeepsState(t *testing.T) {
	cs := Connect(t)
	runCode(t, cs, map[string]any{"code": "kept = 'yes'"})
	start := time.Now()
	r, _ := runCode(t, cs, map[string]any{"code": "while True: pass", "timeout_ms": 1000})
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("timed-out cell returned after %v, want within 3s", el)
	}
	if !r.TimedOut || r.StateLost || r.Error == nil || r.Error.Name != "KeyboardInterrupt" {
		t.Fatalf("timeout: %+v", r)
	}
	if r, _ = runCode(t, cs, map[string]any{"code": "kept"}); r.main() != "'yes'" {
		t.Fatalf("state lost after timeout: %+v", r)
	}
	runCode(t, cs, map[string]any{"code": "const jsKept = 1", "language": "javascript"})
	r, _ = runCode(t, cs, map[string]any{"code": "while (true) {}", "language": "javascript", "timeout_ms": 500})
	if !r.TimedOut || r.StateLost || r.Error == nil {
		t.Fatalf("js timeout: %+v", r)
	}
	if r, _ = runCode(t, cs, map[string]any{"code": "jsKept", "language": "javascript"}); r.main() != "1" {
		t.Fatalf("js state lost after timeout: %+v", r)
	}
}

func TestCodeConcurrentCellsInOrder(t *testing.T) {
	cs := Connect(t)
	runCode(t, cs, map[string]any{"code": "log = []"})
	var wg sync.WaitGroup
	counts := make([]int, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := runCode(t, cs, map[string]any{"code": fmt.Sprintf("import time\nlog.append(('start', %d))\ntime.sleep(0.05)\nlog.append(('end', %d))", i, i)})
			counts[i] = r.ExecutionCount
		}()
	}
	wg.Wait()
	// Every cell ran alone: each start is directly followed by its own end.
	r, _ := runCode(t, cs, map[string]any{"code": "len(log) == 10 and all(log[k][0] == 'start' and log[k+1] == ('end', log[k][1]) for k in range(0, 10, 2))"})
	if r.main() != "True" {
		t.Fatalf("cells overlapped: %+v", r)
	}
	seen := map[int]bool{}
	for _, c := range counts {
		if c < 2 || c > 6 || seen[c] {
			t.Fatalf("execution counts %v", counts)
		}
		seen[c] = true
	}
}

func TestCodeStreaming(t *testing.T) {
	work := t.TempDir() // the gate lies in the workdir, which host and sandbox share
	gate := filepath.Join(work, "gate")
	cs, log := ConnectProgress(t, func(p *mcp.ProgressNotificationParams) {
		if strings.Contains(p.Message, "Step 0") {
			os.WriteFile(gate, nil, 0o644)
		}
	}, "--workdir", work)
	// The cell waits for the test to see "Step 0": it only finishes quickly
	// if the chunk was streamed while the cell ran.
	code := fmt.Sprintf(`import os, time
print("Step 0")
for _ in range(300):
    if os.path.exists(%q):
        print("streamed")
        break
    time.sleep(0.05)
else:
    print("not streamed")
`, gate)
	params := &mcp.CallToolParams{Name: "run_code", Arguments: map[string]any{"code": code}}
	params.SetProgressToken("code-1")
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	res, err := cs.CallTool(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	var r codeResult
	Structured(t, res, &r)
	if r.Stdout != "Step 0\nstreamed\n" {
		t.Fatalf("stdout %q (progress messages %q)", r.Stdout, log.Messages())
	}
	progress := log.Values()
	for i := 1; i < len(progress); i++ {
		if progress[i] <= progress[i-1] {
			t.Fatalf("progress not increasing: %v", progress)
		}
	}
}

func benchCodeWarm(b *testing.B, lang string) {
	cs := Connect(b)
	args := map[string]any{"code": "1+1", "language": lang}
	CallOK(b, cs, "run_code", args)
	for b.Loop() {
		CallOK(b, cs, "run_code", args)
	}
}

// BenchmarkCodeWarmPython is a warm `1+1` round trip through the binary.
func BenchmarkCodeWarmPython(b *testing.B)     { benchCodeWarm(b, "python") }
func BenchmarkCodeWarmJavaScript(b *testing.B) { benchCodeWarm(b, "javascript") }

func benchCodeNew(b *testing.B, lang string) {
	cs := Connect(b)
	for b.Loop() {
		res := CallOK(b, cs, "create_code_context", map[string]any{"language": lang})
		b.StopTimer()
		CallOK(b, cs, "delete_code_context", map[string]any{"id": Map(b, res)["id"]})
		b.StartTimer()
	}
}

// BenchmarkCodeNewPythonContext is create_code_context until the
// interpreter answers.
func BenchmarkCodeNewPythonContext(b *testing.B)     { benchCodeNew(b, "python") }
func BenchmarkCodeNewJavaScriptContext(b *testing.B) { benchCodeNew(b, "javascript") }

func TestCodeCancelKeepsState(t *testing.T) {
	cs := Connect(t)
	runCode(t, cs, map[string]any{"code": "kept = 5"})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "run_code", Arguments: map[string]any{"code": "import time\nwhile True: time.sleep(0.01)"}})
	if err == nil {
		t.Fatal("cancelled call returned a result")
	}
	// The cancelled cell was interrupted: the context is free and kept its state.
	if r, _ := runCode(t, cs, map[string]any{"code": "kept"}); r.main() != "5" || r.StateLost {
		t.Fatalf("after cancel: %+v", r)
	}
}
