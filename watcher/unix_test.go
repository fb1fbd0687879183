//go:build unix

package watcher

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestSymlinksAndFIFOsSkipped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "t.bak")
	writeOld(t, target, "elsewhere")
	if err := os.Symlink(target, filepath.Join(dir, "link.bak")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.bak"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, rec := startSynced(t, Config{Path: dir}, nil)
	barrier(t, rec, dir)
	only(t, rec.rels())
}

func TestUnreadableSubfolderNotFatal(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every folder")
	}
	t.Parallel()
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked")
	writeOld(t, filepath.Join(locked, "x.bak"), "x")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
	_, rec := startSynced(t, Config{Path: dir, Recursive: true}, nil)
	barrier(t, rec, dir)
	only(t, rec.rels())
	if _, m, _ := rec.counts(); m != 0 {
		t.Fatalf("an unreadable subfolder reported the watch missing")
	}
}
