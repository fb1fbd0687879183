package watcher

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// List sees what a watch would consider, and nothing a watch ignores.
func TestListAppliesTheWatchFilters(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"day.bak", "~$book.xlsx", "copy.tmp", ".hidden", "sub/old.bak", "skip/x.bak", "notes.txt"} {
		abs := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(abs, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rels := func(c Config) []string {
		t.Helper()
		fs, err := List(c)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.Rel)
		}
		slices.Sort(out)
		return out
	}
	if got, want := rels(Config{Name: "w", Path: dir}), []string{"day.bak", "notes.txt"}; !slices.Equal(got, want) {
		t.Errorf("flat: %v, want %v", got, want)
	}
	c := Config{Name: "w", Path: dir, Recursive: true, Include: []string{"*.bak"}, Exclude: []string{"skip"}}
	if got, want := rels(c), []string{"day.bak", "sub/old.bak"}; !slices.Equal(got, want) {
		t.Errorf("recursive with include and exclude: %v, want %v", got, want)
	}
	if _, err := List(Config{Name: "w", Path: filepath.Join(dir, "gone")}); err == nil {
		t.Error("a missing folder listed without an error")
	}
}
