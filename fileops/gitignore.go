package fileops

// The ignore rules of search_files and find_files: one line of a
// .gitignore, .ignore or .git/info/exclude file (gitignore(5)), matched
// against paths split at "/".
//
// Our own matcher rather than go-git's plumbing/format/gitignore: that
// package pulls in go-git's config parser and with it encoding/gob, whose
// package initialisers cost ~0.8 ms at every start of this binary (the
// server and both stages of the sandbox's init). The semantics are go-git's
// where they agree with git's: a pattern also matches everything below a
// directory it matches, and "**" segments match any number of directories
// (with backtracking, which go-git lacks: "a/**/b/c" matches a/b/x/b/c).
// "[!...]" is a negated class as in git.

import (
	"path"
	"strings"
)

// ignorePattern is one parsed ignore line.
type ignorePattern struct {
	domain   []string // the directory of the file it came from, below the repository root
	segs     []string // the pattern's "/"-separated segments; "**" matches zero or more
	negate   bool     // "!pattern": a match re-includes
	dirOnly  bool     // "pattern/": matches directories only
	anchored bool     // a "/" before the end: matched against the path below domain, else against any one name
}

// parseIgnore parses one line of an ignore file whose directory is domain
// (below the repository root). ok is false for blank lines and comments.
func parseIgnore(line string, domain []string) (p ignorePattern, ok bool) {
	line = strings.TrimSuffix(line, "\r")
	if strings.HasPrefix(line, "#") {
		return p, false
	}
	// Trailing spaces go unless escaped ("a\ " keeps one).
	for strings.HasSuffix(line, " ") && !strings.HasSuffix(line, `\ `) {
		line = line[:len(line)-1]
	}
	if strings.HasPrefix(line, "!") {
		p.negate = true
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") {
		p.dirOnly = true
		line = strings.TrimSuffix(line, "/")
	}
	if line == "" {
		return p, false
	}
	if strings.Contains(line, "/") {
		p.anchored = true
		line = strings.TrimPrefix(line, "/")
	}
	p.segs = strings.Split(line, "/")
	for i, s := range p.segs {
		p.segs[i] = gitClass(s)
	}
	p.domain = append([]string(nil), domain...)
	return p, true
}

// gitClass rewrites git's negated class "[!...]" to path.Match's "[^...]".
func gitClass(s string) string {
	if !strings.Contains(s, "[!") {
		return s
	}
	b := []byte(s)
	inClass := false
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\\':
			i++
		case !inClass && b[i] == '[':
			inClass = true
			if i+1 < len(b) && b[i+1] == '!' {
				b[i+1] = '^'
				i++
			}
		case inClass && b[i] == ']':
			inClass = false
		}
	}
	return string(b)
}

// match reports whether p matches the path (from the repository root; its
// last element is a directory when isDir) or one of the directories above
// it below p's domain.
func (p *ignorePattern) match(elems []string, isDir bool) bool {
	if len(elems) <= len(p.domain) {
		return false
	}
	for i, d := range p.domain {
		if elems[i] != d {
			return false
		}
	}
	rel := elems[len(p.domain):]
	if !p.anchored {
		for i, name := range rel {
			if globSeg(p.segs[0], name) {
				return !p.dirOnly || isDir || i < len(rel)-1
			}
		}
		return false
	}
	for k := 1; k <= len(rel); k++ {
		if p.dirOnly && k == len(rel) && !isDir {
			break
		}
		if matchSegs(p.segs, rel[:k]) {
			return true
		}
	}
	return false
}

// matchSegs matches whole paths: each segment one name, "**" any number
// of names.
func matchSegs(segs, names []string) bool {
	for len(segs) > 0 {
		if segs[0] == "**" {
			for len(segs) > 0 && segs[0] == "**" {
				segs = segs[1:]
			}
			if len(segs) == 0 { // a trailing "**": everything inside, not the directory itself
				return len(names) > 0
			}
			for i := range names {
				if matchSegs(segs, names[i:]) {
					return true
				}
			}
			return false
		}
		if len(names) == 0 || !globSeg(segs[0], names[0]) {
			return false
		}
		segs, names = segs[1:], names[1:]
	}
	return len(names) == 0
}

// globSeg matches one name against one segment; a malformed segment
// matches nothing.
func globSeg(seg, name string) bool {
	ok, err := path.Match(seg, name)
	return ok && err == nil
}

// ignored reports whether the last pattern that matches the path excludes
// it (patterns in increasing priority: outer files first, later lines of a
// file after earlier ones).
func ignored(ps []ignorePattern, elems []string, isDir bool) bool {
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].match(elems, isDir) {
			return !ps[i].negate
		}
	}
	return false
}
