package setup

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// BackupExts are the file endings that make a folder look like a backup
// folder: generic archives and database dumps, Excel workbooks (shops that
// keep their books in Excel), and the backup files of two common
// accounting programs (QuickBooks .qbb, Sage 50 .ptb).
var BackupExts = []string{".bak", ".zip", ".7z", ".xlsx", ".qbb", ".ptb"}

// Roots lists where the wizard looks for backup folders on goos: the
// user's Documents and Desktop, the generic backup folders people create
// at a drive's root, and the data folders of QuickBooks and Sage 50, whose
// backups are written beside the company files unless told otherwise.
// Only folders that hold recent backup files are suggested, so a wrong
// guess here costs a directory read, never a wrong suggestion. The list is
// documented in docs/windows.md; keep the two in step.
func Roots(goos string, getenv func(string) string, home string) []string {
	var roots []string
	add := func(parts ...string) {
		for _, p := range parts {
			if p == "" {
				return
			}
		}
		roots = append(roots, filepath.Join(parts...))
	}
	switch goos {
	case "windows":
		for _, d := range []string{`C:\`, `D:\`} {
			add(d, "Backup")
			add(d, "Backups")
		}
		add(getenv("PUBLIC"), "Documents", "Intuit", "QuickBooks")
		add(home, "Documents", "Intuit", "QuickBooks")
		add(getenv("ProgramData"), "Sage")
		add(home, "Documents")
		add(home, "Desktop")
		add(home, "OneDrive", "Documents")
	default:
		add(home, "Documents")
		add(home, "Desktop")
		add(home, "Backups")
		if goos == "linux" {
			add("/srv")
		}
	}
	return roots
}

// Found is a folder holding recent backup files.
type Found struct {
	Dir    string
	Files  int       // recent backup files directly in Dir
	Newest time.Time // modification time of the newest of them
}

// Finder walks Roots for folders with recent backup files. Every bound is
// there because it runs while a person waits: a Documents folder of a
// hundred thousand files must not stall the wizard.
type Finder struct {
	Roots    []string
	Exts     []string      // lower case, with the dot; default BackupExts
	MaxDepth int           // folders below a root; default 3
	Within   time.Duration // "recent": modified this long ago or less; default 45 days
	MaxDirs  int           // folders read in all; default 2000
	Budget   time.Duration // time spent looking at most; default 5s
	Max      int           // suggestions returned; default 8
	Now      func() time.Time
}

// Find returns the folders holding backup files changed within Within,
// the most recently written first. Unreadable folders are skipped.
func (f Finder) Find(ctx context.Context) []Found {
	exts := f.Exts
	if exts == nil {
		exts = BackupExts
	}
	depth := or(f.MaxDepth, 3)
	within := f.Within
	if within == 0 {
		within = 45 * 24 * time.Hour
	}
	maxDirs, max := or(f.MaxDirs, 2000), or(f.Max, 8)
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	since := now().Add(-within)
	budget := f.Budget
	if budget == 0 {
		budget = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	seen := map[string]bool{}
	var out []Found
	dirs := 0
	for _, root := range f.Roots {
		root = filepath.Clean(root)
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil || dirs >= maxDirs {
				return filepath.SkipAll
			}
			if err != nil || !d.IsDir() {
				return nil // unreadable: not a suggestion, not an error
			}
			if seen[path] {
				return filepath.SkipDir // roots may nest (Documents and Documents/Intuit)
			}
			seen[path] = true
			if rel, err := filepath.Rel(root, path); err == nil && rel != "." && strings.Count(rel, string(filepath.Separator))+1 > depth {
				return filepath.SkipDir
			}
			if path != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			dirs++
			if fd, ok := scanDir(path, exts, since); ok {
				out = append(out, fd)
			}
			return nil
		})
	}
	slices.SortFunc(out, func(a, b Found) int { return b.Newest.Compare(a.Newest) })
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// scanDir counts the recent backup files directly in dir.
func scanDir(dir string, exts []string, since time.Time) (Found, bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Found{}, false
	}
	fd := Found{Dir: dir}
	for _, e := range entries {
		if !e.Type().IsRegular() || !slices.Contains(exts, strings.ToLower(filepath.Ext(e.Name()))) || ignoredName(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.ModTime().Before(since) {
			continue
		}
		fd.Files++
		if fi.ModTime().After(fd.Newest) {
			fd.Newest = fi.ModTime()
		}
	}
	return fd, fd.Files > 0
}

// ignoredName: Office lock files and hidden files are never backups.
func ignoredName(name string) bool {
	return strings.HasPrefix(name, "~$") || strings.HasPrefix(name, ".")
}

// skipDir: hidden folders, and folders that hold programs or caches rather
// than a shop's files.
func skipDir(name string) bool {
	switch strings.ToLower(name) {
	case "node_modules", "appdata", "$recycle.bin", "system volume information", "windows", "program files", "program files (x86)":
		return true
	}
	return strings.HasPrefix(name, ".")
}

func or(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
