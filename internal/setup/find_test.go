package setup

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestFinderSuggestsFoldersWithRecentBackups: only folders holding backup
// files written recently are suggested, newest first, within the depth
// bound; lock files, old files and other file types do not count.
func TestFinderSuggestsFoldersWithRecentBackups(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	file := func(rel string, age time.Duration) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	file("POS/backup/day1.BAK", 2*time.Hour)
	file("POS/backup/day2.bak", 26*time.Hour)
	file("Books/ledger.xlsx", 5*24*time.Hour)
	file("Books/~$ledger.xlsx", time.Hour) // Excel's lock file
	file("Old/2020.zip", 400*24*time.Hour) // not recent
	file("Photos/a.jpg", time.Hour)        // not a backup type
	file("a/b/c/d/deep.bak", time.Hour)    // below the depth bound
	file(".hidden/x.bak", time.Hour)       // hidden folder
	file("Sage/Company.000/q.ptb", 3*time.Hour)

	f := Finder{Roots: []string{root, filepath.Join(root, "missing")}, Now: func() time.Time { return now }}
	got := f.Find(context.Background())
	var dirs []string
	for _, fd := range got {
		rel, _ := filepath.Rel(root, fd.Dir)
		dirs = append(dirs, filepath.ToSlash(rel))
	}
	want := []string{"POS/backup", "Sage/Company.000", "Books"}
	if !slices.Equal(dirs, want) {
		t.Fatalf("found %v, want %v", dirs, want)
	}
	if got[0].Files != 2 || !got[0].Newest.Equal(now.Add(-2*time.Hour)) {
		t.Errorf("POS/backup: %d files, newest %v", got[0].Files, got[0].Newest)
	}
	if got[2].Files != 1 {
		t.Errorf("Books counts the lock file: %d files", got[2].Files)
	}

	// The folder budget stops the walk: a huge tree cannot stall the questions.
	small := Finder{Roots: []string{root}, Now: f.Now, MaxDirs: 2}
	if n := len(small.Find(context.Background())); n > 1 {
		t.Errorf("MaxDirs 2 still found %d folders", n)
	}
	// And so does a cancelled context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n := len(f.Find(ctx)); n != 0 {
		t.Errorf("a cancelled search found %d folders", n)
	}
}

// TestRootsPerOS: the places searched are the documented ones.
func TestRootsPerOS(t *testing.T) {
	env := map[string]string{"PUBLIC": `C:\Users\Public`, "ProgramData": `C:\ProgramData`}
	win := Roots("windows", func(k string) string { return env[k] }, `C:\Users\kim`)
	for _, want := range []string{filepath.Join(`C:\`, "Backup"), filepath.Join(`C:\Users\Public`, "Documents", "Intuit", "QuickBooks"), filepath.Join(`C:\ProgramData`, "Sage"), filepath.Join(`C:\Users\kim`, "Documents")} {
		if !slices.Contains(win, want) {
			t.Errorf("windows roots %v lack %s", win, want)
		}
	}
	// A variable that is not set drops its root instead of searching "Documents/Intuit" relative to here.
	win = Roots("windows", func(string) string { return "" }, `C:\Users\kim`)
	for _, r := range win {
		if !filepath.IsAbs(r) && !(len(r) > 2 && r[1] == ':') {
			t.Errorf("relative root %q", r)
		}
	}
	lin := Roots("linux", func(string) string { return "" }, "/home/kim")
	if !slices.Equal(lin, []string{"/home/kim/Documents", "/home/kim/Desktop", "/home/kim/Backups", "/srv"}) {
		t.Errorf("linux roots %v", lin)
	}
}
