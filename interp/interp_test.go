package interp

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func newTestManager(t testing.TB) *Manager {
	t.Helper()
	m := newManager(nil, Options{Timeout: 30 * time.Second, MaxOutput: 64 << 10, Log: zerolog.Nop()}, localSpawn)
	t.Cleanup(m.Close)
	return m
}

func run(t testing.TB, m *Manager, lang, ctxID, code string) *Result {
	t.Helper()
	res, err := m.Run(context.Background(), RunRequest{Code: code, Language: lang, Context: ctxID})
	if err != nil {
		t.Fatalf("run %q: %v", code, err)
	}
	return res
}

func mainText(r *Result) string {
	for _, o := range r.Results {
		if o.IsMainResult {
			return o.Text
		}
	}
	return ""
}

func TestPythonState(t *testing.T) {
	m := newTestManager(t)
	run(t, m, "python", "", "x=42; y=10")
	r := run(t, m, "python", "", "print(x+y)")
	if r.Stdout != "52\n" || r.Error != nil {
		t.Fatalf("got %+v", r)
	}
	r = run(t, m, "python", "", "1+1")
	if mainText(r) != "2" {
		t.Fatalf("1+1: %+v", r)
	}
	if r.ExecutionCount != 3 {
		t.Errorf("execution_count = %d, want 3", r.ExecutionCount)
	}
}

func TestPythonError(t *testing.T) {
	m := newTestManager(t)
	r := run(t, m, "python", "", "1/0")
	if r.Error == nil || r.Error.Name != "ZeroDivisionError" {
		t.Fatalf("got %+v", r)
	}
	if !strings.Contains(r.Error.Traceback, `"<cell-1>", line 1`) || strings.Contains(r.Error.Traceback, "_run") {
		t.Errorf("traceback:\n%s", r.Error.Traceback)
	}
	r = run(t, m, "python", "", "def f():\n    raise ValueError('bad')\n\nf()")
	if r.Error == nil || r.Error.Name != "ValueError" || !strings.Contains(r.Error.Traceback, "line 2, in f") || !strings.Contains(r.Error.Traceback, "raise ValueError") {
		t.Fatalf("got %+v", r.Error)
	}
	r = run(t, m, "python", "", "if:")
	if r.Error == nil || r.Error.Name != "SyntaxError" {
		t.Fatalf("got %+v", r.Error)
	}
	r = run(t, m, "python", "", "import no_such_module_xyz")
	if r.Error == nil || r.Error.Name != "ModuleNotFoundError" || !strings.Contains(r.Error.Value, "pip install no_such_module_xyz") {
		t.Fatalf("got %+v", r.Error)
	}
}

func TestPythonRich(t *testing.T) {
	m := newTestManager(t)
	r := run(t, m, "python", "", `
class H:
    def _repr_html_(self): return "<b>hi</b>"
    def _repr_markdown_(self): return "**hi**"
    def __repr__(self): return "H()"
display(H())
import warnings, sys
warnings.warn("careful")
print("err", file=sys.stderr)
{"a": 1}`)
	if len(r.Results) != 2 || r.Results[0].HTML != "<b>hi</b>" || r.Results[0].Markdown != "**hi**" || r.Results[0].Text != "H()" || r.Results[0].IsMainResult {
		t.Fatalf("display: %+v", r.Results)
	}
	if mainText(r) != "{'a': 1}" {
		t.Errorf("main: %+v", r.Results)
	}
	if !strings.Contains(r.Stderr, "UserWarning: careful") || !strings.Contains(r.Stderr, "err\n") {
		t.Errorf("stderr: %q", r.Stderr)
	}
}

func TestPythonMatplotlibPandas(t *testing.T) {
	m := newTestManager(t)
	r := run(t, m, "python", "", "import matplotlib.pyplot as plt\nplt.plot([1,2,3],[1,4,9])\nplt.show()")
	if r.Error != nil || len(r.Images) != 1 || r.Images[0].MimeType != "image/png" {
		t.Fatalf("plot: %+v", r)
	}
	png, err := base64.StdEncoding.DecodeString(r.Images[0].Data)
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG\r\n\x1a\n") {
		t.Fatalf("not a PNG: %v", err)
	}
	var ref string
	for _, o := range r.Results {
		if o.PNG != "" {
			ref = o.PNG
		}
	}
	if ref != "image:0" || r.Stderr != "" {
		t.Errorf("png ref %q, stderr %q", ref, r.Stderr)
	}
	r = run(t, m, "python", "", "import pandas as pd\npd.DataFrame({'a':[1,2],'b':[3,4]})")
	o := r.Results[len(r.Results)-1]
	if !o.IsMainResult || !strings.Contains(o.HTML, "<table") || !strings.Contains(o.Text, "a  b") {
		t.Fatalf("dataframe: %+v", r)
	}
}

func TestContextsIsolated(t *testing.T) {
	m := newTestManager(t)
	a, err := m.Create(context.Background(), CreateRequest{Language: "python"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Create(context.Background(), CreateRequest{Language: "python", Env: map[string]string{"FOO": "bar"}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, m, "", a.ID, "v = 'a'")
	r := run(t, m, "", b.ID, "import os\nprint(os.environ['FOO'])\nv")
	if r.Error == nil || r.Error.Name != "NameError" || r.Stdout != "bar\n" {
		t.Fatalf("isolation: %+v", r)
	}
	if got := len(m.List()); got != 2 {
		t.Errorf("list: %d contexts", got)
	}
	if err := m.Delete(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(context.Background(), RunRequest{Code: "1", Context: a.ID}); err == nil {
		t.Error("run on a deleted context succeeded")
	}
	if _, err := m.Run(context.Background(), RunRequest{Code: "1", Language: "cobol"}); err == nil {
		t.Error("unknown language accepted")
	}
	if _, err := m.Run(context.Background(), RunRequest{Code: "1", Language: "javascript", Context: b.ID}); err == nil {
		t.Error("language mismatch accepted")
	}
}

func TestPythonTimeoutKeepsState(t *testing.T) {
	m := newTestManager(t)
	run(t, m, "python", "", "keep = 7")
	r, err := m.Run(context.Background(), RunRequest{Code: "while True: pass", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !r.TimedOut || r.StateLost || r.Error == nil || r.Error.Name != "KeyboardInterrupt" {
		t.Fatalf("got %+v", r)
	}
	if got := mainText(run(t, m, "python", "", "keep")); got != "7" {
		t.Fatalf("state lost: %q", got)
	}
}

func TestPythonWedgedRestarts(t *testing.T) {
	m := newTestManager(t)
	run(t, m, "python", "", "keep = 7")
	r, err := m.Run(context.Background(), RunRequest{Code: "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !r.TimedOut || !r.StateLost || r.Error == nil {
		t.Fatalf("got %+v", r)
	}
	r = run(t, m, "python", "", "'keep' in dir()")
	if mainText(r) != "False" {
		t.Fatalf("after restart: %+v", r)
	}
}

func TestFIFO(t *testing.T) {
	m := newTestManager(t)
	run(t, m, "python", "", "log = []")
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(t, m, "python", "", fmt.Sprintf("import time\nlog.append(('start', %d)); time.sleep(0.02); log.append(('end', %d))", i, i))
		}()
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	r := run(t, m, "python", "", "all(log[k][0]=='start' and log[k+1]==('end', log[k][1]) for k in range(0, len(log), 2)) and len(log)")
	if mainText(r) != "10" {
		t.Fatalf("cells overlapped or got lost: %+v", r)
	}
}

func TestStreaming(t *testing.T) {
	m := newTestManager(t)
	type note struct {
		p   float64
		msg string
		at  time.Time
	}
	var mu sync.Mutex
	var notes []note
	res, err := m.Run(context.Background(), RunRequest{
		Code: "import time, sys\nfor i in range(3):\n    print(f'Step {i}')\n    time.sleep(0.1)\nsys.stderr.write('e')",
		Progress: func(p float64, msg string, meta map[string]any) {
			mu.Lock()
			notes = append(notes, note{p, msg, time.Now()})
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "Step 0\nStep 1\nStep 2\n" || res.Stderr != "e" {
		t.Fatalf("got %+v", res)
	}
	// Chunk boundaries are the writes the program makes (print writes the
	// text and the newline separately); their concatenation is the output.
	var joined strings.Builder
	for _, n := range notes {
		joined.WriteString(n.msg)
	}
	if len(notes) < 3 || !strings.HasPrefix(notes[0].msg, "Step 0") || joined.String() != res.Stdout+res.Stderr {
		t.Fatalf("notes: %+v", notes)
	}
	for i := 1; i < len(notes); i++ {
		if notes[i].p <= notes[i-1].p {
			t.Fatalf("progress not increasing: %+v", notes)
		}
	}
	if notes[len(notes)-1].p != 22 {
		t.Errorf("last progress %v, want 22", notes[len(notes)-1].p)
	}
}

func TestPythonExitRestarts(t *testing.T) {
	m := newTestManager(t)
	r := run(t, m, "python", "", "import os\nprint('bye', flush=True)\nos._exit(3)")
	if !r.StateLost || r.Error == nil || r.Error.Name != "InterpreterExited" || r.Stdout != "bye\n" {
		t.Fatalf("got %+v", r)
	}
	if got := mainText(run(t, m, "python", "", "1+2")); got != "3" {
		t.Fatalf("after exit: %q", got)
	}
	r = run(t, m, "python", "", "exit()")
	if r.Error == nil || r.Error.Name != "SystemExit" || r.StateLost {
		t.Fatalf("exit(): %+v", r)
	}
}

func TestJavaScript(t *testing.T) {
	m := newTestManager(t)
	cases := []struct{ code, main, stdout, err string }{
		{code: "let counter = 0", main: ""},
		{code: "counter++; counter", main: "1"},
		{code: "counter += 1\ncounter", main: "2"},
		{code: "const k = 5", main: ""},
		{code: "k * 2", main: "10"},
		{code: "const k = 6; k", main: "6"}, // re-declaration in a later cell
		{code: "await Promise.resolve(42)", main: "42"},
		{code: "const a = await Promise.resolve(1), {b, c: [d]} = {b: 2, c: [3]}\nlet e", main: ""},
		{code: "[a, b, d, e]", main: "[ 1, 2, 3, undefined ]"},
		{code: "class Foo { get x() { return 7 } }\nnew Foo().x", main: "7"},
		{code: "function twice(x) { return 2 * x }\nasync function later() { return await twice(4) }", main: ""},
		{code: "await later()", main: "8"},
		{code: "console.log('out'); console.error('err'); 'str'", main: "'str'", stdout: "out\n"},
		{code: "throw new TypeError('nope')", err: "TypeError"},
		{code: "await Promise.reject(new RangeError('r'))", err: "RangeError"},
		{code: "Promise.reject(new Error('late'))", err: "Error"},
		{code: "if (", err: "SyntaxError"},
		{code: "const re = /a\\/b/g; `x${1 + 1}y`", main: "'x2y'"},
		{code: "const f = async () => await Promise.resolve('af')\nawait f()", main: "'af'"},
		{code: "require('path').join('a', 'b')", main: "'a/b'"},
	}
	for _, c := range cases {
		r := run(t, m, "javascript", "", c.code)
		if c.err != "" {
			if r.Error == nil || r.Error.Name != c.err {
				t.Errorf("%q: error %+v, want %s", c.code, r.Error, c.err)
			}
			continue
		}
		if r.Error != nil {
			t.Errorf("%q: error %+v", c.code, r.Error)
			continue
		}
		if got := mainText(r); got != c.main {
			t.Errorf("%q: main %q, want %q", c.code, got, c.main)
		}
		if c.stdout != "" && r.Stdout != c.stdout {
			t.Errorf("%q: stdout %q", c.code, r.Stdout)
		}
	}
	r := run(t, m, "javascript", "", "null.x")
	if r.Error == nil || !strings.Contains(r.Error.Traceback, "<cell-") {
		t.Errorf("traceback: %+v", r.Error)
	}
}

func TestJavaScriptTimeoutKeepsState(t *testing.T) {
	m := newTestManager(t)
	run(t, m, "javascript", "", "const keep = 7")
	for _, code := range []string{"while (true) {}", "await new Promise(() => {})"} {
		r, err := m.Run(context.Background(), RunRequest{Code: code, Language: "javascript", Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if !r.TimedOut || r.StateLost || r.Error == nil || r.Error.Name != "Interrupted" {
			t.Fatalf("%q: got %+v", code, r)
		}
		if got := mainText(run(t, m, "javascript", "", "keep")); got != "7" {
			t.Fatalf("state lost: %q", got)
		}
	}
}

func TestLargeOutputCapped(t *testing.T) {
	m := newTestManager(t) // MaxOutput 64 KiB
	r := run(t, m, "python", "", "import sys\nsys.stdout.write('a' * 3_000_000 + 'END')\n'x' * 200_000")
	if !r.StdoutTruncated || !strings.HasSuffix(r.Stdout, "END") || len(r.Stdout) > 70<<10 {
		t.Fatalf("stdout: truncated=%v len=%d", r.StdoutTruncated, len(r.Stdout))
	}
	if len(mainText(r)) > 70<<10 || !strings.Contains(mainText(r), "truncated") {
		t.Fatalf("main result not capped: %d bytes", len(mainText(r)))
	}
	r = run(t, m, "javascript", "", "process.stdout.write('b'.repeat(1e6)); 1")
	if !r.StdoutTruncated || mainText(r) != "1" {
		t.Fatalf("js: truncated=%v main=%q", r.StdoutTruncated, mainText(r))
	}
}

// TestJavaScriptRewriteEdgeCases runs code that a naive rewrite of top-level
// declarations would break.
func TestJavaScriptRewriteEdgeCases(t *testing.T) {
	m := newTestManager(t)
	cases := []struct{ code, main string }{
		{"let a = 10 / 2 / 1; const r = /[/]\\//.test('//'); [a, r]", "[ 5, true ]"},
		{"const s = `a${`b${1 + 1}`}c` // const t = 1\n/* let u */ s", "'ab2c'"},
		{"let fns = []\nfor (let i = 0; i < 3; i++) fns.push(() => i)\nfns.map(f => f())", "[ 0, 1, 2 ]"},
		{"let x = 1\nif (x)\n  x = 2\nelse\n  x = 3\nx", "2"},
		{"const o = {\n  k: 1,\n}\n;[o.k]", "[ 1 ]"},
		{"const total = [1, 2, 3]\n  .map(v => v * 2)\n  .reduce((p, v) => p + v, 0)\ntotal", "12"},
		{"class A { static n = 1 }\nclass A2 extends A {}\nA2.n", "1"},
		{"class A { static n = 2 }\nA.n", "2"}, // re-declared class
		{"function* gen() { yield 1; yield 2 }\n[...gen()]", "[ 1, 2 ]"},
		{"outer: for (const q of [1]) { break outer }\n'labels'", "'labels'"},
		{"const { p = 1, ...rest } = { q: 2 }\nconst [h, , ...tl] = [1, 2, 3, 4]\nawait null;\n[p, rest, h, tl]", "[ 1, { q: 2 }, 1, [ 3, 4 ] ]"},
		{"[p, h]", "[ 1, 1 ]"},
		{"let later = await new Promise(r => setTimeout(() => r('t'), 10)); later", "'t'"},
		{"later + '!'", "'t!'"},
		{"async function af() { return 1 }\nconst v = await af()\nfunction usesV() { return v + 1 }\nusesV()", "2"},
		{"usesV()", "2"},
		{"const big = { a: { b: { c: { d: { e: 1 } } } } }\nbig.a.b", "{ c: { d: { e: 1 } } }"},
		{"typeof require('fs').readFileSync", "'function'"},
		{"void 0", ""},
		{"let u\nu", ""},
	}
	for _, c := range cases {
		r := run(t, m, "javascript", "", c.code)
		if r.Error != nil {
			t.Errorf("%q: error %s", c.code, r.Error.Traceback)
			continue
		}
		if got := mainText(r); got != c.main {
			t.Errorf("%q: main %q, want %q", c.code, got, c.main)
		}
	}
}

// TestJavaScriptMalformed: broken cells are SyntaxErrors, never a dead or
// hung driver.
func TestJavaScriptMalformed(t *testing.T) {
	m := newTestManager(t)
	for _, code := range []string{"`${", "/[", "{{{", "}}}", "'", "const", "let [", "class", "const {a", "await", "await (", "const x = await", "a\\u", "\x00", "const [a, b = await 1"} {
		r := run(t, m, "javascript", "", code)
		if r.Error == nil || r.StateLost {
			t.Errorf("%q: %+v", code, r)
		}
		if got := mainText(run(t, m, "javascript", "", "1+1")); got != "2" {
			t.Fatalf("after %q: %q", code, got)
		}
	}
}
