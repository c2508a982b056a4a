package fileops

// find_files: names matching a glob under a directory, from the same walk
// as search_files, newest first or by path.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
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

// FindRequest finds the files under Root whose path relative to Root
// matches Pattern (a doublestar glob: "**/*.go", "src/**/test_*.py").
type FindRequest struct {
	Root           string `json:"root"`
	Pattern        string `json:"pattern"`
	Sort           string `json:"sort"` // modified (newest first, default) or path
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
	return doReading(ctx, s, opFind, req.Root, 1<<20, req, nil, func(r io.Reader) (FindResult, error) {
		var res FindResult
		b, err := io.ReadAll(io.LimitReader(r, searchPipeMaxBytes+1))
		if err != nil {
			return res, err
		}
		if len(b) == 0 {
			return res, nil
		}
		if len(b) > searchPipeMaxBytes {
			return res, fmt.Errorf("result over %d bytes", searchPipeMaxBytes)
		}
		return res, json.Unmarshal(b, &res)
	})
}

func init() {
	registerPipeOp(opFind, func(ctx context.Context, req FindRequest, f *os.File) (any, error) {
		res, err := findOp(ctx, req)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(res)
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(b); err != nil {
			return nil, &isolation.OpError{Op: opFind, Path: req.Root, Kind: isolation.KindIO, Msg: "stream to server: " + err.Error()}
		}
		return nil, nil
	})
}

func findOp(ctx context.Context, req FindRequest) (FindResult, error) {
	const op = opFind
	var res FindResult
	if err := checkDir(op, req.Root); err != nil {
		return res, err
	}
	pattern := strings.TrimPrefix(req.Pattern, "./")
	if pattern == "" || !doublestar.ValidatePattern(pattern) {
		return res, &isolation.OpError{Op: op, Kind: isolation.KindInvalid, Msg: fmt.Sprintf("bad glob %q", req.Pattern)}
	}
	switch req.Sort {
	case "":
		req.Sort = "modified"
	case "modified", "path":
	default:
		return res, &isolation.OpError{Op: op, Kind: isolation.KindInvalid, Msg: "sort must be modified or path"}
	}
	if req.MaxResults <= 0 {
		req.MaxResults = FindDefaultResults
	}
	req.MaxResults = min(req.MaxResults, FindMaxResults)

	var found []FoundFile
	w, ps := newWalker(req.Root, req.IncludeIgnored)
	if req.Directories {
		w.dirMatch = func(rel string) {
			if ok, _ := doublestar.Match(pattern, rel); ok {
				found = append(found, FoundFile{Path: rel, Type: FileTypeDirectory})
			}
		}
	}
	byTime := req.Sort == "modified"
	var dirFound []int // indices in found of this directory's files, to stat
	if byTime {
		// Sorting by time needs every match's stat: relative to the open
		// directory and in parallel (a stat costs microseconds here).
		w.dirEnd = func(fd int) {
			if len(dirFound) == 0 {
				return
			}
			names := make([]string, len(dirFound))
			for k, i := range dirFound {
				p := found[i].Path
				names[k] = p[strings.LastIndexByte(p, '/')+1:]
			}
			stats, errs := statNames(fd, names)
			for k, i := range dirFound {
				if errs[k] == nil {
					st := &stats[k]
					found[i].Type, found[i].Size, found[i].ModTime = fileType(st.Mode), st.Size, time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UTC()
				}
			}
			dirFound = dirFound[:0]
		}
	}
	err := w.walk(ctx, ps, func(e walkEntry, _ int) bool {
		if ok, _ := doublestar.Match(pattern, e.rel); ok {
			if byTime {
				dirFound = append(dirFound, len(found))
			}
			found = append(found, FoundFile{Path: e.rel})
		}
		return true
	})
	if err != nil {
		return res, fileOpError(op, req.Root, err)
	}
	res.WalkTruncated = w.truncated
	res.Total = len(found)

	// By path, only what is kept needs a stat.
	if !byTime {
		slices.SortFunc(found, func(a, b FoundFile) int { return strings.Compare(a.Path, b.Path) })
		found = found[:min(len(found), req.MaxResults)]
		statFound(req.Root, found)
	} else {
		for i := range found {
			if found[i].Type == "" { // directories (dirMatch) and vanished files
				statFound(req.Root, found[i:i+1])
			}
		}
		slices.SortStableFunc(found, func(a, b FoundFile) int {
			if c := b.ModTime.Compare(a.ModTime); c != 0 {
				return c
			}
			return strings.Compare(a.Path, b.Path)
		})
		found = found[:min(len(found), req.MaxResults)]
	}
	res.Files = found
	res.Truncated = res.Total > len(found)
	return res, nil
}

// statFound lstats the found files in parallel and fills type, size and
// time (a vanished file keeps zeros).
func statFound(root string, found []FoundFile) {
	workers := min(runtime.GOMAXPROCS(0)*2, 8, len(found)/64+1)
	var wg sync.WaitGroup
	chunk := (len(found) + workers - 1) / max(workers, 1)
	for lo := 0; lo < len(found); lo += chunk {
		wg.Go(func() {
			var st unix.Stat_t
			for i := lo; i < min(lo+chunk, len(found)); i++ {
				f := &found[i]
				if unix.Lstat(root+"/"+f.Path, &st) != nil {
					continue
				}
				f.Type = fileType(st.Mode)
				f.Size = st.Size
				f.ModTime = time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UTC()
			}
		})
	}
	wg.Wait()
}
