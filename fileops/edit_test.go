package fileops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestApplyEdits(t *testing.T) {
	src := "a\nb\nc\nb\nd\n"
	for _, tc := range []struct {
		name   string
		edits  []Edit
		want   string
		counts []int
		kind   string
		msg    string
	}{
		{name: "one", edits: []Edit{{OldString: "c\n", NewString: "C\n"}}, want: "a\nb\nC\nb\nd\n", counts: []int{1}},
		{name: "in order", edits: []Edit{{OldString: "c", NewString: "x"}, {OldString: "x\nb", NewString: "y"}}, want: "a\nb\ny\nd\n", counts: []int{1, 1}},
		{name: "replace all", edits: []Edit{{OldString: "b", NewString: "B", ReplaceAll: true}}, want: "a\nB\nc\nB\nd\n", counts: []int{2}},
		{name: "expected 2", edits: []Edit{{OldString: "b", NewString: "B", Expected: 2}}, want: "a\nB\nc\nB\nd\n", counts: []int{2}},
		{name: "wrong count", edits: []Edit{{OldString: "b", NewString: "B"}}, kind: KindMatchCount, msg: "matches 2 times (at lines 2, 4), expected 1"},
		{name: "replace all wrong count", edits: []Edit{{OldString: "b", NewString: "B", ReplaceAll: true, Expected: 3}}, kind: KindMatchCount, msg: "expected 3"},
		{name: "no match", edits: []Edit{{OldString: "zzz", NewString: "q"}}, kind: KindNoMatch, msg: "not found"},
		{name: "second fails", edits: []Edit{{OldString: "a", NewString: "A"}, {OldString: "nope", NewString: "x"}}, kind: KindNoMatch, msg: "edit 2"},
		{name: "same", edits: []Edit{{OldString: "a", NewString: "a"}}, kind: "invalid", msg: "the same"},
		{name: "empty old", edits: []Edit{{OldString: "", NewString: "a"}}, kind: "invalid", msg: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, counts, err := applyEdits(src, tc.edits)
			if tc.kind != "" {
				ee, ok := err.(*editError)
				if !ok || ee.kind != tc.kind || !strings.Contains(ee.msg, tc.msg) {
					t.Fatalf("err = %v, want kind %s containing %q", err, tc.kind, tc.msg)
				}
				return
			}
			if err != nil || got != tc.want || len(counts) != len(tc.counts) {
				t.Fatalf("got %q %v %v, want %q %v", got, counts, err, tc.want, tc.counts)
			}
			for i := range counts {
				if counts[i] != tc.counts[i] {
					t.Fatalf("counts %v, want %v", counts, tc.counts)
				}
			}
		})
	}
	if got, _, err := applyEdits("", []Edit{{OldString: "", NewString: "new\n"}}); err != nil || got != "new\n" {
		t.Fatalf("empty file: %q %v", got, err)
	}
}

func TestClosestCandidate(t *testing.T) {
	file := "package x\n\nfunc f() {\n\tif a {\n\t\treturn 1\n\t}\n\treturn 2\n}\n\nfunc g() {}\n"
	for _, tc := range []struct {
		name, old string
		want      []string
	}{
		{"indentation", "    if a {\n        return 1\n    }\n", []string{"lines 4-6", "indentation on lines 4, 5, 6", "1 tab", "4 spaces"}},
		{"trailing", "\treturn 2 \n}", []string{"lines 7-8", "trailing white space on line 7"}},
		{"inner", "func  g()  {}", []string{"lines 10-10", "white space inside line 10"}},
		{"content", "\tif b {\n\t\treturn 1\n", []string{"lines 4-5", "differs in content at line 4", `"\tif a {"`}},
		{"fuzzy", "func gg() {}", []string{"lines 10-10"}},
		{"nothing", "zzzzzzzz qqqqqqq", []string{"Nothing in the file resembles it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := applyEdits(file, []Edit{{OldString: tc.old, NewString: "X"}})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestUnifiedDiff(t *testing.T) {
	d2, _, ch2 := unifiedDiff("f", "a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nD\ne\nf\ng\nh\n")
	if d2 != "--- f\n+++ f\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n" || len(ch2) != 1 || ch2[0] != (LineRange{4, 4}) {
		t.Fatalf("diff:\n%q\nchanged %v", d2, ch2)
	}
	_, _, ch3 := unifiedDiff("f", "a\nb\nc\nd\n", "a\nx\ny\nc\n")
	if len(ch3) != 2 || ch3[0] != (LineRange{2, 3}) || ch3[1] != (LineRange{5, 4}) {
		t.Fatalf("changed %v", ch3)
	}
}

// The trimmed diff is a correct patch: applied to before, it gives after,
// and its changed ranges name only lines of after that differ.
func TestUnifiedDiffApplies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"a", "b", "c", "", "d e", "ff"}
	gen := func(n int) []string {
		l := make([]string, n)
		for i := range l {
			l[i] = words[rng.IntN(len(words))]
		}
		return l
	}
	for i := range 500 {
		bl := gen(rng.IntN(30))
		al := slices.Clone(bl)
		for range 1 + rng.IntN(3) {
			at := rng.IntN(len(al) + 1)
			del := min(rng.IntN(3), len(al)-at)
			al = slices.Replace(al, at, at+del, gen(rng.IntN(3))...)
		}
		before, after := strings.Join(bl, "\n"), strings.Join(al, "\n")
		if rng.IntN(2) == 0 {
			before, after = before+"\n", after+"\n"
		}
		diff, _, changed := unifiedDiff("f", before, after)
		if before == after {
			if diff != "" {
				t.Fatalf("case %d: diff of equal texts: %q", i, diff)
			}
			continue
		}
		got, err := applyUnified(diff, before)
		if err != nil || got != after {
			t.Fatalf("case %d: %v\nbefore %q\nafter  %q\ngot    %q\ndiff:\n%s", i, err, before, after, got, diff)
		}
		newLines := splitKeep(after)
		for _, r := range changed {
			if r.Start < 1 || r.End > len(newLines) || r.End < r.Start-1 {
				t.Fatalf("case %d: range %v outside %d lines\n%s", i, r, len(newLines), diff)
			}
		}
	}
}

// applyUnified applies a unified diff made by unifiedDiff to before (a
// strict applier: context must match).
func applyUnified(diff, before string) (string, error) {
	src := strings.SplitAfter(before, "\n")
	if src[len(src)-1] == "" {
		src = src[:len(src)-1]
	}
	lines := strings.SplitAfter(diff, "\n")
	var out []string
	next := 0 // index in src of the next line not yet copied
	for i := 2; i < len(lines) && lines[i] != ""; i++ {
		l := lines[i]
		if strings.HasPrefix(l, "@@") {
			var from int
			if _, err := fmt.Sscanf(l, "@@ -%d", &from); err != nil {
				return "", err
			}
			if from > 0 {
				from--
			}
			out = append(out, src[next:from]...)
			next = from
			continue
		}
		if strings.HasPrefix(l, "\\") {
			continue // handled by the lookahead below
		}
		body := l[1:]
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\\") {
			body = strings.TrimSuffix(body, "\n")
		}
		switch l[0] {
		case ' ', '-':
			if next >= len(src) || src[next] != body {
				return "", fmt.Errorf("line %d: %q does not match %q", next+1, body, src[min(next, len(src)-1)])
			}
			next++
			if l[0] == ' ' {
				out = append(out, body)
			}
		case '+':
			out = append(out, body)
		}
	}
	out = append(out, src[next:]...)
	return strings.Join(out, ""), nil
}
