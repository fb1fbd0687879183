package local

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Options{New: func(t *testing.T) providers.Provider {
		return New(Config{Root: t.TempDir(), Owner: "test"})
	}})
}

func TestMissingRootIsFatalAndNotCreated(t *testing.T) {
	root := filepath.Join(t.TempDir(), "usb")
	c := New(Config{Root: root})
	_, err := c.Put(context.Background(), "a.bak", bytes.NewReader([]byte("x")), 1, providers.PutOptions{})
	if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonMissing {
		t.Fatalf("Put to a missing disk = %v (kind %v), want Fatal/missing", err, providers.KindOf(err))
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Put created the missing destination folder")
	}
}

func TestReadOnlyIsFatal(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores permissions")
	}
	root := t.TempDir()
	os.Chmod(root, 0o555)
	t.Cleanup(func() { os.Chmod(root, 0o755) })
	_, err := New(Config{Root: root}).Put(context.Background(), "a.bak", bytes.NewReader([]byte("x")), 1, providers.PutOptions{})
	if providers.KindOf(err) != providers.Fatal {
		t.Fatalf("got %v", err)
	}
}

func TestSweepRemovesOwnTempFilesOnly(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "pos"), 0o755)
	mine := filepath.Join(root, "pos", tempPrefix+"shop1-123")
	theirs := filepath.Join(root, "pos", tempPrefix+"other-456")
	for _, f := range []string{mine, theirs} {
		os.WriteFile(f, []byte("partial"), 0o644)
	}
	n, err := New(Config{Root: root, Owner: "shop1"}).Sweep(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	if _, err := os.Stat(mine); !errors.Is(err, os.ErrNotExist) {
		t.Error("own stale temp file kept")
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Error("another installation's fresh temp file removed")
	}
}

func TestPathEscapeRefused(t *testing.T) {
	root := t.TempDir()
	c := New(Config{Root: filepath.Join(root, "dest")})
	os.Mkdir(filepath.Join(root, "dest"), 0o755)
	rf, err := c.Put(context.Background(), "../../evil.bak", bytes.NewReader([]byte("x")), 1, providers.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rf.Path != "evil.bak" {
		t.Fatalf("path %q", rf.Path)
	}
	if _, err := os.Stat(filepath.Join(root, "dest", "evil.bak")); err != nil {
		t.Fatal("dot-dot path escaped the destination")
	}
}
