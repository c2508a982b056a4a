package fileops

// search_files: a parallel content search inside the sandbox. One
// goroutine walks the tree (walk_linux.go) and hands files, numbered in
// walk order, to workers that read each whole and search it line by line.
// Go's regexp is linear in the input, so no pattern can take exponential
// time. Results are the first max_results units (matches, or files) in walk
// order, whatever order the workers finish in: once the files before some
// point hold enough, files after it are only counted.

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

const opSearch = "search_files"

// Search limits.
const (
	SearchMaxResults     = 2000     // most units one search returns
	SearchDefaultResults = 200      // units when the request says 0
	SearchMaxContext     = 10       // most context lines on each side
	SearchMaxFileBytes   = 8 << 20  // larger files are skipped unless IncludeLarge
	SearchLargeFileBytes = 64 << 20 // the limit with IncludeLarge
	SearchLineBytes      = 300      // a reported line is cut to this around the match
	searchResultMaxBytes = 1 << 20  // details stop past this (roughly the result's size)
)

// SearchRequest searches the files under Root.
type SearchRequest struct {
	Root            string   `json:"root"`
	Pattern         string   `json:"pattern"`
	Literal         bool     `json:"literal"`
	CaseInsensitive bool     `json:"case_insensitive"`
	Globs           []string `json:"globs"`    // a file must match one (when any)
	Excludes        []string `json:"excludes"` // files and directories matching one are skipped
	Mode            string   `json:"mode"`     // content (default), files, count
	Context         int      `json:"context"`
	MaxResults      int      `json:"max_results"`
	IncludeIgnored  bool     `json:"include_ignored"`
	IncludeBinary   bool     `json:"include_binary"`
	IncludeLarge    bool     `json:"include_large"`
}

// SearchMatch is one matching line.
type SearchMatch struct {
	Path   string   `json:"path"` // relative to Root
	Line   int      `json:"line"`
	Column int      `json:"column"` // 1-based byte column of the first match in the line
	Text   string   `json:"text"`
	Before []string `json:"before,omitempty"`
	After  []string `json:"after,omitempty"`
}

// SearchCount is the number of matching lines of one file.
type SearchCount struct {
	Path  string `json:"path"`
	Count int    `json:"count"`
}

// SearchResult is what Search returns.
type SearchResult struct {
	Root          string        `json:"root"` // the directory paths are relative to (the file's for a file root)
	Matches       []SearchMatch `json:"matches,omitempty"`
	Files         []string      `json:"files,omitempty"`
	Counts        []SearchCount `json:"counts,omitempty"`
	TotalMatches  int           `json:"total_matches"` // matching lines in all files
	TotalFiles    int           `json:"total_files"`   // files with a match
	Truncated     bool          `json:"truncated"`     // more units than returned
	FilesSearched int           `json:"files_searched"`
	SkippedBinary int           `json:"skipped_binary"`
	SkippedLarge  int           `json:"skipped_large"`
	Unreadable    int           `json:"unreadable"`
	WalkTruncated bool          `json:"walk_truncated"` // the walk stopped at WalkMaxEntries
}

// Search searches files inside the sandbox; the result crosses a pipe.
func Search(ctx context.Context, s *isolation.Sandbox, req SearchRequest) (SearchResult, error) {
	return doJSON[SearchResult](ctx, s, opSearch, req.Root, req)
}

func init() {
	registerJSONOp(opSearch, func(r SearchRequest) string { return r.Root }, searchOp)
}

// finder finds the first match in b: its start and end, or -1.
type finder func(b []byte) (int, int)

func compileFinder(req SearchRequest) (finder, error) {
	if req.Literal && !req.CaseInsensitive {
		lit := []byte(req.Pattern)
		return func(b []byte) (int, int) {
			i := bytes.Index(b, lit)
			if i < 0 {
				return -1, -1
			}
			return i, i + len(lit)
		}, nil
	}
	expr := req.Pattern
	if req.Literal {
		expr = regexp.QuoteMeta(expr)
	}
	flags := "(?m)"
	if req.CaseInsensitive {
		flags = "(?mi)"
	}
	re, err := regexp.Compile(flags + expr)
	if err != nil {
		return nil, err
	}
	return func(b []byte) (int, int) {
		loc := re.FindIndex(b)
		if loc == nil {
			return -1, -1
		}
		return loc[0], loc[1]
	}, nil
}

// globMatch matches a search glob: against the base name when it has no
// "/", else against the path relative to the root.
func globMatch(pattern, rel, name string) bool {
	if !strings.Contains(pattern, "/") {
		ok, _ := doublestar.Match(pattern, name)
		return ok
	}
	ok, _ := doublestar.Match(strings.TrimPrefix(pattern, "/"), rel)
	return ok
}

// fileHits is what one file gave.
type fileHits struct {
	units   int // matches (content, count) or 1 (files)
	matches []SearchMatch
}

// searchState orders the workers' results (see the package comment).
type searchState struct {
	mode       string
	maxUnits   int
	mu         sync.Mutex
	hits       map[int]*fileHits
	done       []bool
	prefix     int // every file below this is done
	prefixSum  int // units in the files below prefix
	cutoff     atomic.Int64
	totalUnits int
}

func (s *searchState) finish(i int, h *fileHits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.done) <= i {
		s.done = append(s.done, false)
	}
	s.done[i] = true
	if h != nil && int64(i) > s.cutoff.Load() {
		h.matches = nil
	}
	if h != nil && h.units > 0 {
		s.hits[i] = h
		s.totalUnits += h.units
	}
	for s.prefix < len(s.done) && s.done[s.prefix] {
		if h := s.hits[s.prefix]; h != nil {
			if s.mode == "content" {
				s.prefixSum += h.units
			} else {
				s.prefixSum++ // one file, one unit
			}
		}
		s.prefix++
		if s.prefixSum >= s.maxUnits && s.cutoff.Load() == math.MaxInt64 {
			s.cutoff.Store(int64(s.prefix - 1))
			for k, h := range s.hits { // details past the cutoff are never shown
				if k > s.prefix-1 {
					h.matches = nil
				}
			}
		}
	}
}

func searchOp(ctx context.Context, req SearchRequest) (SearchResult, error) {
	const op = opSearch
	var res SearchResult
	// A file as the root is searched alone.
	var single string
	var rst unix.Stat_t
	if checkAbs(op, req.Root) == nil && unix.Stat(req.Root, &rst) == nil && rst.Mode&unix.S_IFMT == unix.S_IFREG {
		req.Root, single = splitDir(req.Root), req.Root[strings.LastIndexByte(req.Root, '/')+1:]
	}
	if err := checkDir(op, req.Root); err != nil {
		return res, err
	}
	if req.Pattern == "" {
		return res, &isolation.OpError{Op: op, Kind: isolation.KindInvalid, Msg: "pattern is empty"}
	}
	switch req.Mode {
	case "":
		req.Mode = "content"
	case "content", "files", "count":
	default:
		return res, &isolation.OpError{Op: op, Kind: isolation.KindInvalid, Msg: "mode must be content, files or count"}
	}
	if req.MaxResults <= 0 {
		req.MaxResults = SearchDefaultResults
	}
	req.MaxResults = min(req.MaxResults, SearchMaxResults)
	req.Context = max(0, min(req.Context, SearchMaxContext))
	for _, g := range append(append([]string(nil), req.Globs...), req.Excludes...) {
		if !doublestar.ValidatePattern(strings.TrimPrefix(g, "/")) {
			return res, &isolation.OpError{Op: op, Kind: isolation.KindInvalid, Msg: fmt.Sprintf("bad glob %q", g)}
		}
	}
	find, err := compileFinder(req)
	if err != nil {
		return res, &isolation.OpError{Op: op, Kind: isolation.KindInvalid, Msg: "bad regular expression: " + err.Error()}
	}
	maxFile := int64(SearchMaxFileBytes)
	if req.IncludeLarge {
		maxFile = SearchLargeFileBytes
	}

	st := &searchState{mode: req.Mode, maxUnits: req.MaxResults, hits: map[int]*fileHits{}}
	st.cutoff.Store(math.MaxInt64)
	type job struct {
		i   int
		rel string
		dir *dirRef // the file's directory, open (nil: open rel from the root)
	}
	jobs := make(chan job, 64)
	var searched, binary, large, unreadable atomic.Int64
	workers := min(max(2, runtime.GOMAXPROCS(0)*2), 8)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var buf []byte
			for j := range jobs {
				if ctx.Err() != nil {
					if j.dir != nil {
						j.dir.release()
					}
					st.finish(j.i, nil)
					continue
				}
				var data []byte
				var skip int
				if j.dir != nil {
					data, buf, skip = readForSearch(j.dir.fd, j.rel[strings.LastIndexByte(j.rel, '/')+1:], buf, maxFile)
					j.dir.release()
				} else {
					data, buf, skip = readForSearch(unix.AT_FDCWD, req.Root+"/"+j.rel, buf, maxFile)
				}
				switch skip {
				case skipLarge:
					large.Add(1)
				case skipUnreadable:
					unreadable.Add(1)
				}
				if skip != 0 {
					st.finish(j.i, nil)
					continue
				}
				if !req.IncludeBinary && bytes.IndexByte(data[:min(len(data), 8192)], 0) >= 0 {
					binary.Add(1)
					st.finish(j.i, nil)
					continue
				}
				searched.Add(1)
				details := int64(j.i) <= st.cutoff.Load()
				st.finish(j.i, searchData(data, j.rel, find, req, details))
			}
		})
	}

	w, ps := newWalker(req.Root, req.IncludeIgnored)
	if len(req.Excludes) > 0 {
		w.exclude = func(rel, name string) bool {
			for _, g := range req.Excludes {
				if globMatch(g, rel, name) {
					return true
				}
			}
			return false
		}
	}
	// Files are opened relative to their directory (a path lookup from the
	// root costs several microseconds here): each directory's descriptor
	// is duplicated for the readers and closed after its last file.
	var cur *dirRef
	w.dirEnd = func(int) {
		if cur != nil {
			cur.release()
			cur = nil
		}
	}
	n := 0
	var werr error
	if single != "" {
		jobs <- job{0, single, nil}
		n = 1
	} else {
		werr = w.walk(ctx, ps, func(e walkEntry, dirFd int) bool {
			if e.typ != unix.DT_REG {
				return true
			}
			if len(req.Globs) > 0 {
				name := e.rel[strings.LastIndexByte(e.rel, '/')+1:]
				ok := false
				for _, g := range req.Globs {
					if globMatch(g, e.rel, name) {
						ok = true
						break
					}
				}
				if !ok {
					return true
				}
			}
			if cur == nil {
				if fd, err := unix.FcntlInt(uintptr(dirFd), unix.F_DUPFD_CLOEXEC, 0); err == nil {
					cur = &dirRef{fd: fd}
					cur.refs.Store(1)
				}
			}
			if cur != nil {
				cur.refs.Add(1)
			}
			jobs <- job{n, e.rel, cur}
			n++
			return true
		})
		w.dirEnd(0)
	}
	close(jobs)
	wg.Wait()
	if werr != nil {
		return res, fileOpError(op, req.Root, werr)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}

	res.Root = req.Root
	res.FilesSearched = int(searched.Load())
	res.SkippedBinary = int(binary.Load())
	res.SkippedLarge = int(large.Load())
	res.Unreadable = int(unreadable.Load()) + len(w.unreadable)
	res.WalkTruncated = w.truncated
	for i := range n {
		h := st.hits[i]
		if h == nil {
			continue
		}
		res.TotalFiles++
		res.TotalMatches += h.units
	}
	// The first units in walk order, within the byte budget.
	units, size := 0, 0
	for i := 0; i < n && units < req.MaxResults && size < searchResultMaxBytes; i++ {
		h := st.hits[i]
		if h == nil {
			continue
		}
		if len(h.matches) == 0 {
			break // past the cutoff: cannot happen before max_results
		}
		switch req.Mode {
		case "files":
			res.Files = append(res.Files, h.matches[0].Path)
			units++
			size += len(h.matches[0].Path) + 16
		case "count":
			res.Counts = append(res.Counts, SearchCount{Path: h.matches[0].Path, Count: h.units})
			units++
			size += len(h.matches[0].Path) + 32
		default:
			for _, m := range h.matches {
				if units == req.MaxResults || size >= searchResultMaxBytes {
					break
				}
				res.Matches = append(res.Matches, m)
				units++
				size += len(m.Path) + len(m.Text) + 40
				for _, l := range m.Before {
					size += len(l) + 4
				}
				for _, l := range m.After {
					size += len(l) + 4
				}
			}
		}
	}
	total := res.TotalMatches
	if req.Mode != "content" {
		total = res.TotalFiles
	}
	res.Truncated = units < total
	return res, nil
}

// Reasons readForSearch skips a file.
const (
	skipLarge = iota + 1
	skipUnreadable
)

// dirRef is a directory descriptor shared by the jobs of its files.
type dirRef struct {
	fd   int
	refs atomic.Int32
}

func (d *dirRef) release() {
	if d.refs.Add(-1) == 0 {
		unix.Close(d.fd)
	}
}

// readForSearch reads the regular file name (in the directory dirFd)
// whole into buf (grown as needed, returned for reuse); files over maxFile
// are skipped.
func readForSearch(dirFd int, name string, buf []byte, maxFile int64) (data, newBuf []byte, skip int) {
	fd, err := unix.Openat(dirFd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, buf, skipUnreadable
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, buf, skipUnreadable
	}
	if st.Size > maxFile {
		return nil, buf, skipLarge
	}
	want := int(st.Size) + 1 // one more to see growth
	if cap(buf) < want {
		buf = make([]byte, max(want, 64<<10))
	}
	buf = buf[:cap(buf)]
	n := 0
	for n < want {
		k, err := unix.Read(fd, buf[n:want])
		if k <= 0 || err != nil {
			break
		}
		n += k
	}
	if int64(n) > st.Size { // grew: search what the size said
		n = int(st.Size)
	}
	return buf[:n], buf, 0
}

// searchData finds the matching lines of one file. With details false only
// the count matters (the file is past the cutoff).
func searchData(data []byte, rel string, find finder, req SearchRequest, details bool) *fileHits {
	h := &fileHits{}
	pos, line, counted := 0, 1, 0
	for pos < len(data) {
		i, j := find(data[pos:])
		if i < 0 {
			break
		}
		i, j = i+pos, j+pos
		if i == len(data) {
			break // an empty match after the last line
		}
		ls := pos + bytes.LastIndexByte(data[pos:i], '\n') + 1
		le := len(data)
		if k := bytes.IndexByte(data[i:], '\n'); k >= 0 {
			le = i + k
		}
		line += bytes.Count(data[counted:ls], []byte{'\n'})
		counted = ls
		h.units++
		if req.Mode == "files" {
			if details {
				h.matches = []SearchMatch{{Path: rel}}
			}
			h.units = 1
			return h
		}
		if details && (req.Mode == "count" && len(h.matches) == 0 || req.Mode == "content" && len(h.matches) < req.MaxResults) {
			m := SearchMatch{Path: rel, Line: line, Column: i - ls + 1, Text: lineText(data[ls:le], i-ls, j-ls)}
			if req.Context > 0 {
				m.Before = contextBefore(data, ls, req.Context)
				m.After = contextAfter(data, le, req.Context)
			}
			h.matches = append(h.matches, m)
		}
		pos = le + 1
	}
	return h
}

// lineText is the line as reported: valid UTF-8, at most SearchLineBytes,
// a window around the match [i, j) when the line is longer.
func lineText(l []byte, i, j int) string {
	l = bytes.TrimSuffix(l, []byte{'\r'})
	if len(l) <= SearchLineBytes {
		return strings.ToValidUTF8(string(l), "\uFFFD")
	}
	start := max(0, min(i-SearchLineBytes/3, len(l)-SearchLineBytes))
	for start > 0 && !utf8.RuneStart(l[start]) {
		start--
	}
	end := min(len(l), start+SearchLineBytes)
	for end < len(l) && !utf8.RuneStart(l[end]) {
		end--
	}
	s := strings.ToValidUTF8(string(l[start:end]), "\uFFFD")
	if start > 0 {
		s = "…" + s
	}
	if end < len(l) {
		s += "…"
	}
	return s
}

func contextBefore(data []byte, ls, n int) []string {
	var out []string
	end := ls - 1 // the '\n' ending the previous line
	for k := 0; k < n && end >= 0; k++ {
		start := bytes.LastIndexByte(data[:end], '\n') + 1
		out = append(out, lineText(data[start:end], 0, 0))
		end = start - 1
	}
	for a, b := 0, len(out)-1; a < b; a, b = a+1, b-1 {
		out[a], out[b] = out[b], out[a]
	}
	return out
}

func contextAfter(data []byte, le, n int) []string {
	var out []string
	start := le + 1
	for k := 0; k < n && start < len(data); k++ {
		end := len(data)
		if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
			end = start + i
		}
		out = append(out, lineText(data[start:end], 0, 0))
		start = end + 1
	}
	return out
}
