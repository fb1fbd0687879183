package watcher

import (
	"os"
	"path/filepath"
	"testing"
)

// Ready carries the identity of the file the gate passed, so a reader can
// tell that the handle it opens is that file and not a link swapped in.
func TestReadyCarriesFileIdentity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir}, nil)
	p := filepath.Join(dir, "day.bak")
	write(t, p, "backup")
	got := rec.waitReady(t, "day.bak", 1)[0]
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	want, err := HandleID(fh)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID.IsZero() || got.ID != want {
		t.Fatalf("Ready ID %+v, want the file's %+v", got.ID, want)
	}
}
