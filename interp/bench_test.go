package interp

import (
	"context"
	"testing"
)

func benchWarm(b *testing.B, lang string) {
	m := newTestManager(b)
	run(b, m, lang, "", "1+1")
	b.ResetTimer()
	for b.Loop() {
		r, err := m.Run(context.Background(), RunRequest{Code: "1+1", Language: lang})
		if err != nil || mainText(r) != "2" {
			b.Fatalf("%v %+v", err, r)
		}
	}
}

func BenchmarkWarmPython(b *testing.B)     { benchWarm(b, Python) }
func BenchmarkWarmJavaScript(b *testing.B) { benchWarm(b, JavaScript) }

func benchNew(b *testing.B, lang string) {
	m := newTestManager(b)
	for b.Loop() {
		info, err := m.Create(context.Background(), CreateRequest{Language: lang})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		m.Delete(info.ID)
		b.StartTimer()
	}
}

func BenchmarkNewPythonContext(b *testing.B)     { benchNew(b, Python) }
func BenchmarkNewJavaScriptContext(b *testing.B) { benchNew(b, JavaScript) }
