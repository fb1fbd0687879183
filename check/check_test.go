package check

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/offsite-backup/offsite/providers/local"
)

// TestDestinationLeavesNothingBehind: the probe writes, reads back and
// deletes its file, and removes the folder earlier versions left; a
// destination that is not there fails it.
func TestDestinationLeavesNothingBehind(t *testing.T) {
	dest := t.TempDir()
	old := filepath.Join(dest, checkDir)
	if err := os.MkdirAll(old, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, "check.txt"), []byte("left"), 0o644); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := Destination(context.Background(), local.New(local.Config{Root: dest, Owner: "test"}), log); err != nil {
		t.Fatal(err)
	}
	if left, err := os.ReadDir(dest); err != nil || len(left) != 0 {
		t.Errorf("left at the destination: %v %v", left, err)
	}
	unplugged := local.New(local.Config{Root: filepath.Join(dest, "unplugged"), Owner: "test"})
	if err := Destination(context.Background(), unplugged, log); err == nil {
		t.Error("a missing destination passed the check")
	}
}
