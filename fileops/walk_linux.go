package fileops

// The tree walk shared by search_files and find_files: depth first, names
// sorted in each directory, a directory's files before its subdirectories
// (so results are deterministic), symlinks never
// followed, .git never entered, and .gitignore / .ignore files honoured
// (those of the directories walked, and of the directories between the
// repository's root, the one holding .git, and the walk's root), plus
// .git/info/exclude.

import (
	"bufio"
	"context"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// WalkMaxEntries bounds the entries one walk visits.
const WalkMaxEntries = 2_000_000

// walkEntry is one file the walk yields.
type walkEntry struct {
	rel string // relative to the walk's root, "/"-separated
	typ uint8  // unix.DT_REG, DT_LNK or DT_UNKNOWN (anything else)
}

// walker walks one tree.
type walker struct {
	root           string
	includeIgnored bool
	base           []string // the root's path below the repository root (ignore-file domains are relative to that)
	visited        int
	truncated      bool // stopped at WalkMaxEntries
	unreadable     []string
	// exclude, when set, skips files and directories (rel: below the root).
	exclude func(rel, name string) bool
	// dirMatch, when set, is called with each directory walked into.
	dirMatch func(rel string)
	// dirEnd, when set, is called once a directory's entries have been
	// visited (before its subdirectories), with it still open as fd.
	dirEnd func(fd int)
}

// newWalker prepares a walk of root (an absolute directory) and the
// ignore patterns that apply to it from above.
func newWalker(root string, includeIgnored bool) (*walker, []ignorePattern) {
	w := &walker{root: root, includeIgnored: includeIgnored}
	if includeIgnored {
		return w, nil
	}
	// Find the repository root: the nearest directory at or above root
	// holding .git.
	var st unix.Stat_t
	repo := ""
	for d := root; ; d = splitDir(d) {
		if unix.Lstat(d+"/.git", &st) == nil {
			repo = d
			break
		}
		if d == "/" {
			break
		}
	}
	if repo == "" {
		return w, nil
	}
	if repo != root {
		rel := strings.TrimPrefix(root, strings.TrimSuffix(repo, "/")+"/")
		w.base = strings.Split(rel, "/")
	}
	ps := readIgnore(repo+"/.git/info/exclude", nil)
	d := repo
	for i := 0; i < len(w.base); i++ {
		ps = append(ps, readIgnore(d+"/.gitignore", w.base[:i])...)
		ps = append(ps, readIgnore(d+"/.ignore", w.base[:i])...)
		d = strings.TrimSuffix(d, "/") + "/" + w.base[i]
	}
	return w, ps
}

// readIgnore parses an ignore file (at most 1 MiB of it) into patterns of
// domain.
func readIgnore(path string, domain []string) []ignorePattern {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ps []ignorePattern
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		if p, ok := parseIgnore(sc.Text(), domain); ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// walk calls visit for every non-directory entry under the root that is
// not ignored, in order; visit returning false stops the walk. dirFd is
// the open directory holding the entry (valid during the call).
func (w *walker) walk(ctx context.Context, inherited []ignorePattern, visit func(e walkEntry, dirFd int) bool) error {
	fd, err := unix.Open(w.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	_, err = w.dir(ctx, fd, "", inherited, visit)
	return err
}

// dir walks the open directory fd (rel below the root; fd is closed on
// return). It returns false when the walk must stop.
func (w *walker) dir(ctx context.Context, fd int, rel string, ps []ignorePattern, visit func(walkEntry, int) bool) (bool, error) {
	d := os.NewFile(uintptr(fd), w.root+"/"+rel)
	defer d.Close()
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ents, err := d.ReadDir(-1)
	if err != nil {
		if rel == "" {
			return false, err
		}
		w.unreadable = append(w.unreadable, rel)
		return true, nil
	}
	slices.SortFunc(ents, func(a, b os.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	var domain []string
	if !w.includeIgnored {
		domain = append(slices.Clone(w.base), splitRel(rel)...)
		for _, name := range []string{".gitignore", ".ignore"} {
			if _, found := slices.BinarySearchFunc(ents, name, func(e os.DirEntry, n string) int { return strings.Compare(e.Name(), n) }); found {
				ps = append(slices.Clip(ps), readIgnore(d.Name()+"/"+name, domain)...)
			}
		}
	}
	var subdirs []os.DirEntry
	for _, e := range ents {
		name := e.Name()
		w.visited++
		if w.visited > WalkMaxEntries {
			w.truncated = true
			return false, nil
		}
		isDir := e.IsDir()
		if isDir && name == ".git" {
			continue
		}
		if len(ps) > 0 && ignored(ps, append(domain, name), isDir) {
			continue
		}
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		if w.exclude != nil && w.exclude(childRel, name) {
			continue
		}
		if isDir {
			subdirs = append(subdirs, e)
			continue
		}
		typ := uint8(unix.DT_REG)
		switch t := e.Type(); {
		case t&os.ModeSymlink != 0:
			typ = unix.DT_LNK
		case !t.IsRegular():
			typ = unix.DT_UNKNOWN
		}
		if !visit(walkEntry{rel: childRel, typ: typ}, fd) {
			return false, nil
		}
	}
	if w.dirEnd != nil {
		w.dirEnd(fd)
	}
	// Subdirectories after the files: depth first, each directory's own
	// files before those below it.
	for _, e := range subdirs {
		name := e.Name()
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		if w.dirMatch != nil {
			w.dirMatch(childRel)
		}
		cfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			w.unreadable = append(w.unreadable, childRel)
			continue
		}
		more, err := w.dir(ctx, cfd, childRel, ps, visit)
		if err != nil || !more {
			return false, err
		}
	}
	return true, nil
}

func splitRel(rel string) []string {
	if rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}

// checkDir checks that root is an existing directory for op.
func checkDir(op, root string) error {
	if err := checkAbs(op, root); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err != nil {
		return fileOpError(op, root, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &isolation.OpError{Op: op, Path: root, Kind: isolation.KindNotDirectory, Msg: "is " + describeOrFile(st.Mode) + ", not a directory", Errno: unix.ENOTDIR}
	}
	return nil
}
