package fileops

// The text work of edit_file: exact replacements applied in order, the
// closest candidate when one does not match, and the unified diff. Pure
// functions of strings, so they are tested without a sandbox.

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"
)

// Kinds of OpError that edit_file adds to isolation's.
const (
	KindNoMatch    = "no_match"    // an old_string is not in the file
	KindMatchCount = "match_count" // an old_string matches another number of times than expected
	KindStale      = "stale"       // the file is not the one the caller read (if_sha256) or changed meanwhile
)

// EditMaxBytes is the largest file edit_file edits.
const EditMaxBytes = 32 << 20

// EditDiffMaxBytes bounds the diff an edit returns; a longer one is cut
// (EditFileResult.DiffTruncated).
const EditDiffMaxBytes = 128 << 10

// Edit is one exact replacement.
type Edit struct {
	OldString  string `json:"old_string"`
	NewString  string `json:"new_string"`
	ReplaceAll bool   `json:"replace_all,omitempty"`
	// Expected is how many matches old_string must have (0: 1, or any
	// number with ReplaceAll).
	Expected int `json:"expected_replacements,omitempty"`
}

// LineRange is an inclusive range of 1-based lines of the new file. A pure
// deletion is the line now at its place with End = Start - 1.
type LineRange struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// editError is a failure of one edit, before anything is written.
type editError struct {
	kind string
	msg  string
}

func (e *editError) Error() string { return e.msg }

// applyEdits applies edits to content in order and returns the result and
// the number of replacements of each edit. content is UTF-8 with LF line
// ends (the caller converts CRLF files).
func applyEdits(content string, edits []Edit) (string, []int, error) {
	counts := make([]int, len(edits))
	for i, e := range edits {
		name := fmt.Sprintf("edit %d", i+1)
		if len(edits) == 1 {
			name = "the edit"
		}
		if e.Expected < 0 {
			return "", nil, &editError{"invalid", name + ": expected_replacements must not be negative"}
		}
		if e.OldString == e.NewString {
			return "", nil, &editError{"invalid", name + ": old_string and new_string are the same, so it would change nothing"}
		}
		if e.OldString == "" {
			if content != "" {
				return "", nil, &editError{"invalid", name + ": old_string is empty, which only works on an empty file, and this file is not empty"}
			}
			content = e.NewString
			counts[i] = 1
			continue
		}
		n := strings.Count(content, e.OldString)
		want := e.Expected
		switch {
		case n == 0:
			return "", nil, &editError{KindNoMatch, name + ": old_string was not found. " + closestDescription(content, e.OldString)}
		case e.ReplaceAll && (want == 0 || want == n):
		case want == 0 && n == 1, want == n:
		default:
			if want == 0 {
				want = 1
			}
			return "", nil, &editError{KindMatchCount, fmt.Sprintf("%s: old_string matches %d times (at lines %s), expected %d",
				name, n, matchLines(content, e.OldString, 20), want)}
		}
		content = strings.ReplaceAll(content, e.OldString, e.NewString)
		counts[i] = n
	}
	return content, counts, nil
}

// matchLines lists the 1-based lines where s starts in content, at most max.
func matchLines(content, s string, max int) string {
	var b strings.Builder
	line, pos, k := 1, 0, 0
	for {
		i := strings.Index(content[pos:], s)
		if i < 0 {
			break
		}
		line += strings.Count(content[pos:pos+i], "\n")
		if k == max {
			b.WriteString(", …")
			break
		}
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d", line)
		k++
		line += strings.Count(s, "\n")
		pos += i + len(s)
	}
	return b.String()
}

// splitKeep splits s into lines without their "\n" (a final "\n" ends the
// last line rather than starting an empty one).
func splitKeep(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	return strings.Split(s, "\n")
}

// closestDescription finds the region of content most like old (a window
// of as many lines) and says where it is and how it differs.
func closestDescription(content, old string) string {
	lines := splitKeep(content)
	want := splitKeep(old)
	start, score := closestWindow(lines, want)
	if start < 0 {
		return "Nothing in the file resembles it."
	}
	end := min(start+len(want), len(lines))
	var b strings.Builder
	fmt.Fprintf(&b, "The closest region is lines %d-%d (%d%% similar):\n", start+1, end, int(score*100+0.5))
	shown := 0
	for i := start; i < end; i++ {
		if shown == 30 || b.Len() > 3000 {
			fmt.Fprintf(&b, "     …\n")
			break
		}
		fmt.Fprintf(&b, "%6d\t%s\n", i+1, clip(lines[i], 300))
		shown++
	}
	b.WriteString(describeDifference(lines[start:end], want, start))
	return b.String()
}

// closestWindow returns the start of the window of len(want) lines most
// like want and its similarity in [0, 1], or -1.
func closestWindow(lines, want []string) (int, float64) {
	if len(lines) == 0 || len(want) == 0 {
		return -1, 0
	}
	// Candidate starts: where a line of want appears in the file, ignoring
	// surrounding whitespace; else where the file's lines are most like the
	// first non-blank line of want.
	byTrim := map[string][]int{}
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t != "" && len(byTrim[t]) < 200 {
			byTrim[t] = append(byTrim[t], i)
		}
	}
	cands := map[int]bool{}
	first := -1
	for j, w := range want {
		t := strings.TrimSpace(w)
		if t == "" {
			continue
		}
		if first < 0 {
			first = j
		}
		for _, i := range byTrim[t] {
			if s := i - j; s >= 0 && s < len(lines) {
				cands[s] = true
			}
		}
	}
	if len(cands) == 0 {
		if first < 0 {
			first = 0
		}
		target := normSpace(want[first])
		type scored struct {
			i int
			s float64
		}
		var top []scored
		for i, l := range lines {
			s := dice(normSpace(l), target)
			if s == 0 {
				continue
			}
			top = append(top, scored{i, s})
		}
		slices.SortFunc(top, func(a, b scored) int {
			if a.s > b.s {
				return -1
			}
			if a.s < b.s {
				return 1
			}
			return a.i - b.i
		})
		for _, t := range top[:min(len(top), 20)] {
			if s := t.i - first; s >= 0 {
				cands[s] = true
			}
		}
	}
	best, bestScore := -1, 0.0
	for s := range cands {
		sc := windowScore(lines, want, s)
		if sc > bestScore || (sc == bestScore && s < best) {
			best, bestScore = s, sc
		}
	}
	if bestScore < 0.3 {
		return -1, 0
	}
	return best, bestScore
}

func windowScore(lines, want []string, start int) float64 {
	total := 0.0
	for j, w := range want {
		if start+j >= len(lines) {
			break
		}
		total += lineSimilarity(lines[start+j], w)
	}
	return total / float64(len(want))
}

func lineSimilarity(a, b string) float64 {
	switch {
	case a == b:
		return 1
	case strings.TrimSpace(a) == strings.TrimSpace(b):
		return 0.95
	}
	na, nb := normSpace(a), normSpace(b)
	if na == nb {
		return 0.9
	}
	return 0.85 * dice(na, nb)
}

// normSpace trims s and collapses its runs of white space to one space.
func normSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// dice is the Sørensen–Dice coefficient of the byte bigrams of a and b.
func dice(a, b string) float64 {
	if a == b {
		return 1
	}
	if len(a) < 2 || len(b) < 2 {
		return 0
	}
	a, b = a[:min(len(a), 400)], b[:min(len(b), 400)]
	grams := make(map[uint16]int, len(a))
	for i := 0; i+1 < len(a); i++ {
		grams[uint16(a[i])<<8|uint16(a[i+1])]++
	}
	common := 0
	for i := 0; i+1 < len(b); i++ {
		g := uint16(b[i])<<8 | uint16(b[i+1])
		if grams[g] > 0 {
			grams[g]--
			common++
		}
	}
	return 2 * float64(common) / float64(len(a)+len(b)-2)
}

// describeDifference says how got (the file's lines from line start+1)
// differs from want (old_string's lines).
func describeDifference(got, want []string, start int) string {
	var indent, trailing, inner []int
	for j := range min(len(got), len(want)) {
		g, w := got[j], want[j]
		if g == w {
			continue
		}
		ln := start + j + 1
		switch {
		case strings.TrimSpace(g) == strings.TrimSpace(w):
			if leading(g) != leading(w) {
				indent = append(indent, ln)
			} else {
				trailing = append(trailing, ln)
			}
		case normSpace(g) == normSpace(w):
			inner = append(inner, ln)
		default:
			return fmt.Sprintf("It differs in content at line %d: the file has %q where old_string has %q.", ln, clip(g, 160), clip(w, 160))
		}
	}
	var parts []string
	if len(indent) > 0 {
		j := indent[0] - start - 1
		parts = append(parts, fmt.Sprintf("indentation on line%s %s (the file has %s, old_string has %s)",
			plural(len(indent)), lineList(indent), describeSpace(leading(got[j])), describeSpace(leading(want[j]))))
	}
	if len(trailing) > 0 {
		parts = append(parts, "trailing white space on line"+plural(len(trailing))+" "+lineList(trailing))
	}
	if len(inner) > 0 {
		parts = append(parts, "white space inside line"+plural(len(inner))+" "+lineList(inner))
	}
	if len(got) < len(want) {
		parts = append(parts, "old_string has more lines than the file has from there")
	}
	if len(parts) == 0 {
		return "It differs only in line endings or a final newline."
	}
	return "It differs only in white space: " + strings.Join(parts, "; ") + "."
}

func leading(s string) string { return s[:len(s)-len(strings.TrimLeft(s, " \t"))] }

func describeSpace(s string) string {
	if s == "" {
		return "no indentation"
	}
	tabs, spaces := strings.Count(s, "\t"), strings.Count(s, " ")
	var p []string
	if tabs > 0 {
		p = append(p, fmt.Sprintf("%d tab%s", tabs, plural(tabs)))
	}
	if spaces > 0 {
		p = append(p, fmt.Sprintf("%d space%s", spaces, plural(spaces)))
	}
	return strings.Join(p, " and ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func lineList(ls []int) string {
	var s []string
	for i, l := range ls {
		if i == 10 {
			s = append(s, "…")
			break
		}
		s = append(s, fmt.Sprint(l))
	}
	return strings.Join(s, ", ")
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// unifiedDiff returns the unified diff (3 lines of context) from before to
// after, cut at EditDiffMaxBytes, and the changed line ranges of after.
// Only the region between the common prefix and suffix (plus context) is
// diffed: an edit near one end of a 5 MiB file costs what the edit does.
func unifiedDiff(label, before, after string) (diff string, truncated bool, changed []LineRange) {
	const context = 3
	skip, before, after := trimCommon(before, after, context)
	edits := udiff.Lines(before, after)
	u, err := udiff.ToUnifiedDiff(label, label, before, edits, context)
	if err != nil {
		return "", false, nil
	}
	for _, h := range u.Hunks {
		h.FromLine += skip
		h.ToLine += skip
		newLine := h.ToLine
		ci := -1 // index in changed of the range being built
		for _, l := range h.Lines {
			switch l.Kind {
			case udiff.Equal:
				newLine++
				ci = -1
			case udiff.Insert, udiff.Delete:
				if ci < 0 {
					changed = append(changed, LineRange{newLine, newLine - 1})
					ci = len(changed) - 1
				}
				if l.Kind == udiff.Insert {
					changed[ci].End = newLine
					newLine++
				}
			}
		}
	}
	diff = u.String()
	if len(diff) > EditDiffMaxBytes {
		cut := strings.LastIndexByte(diff[:EditDiffMaxBytes], '\n') + 1
		diff, truncated = diff[:cut], true
	}
	return diff, truncated, changed
}

// trimCommon drops the lines before and after and share at both ends,
// except for ctx lines of context next to the difference, and returns how
// many lines it dropped at the start.
func trimCommon(before, after string, ctx int) (int, string, string) {
	p := 0
	for p < len(before) && p < len(after) && before[p] == after[p] {
		p++
	}
	p = strings.LastIndexByte(before[:p], '\n') + 1
	for k := 0; k < ctx && p > 0; k++ {
		p = strings.LastIndexByte(before[:p-1], '\n') + 1
	}
	skip := strings.Count(before[:p], "\n")
	before, after = before[p:], after[p:]
	n := 0
	for n < len(before) && n < len(after) && before[len(before)-1-n] == after[len(after)-1-n] {
		n++
	}
	start := len(before) - n // the common suffix starts here in before
	if start > 0 && before[start-1] != '\n' {
		if j := strings.IndexByte(before[start:], '\n'); j >= 0 {
			start += j + 1
		} else {
			start = len(before)
		}
	}
	for k := 0; k < ctx && start < len(before); k++ {
		if j := strings.IndexByte(before[start:], '\n'); j >= 0 {
			start += j + 1
		} else {
			start = len(before)
		}
	}
	cut := len(before) - start
	return skip, before[:start], after[:len(after)-cut]
}
