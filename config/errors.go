package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a config file. Load joins all of them with
// errors.Join; errors.As finds the first.
type Error struct {
	File string // as given to Load or Parse
	Line int    // 1-based; 0 when the problem has no line (a missing file)
	Path string // key path such as "destinations[1].client_secret"; "" for the whole file
	Msg  string // what is wrong, written to follow Path
	Hint string // how to fix it
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + " ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// problems collects every Error of one file, so the user fixes them in one go.
type problems struct {
	file  string
	lines map[string]int
	errs  []*Error
	env   map[string][]envUse // variables each key's value came from (hideEnv)
}

func newProblems(file string, lines map[string]int) *problems {
	if lines == nil {
		lines = map[string]int{}
	}
	return &problems{file: file, lines: lines}
}

// add records a problem at path, pointing at the nearest line known for
// path or one of its parents (a missing key points at its list item).
func (p *problems) add(path, hint, format string, args ...any) {
	p.addAt(p.line(path), path, hint, format, args...)
}

// addAt records a problem at an explicit line. Only the first problem of a
// key is kept: a value that failed to decode is empty, and "is required"
// on top of "uses ${X}, which is not set" would only confuse.
func (p *problems) addAt(line int, path, hint, format string, args ...any) {
	if path != "" && p.has(path) {
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func (p *problems) has(path string) bool {
	for _, e := range p.errs {
		if e.Path == path {
			return true
		}
	}
	return false
}

func (p *problems) line(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		path = parent(path)
	}
	return 0
}

// set reports whether path was written in the file.
func (p *problems) set(path string) bool {
	_, ok := p.lines[path]
	return ok
}

// sorted returns the problems in file order.
func (p *problems) sorted() []error {
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	out := make([]error, len(p.errs))
	for i, e := range p.errs {
		out[i] = e
	}
	return out
}

// parent strips the last element of a key path: "a[1].b" → "a[1]" → "a".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// closest returns the candidate nearest to s, if it is near enough to be a
// plausible typo.
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := levenshtein(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
