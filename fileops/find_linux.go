package fileops

// find_files: names matching a glob under a directory, from the same walk
// as search_files, by path (the default) or newest first.
//
// By path, the walk reads only directories (the entry types come from
// getdents): the first max_results matches are kept in a bounded heap and
// only those are stat'ed. Newest first needs every match's mtime, one
// fstatat each (~3 µs on a VM, most of the cost over a large tree): they
// run in parallel per directory, relative to the open directory.

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

const opFind = "find_files"

// Find limits.
const (
	FindMaxResults     = 10000
	FindDefaultResults = 1000
)

// Find orders.
const (
	FindSortPath     = "path"     // by path, byte-wise (the default)
	FindSortModified = "modified" // newest first, then by path
)

// FindRequest finds the files under Root whose path relative to Root
// matches Pattern (a doublestar glob: "**/*.go", "src/**/test_*.py").
type FindRequest struct {
	Root           string `json:"root"`
	Pattern        string `json:"pattern"`
	Sort           string `json:"sort"` // FindSortPath (default) or FindSortModified
	MaxResults     int    `json:"max_results"`
	IncludeIgnored bool   `json:"include_ignored"`
	Directories    bool   `json:"directories"` // match directories too
}

// FoundFile is one match.
type FoundFile struct {
	Path    string    `json:"path"` // relative to Root
	Type    string    `json:"type"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
}

// FindResult is what Find returns.
type FindResult struct {
	Files         []FoundFile `json:"files"`
	Total         int         `json:"total"`
	Truncated     bool        `json:"truncated"`
	WalkTruncated bool        `json:"walk_truncated"`
}

// Find finds files inside the sandbox; the result crosses a pipe.
func Find(ctx context.Context, s *isolation.Sandbox, req FindRequest) (FindResult, error) {
	return doJSON[FindResult](ctx, s, opFind, req.Root, req)
}

func init() {
	registerJSONOp(opFind, func(r FindRequest) string { return r.Root }, findOp)
}

func findOp(ctx context.Context, req FindRequest) (FindResult, error) {
	const op = opFind
	var res FindResult
	if err := checkDir(op, req.Root); err != nil {
		return res, err
	}
	match, ok := findMatcher(req.Pattern)
	if !ok {
		return res, &isolation.OpError{Op: op, Kind: isolation.KindInvalid, Msg: fmt.Sprintf("bad glob %q", req.Pattern)}
	}
	var less func(a, b *FoundFile) bool
	switch req.Sort {
	case "", FindSortPath:
		less = func(a, b *FoundFile) bool { return a.Path < b.Path }
	case FindSortModified:
		less = func(a, b *FoundFile) bool {
			if c := a.ModTime.Compare(b.ModTime); c != 0 {
				return c > 0
			}
			return a.Path < b.Path
		}
	default:
		return res, &isolation.OpError{Op: op, Kind: isolation.KindInvalid, Msg: "sort must be path or modified"}
	}
	byTime := req.Sort == FindSortModified
	if req.MaxResults <= 0 {
		req.MaxResults = FindDefaultResults
	}
	kept := topN[FoundFile]{n: min(req.MaxResults, FindMaxResults), less: less}

	w, ps := newWalker(req.Root, req.IncludeIgnored)
	if req.Directories {
		w.dirMatch = func(rel string) {
			if match(rel) {
				res.Total++
				f := FoundFile{Path: rel, Type: FileTypeDirectory}
				if byTime {
					lstatFound(req.Root, &f)
				}
				kept.push(f)
			}
		}
	}
	// Newest first: a directory's matches wait for its dirEnd, to be
	// stat'ed together relative to it.
	var pending []FoundFile
	if byTime {
		w.dirEnd = func(fd int) {
			if len(pending) == 0 {
				return
			}
			names := make([]string, len(pending))
			for i, f := range pending {
				names[i] = f.Path[strings.LastIndexByte(f.Path, '/')+1:]
			}
			stats, errs := statNames(fd, names)
			for i := range pending {
				if errs[i] == nil { // a vanished file keeps zeros
					setStat(&pending[i], &stats[i])
				}
				kept.push(pending[i])
			}
			pending = pending[:0]
		}
	}
	err := w.walk(ctx, ps, func(e walkEntry, _ int) bool {
		if match(e.rel) {
			res.Total++
			if byTime {
				pending = append(pending, FoundFile{Path: e.rel})
			} else {
				kept.push(FoundFile{Path: e.rel})
			}
		}
		return true
	})
	if err != nil {
		return res, fileOpError(op, req.Root, err)
	}
	// A walk stopped at WalkMaxEntries leaves its last directory's matches.
	statFound(req.Root, pending)
	for _, f := range pending {
		kept.push(f)
	}
	res.WalkTruncated = w.truncated
	res.Files = kept.sorted()
	if !byTime {
		statFound(req.Root, res.Files) // only what is returned
	}
	res.Truncated = res.Total > len(res.Files)
	return res, nil
}

// findMatcher compiles a find_files glob. A pattern "**/P" where P has no
// "/" is matched against the base name alone (what "**/" spans is any
// directory prefix), which skips doublestar's backtracking over the
// path's separators.
func findMatcher(pattern string) (func(rel string) bool, bool) {
	pattern = strings.TrimPrefix(pattern, "./")
	if pattern == "" || !doublestar.ValidatePattern(pattern) {
		return nil, false
	}
	if base, ok := strings.CutPrefix(pattern, "**/"); ok && !strings.Contains(base, "/") && !strings.Contains(base, "**") {
		return func(rel string) bool {
			ok, _ := doublestar.Match(base, rel[strings.LastIndexByte(rel, '/')+1:])
			return ok
		}, true
	}
	return func(rel string) bool {
		ok, _ := doublestar.Match(pattern, rel)
		return ok
	}, true
}

// topN keeps the n least values pushed, by less: a heap whose root is the
// greatest kept, so a value past it is dropped in one comparison.
type topN[T any] struct {
	n    int
	less func(a, b *T) bool
	h    []T
}

func (t *topN[T]) push(v T) {
	h := t.h
	if len(h) < t.n {
		h = append(h, v)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if !t.less(&h[p], &h[i]) {
				break
			}
			h[p], h[i] = h[i], h[p]
			i = p
		}
		t.h = h
		return
	}
	if t.n == 0 || !t.less(&v, &h[0]) {
		return
	}
	h[0] = v
	for i := 0; ; {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if c+1 < len(h) && t.less(&h[c], &h[c+1]) {
			c++
		}
		if !t.less(&h[i], &h[c]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// sorted returns the kept values in order (the heap is spent).
func (t *topN[T]) sorted() []T {
	slices.SortFunc(t.h, func(a, b T) int {
		switch {
		case t.less(&a, &b):
			return -1
		case t.less(&b, &a):
			return 1
		}
		return 0
	})
	return t.h
}

func setStat(f *FoundFile, st *unix.Stat_t) {
	f.Type, f.Size, f.ModTime = fileType(st.Mode), st.Size, time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UTC()
}

// statFound lstats the found files in parallel and fills type, size and
// time (a vanished file keeps zeros).
func statFound(root string, found []FoundFile) {
	workers := min(runtime.GOMAXPROCS(0)*2, 8, len(found)/64+1)
	var wg sync.WaitGroup
	chunk := (len(found) + workers - 1) / max(workers, 1)
	for lo := 0; lo < len(found); lo += chunk {
		wg.Go(func() {
			for i := lo; i < min(lo+chunk, len(found)); i++ {
				lstatFound(root, &found[i])
			}
		})
	}
	wg.Wait()
}

// lstatFound fills f's type, size and time (a vanished file keeps zeros).
func lstatFound(root string, f *FoundFile) {
	var st unix.Stat_t
	if unix.Lstat(root+"/"+f.Path, &st) == nil {
		setStat(f, &st)
	}
}
