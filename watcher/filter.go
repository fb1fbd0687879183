package watcher

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Ignored reports whether a base name is one the watcher never reports, whatever the
// configuration: editor, Office and Access lock files, download and copy temporaries,
// SQLite's journal and WAL sidecars, dot-files (rsync's .name.XXXXXX, offsite's own
// .offsite-*) and desktop metadata files.
// Matching is case-insensitive because the shops run Windows, where Book.TMP is Book.tmp.
func Ignored(name string) bool {
	n := strings.ToLower(name)
	switch {
	case n == "" || n == "." || n == "..":
		return true
	case strings.HasPrefix(n, "~$"), strings.HasPrefix(n, "."):
		// ".~lock.name#" (LibreOffice) is a dot-file too.
		return true
	case n == "desktop.ini", n == "thumbs.db":
		return true
	}
	for _, ext := range ignoredExts {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	// A database's sidecars are only ever half of something: SQLite's
	// journal and WAL files beside "pos.db" ("pos.db-wal"), never a backup
	// on their own, and gone or rewritten once the database is closed.
	for _, sfx := range sidecars {
		if stem, ok := strings.CutSuffix(n, sfx); ok && strings.Contains(stem, ".") {
			return true
		}
	}
	return false
}

// ignoredExts are temporaries and lock files: Access writes name.laccdb
// (name.ldb before 2007) while a database is open.
var ignoredExts = []string{".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".laccdb", ".ldb"}

var sidecars = []string{"-journal", "-wal", "-shm"}

// filter applies the built-in ignores, Config.Ignore and the include/exclude globs.
type filter struct {
	include []string // lower-cased
	exclude []string // lower-cased
	ignore  []string // cleaned absolute paths
}

func newFilter(c Config) (filter, error) {
	f := filter{}
	for _, list := range []struct {
		key string
		in  []string
		out *[]string
	}{{"include", c.Include, &f.include}, {"exclude", c.Exclude, &f.exclude}} {
		for _, p := range list.in {
			if _, err := path.Match(p, ""); err != nil {
				return filter{}, fmt.Errorf("%s pattern %q: %w", list.key, p, err)
			}
			*list.out = append(*list.out, strings.ToLower(p))
		}
	}
	for _, p := range c.Ignore {
		f.ignore = append(f.ignore, filepath.Clean(p))
	}
	return f, nil
}

// ignoredPath reports whether abs is, or lies under, one of Config.Ignore.
func (f filter) ignoredPath(abs string) bool {
	for _, p := range f.ignore {
		if abs == p || strings.HasPrefix(abs, p+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// file reports whether a regular file at rel (slash-separated) should go through the gate.
func (f filter) file(rel, abs string) bool {
	base := path.Base(rel)
	if Ignored(base) || f.ignoredPath(abs) {
		return false
	}
	if len(f.include) > 0 && !match(f.include, rel, base) {
		return false
	}
	return !match(f.exclude, rel, base)
}

// dir reports whether the scan descends into a subdirectory. Include patterns name
// files, so they never prune a directory; exclude patterns may ("archive", "old/*").
func (f filter) dir(rel, abs string) bool {
	base := path.Base(rel)
	if strings.HasPrefix(base, ".") || f.ignoredPath(abs) {
		return false
	}
	return !match(f.exclude, rel, base)
}

// match tries each pattern on the base name and on the whole relative path, case-insensitively.
func match(patterns []string, rel, base string) bool {
	if len(patterns) == 0 {
		return false
	}
	rel, base = strings.ToLower(rel), strings.ToLower(base)
	for _, p := range patterns {
		if ok, _ := path.Match(p, base); ok {
			return true
		}
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
	}
	return false
}
