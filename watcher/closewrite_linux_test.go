//go:build linux

package watcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A writer that pauses longer than settle, file still open, is not done:
// without close-write events the first pause reported a torn copy.
func TestPausingWriterReportedOnlyAfterClose(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir}, nil)
	f, err := os.Create(filepath.Join(dir, "day.bak"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := strings.Repeat("x", 1000)
	for range 3 {
		if _, err := f.WriteString(chunk); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * testSettle) // the program is busy elsewhere
	}
	if got := rec.readyFor("day.bak"); len(got) != 0 {
		t.Fatalf("reported while its writer still had it open: %+v", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	rec.waitReady(t, "day.bak", 1)
	barrier(t, rec, dir)
	if got := rec.readyFor("day.bak"); len(got) != 1 || got[0].Size != 3000 {
		t.Fatalf("Ready %+v, want one with size 3000", got)
	}
}

// A close that was missed (or a writer that keeps the file open for good)
// holds the file only up to the bound.
func TestOpenWriterHeldOnlyUpToTheBound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir}, func(w *watch) { w.holdMax = 4 * testSettle })
	f, err := os.Create(filepath.Join(dir, "day.bak"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("partial")
	rec.waitReady(t, "day.bak", 1)
}
