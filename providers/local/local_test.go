package local

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// A folder under the destination that is a link (usb/pos -> /elsewhere)
// must not carry backups, or deletes, outside the destination.
func TestSymlinkedFolderInsideRootRefused(t *testing.T) {
	tmp := t.TempDir()
	root, elsewhere := filepath.Join(tmp, "usb"), filepath.Join(tmp, "elsewhere")
	for _, d := range []string{root, elsewhere} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(root, "pos")
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Skip("cannot create symlinks here:", err)
	}
	victim := filepath.Join(elsewhere, "keep.txt")
	os.WriteFile(victim, []byte("not offsite's"), 0o644)
	c := New(Config{Root: root, Owner: "test"})
	ctx := context.Background()

	for _, p := range []string{"pos/day.bak", "pos/sub/day.bak"} {
		_, err := c.Put(ctx, p, bytes.NewReader([]byte("backup")), 6, providers.PutOptions{})
		if providers.KindOf(err) != providers.Fatal {
			t.Fatalf("Put %s through a link = %v (kind %v), want Fatal", p, err, providers.KindOf(err))
		}
		if msg := err.Error() + providers.HintOf(err); !strings.Contains(msg, link) || !strings.Contains(msg, "real folder") {
			t.Errorf("error does not name the link and the fix: %v (hint %q)", err, providers.HintOf(err))
		}
	}
	if err := c.Delete(ctx, "pos/keep.txt"); providers.KindOf(err) != providers.Fatal {
		t.Fatalf("Delete through a link = %v, want Fatal", err)
	}
	ents, _ := os.ReadDir(elsewhere)
	if len(ents) != 1 || ents[0].Name() != "keep.txt" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("the link's target was written to: %v", names)
	}
	// A real folder of that name works again.
	os.Remove(link)
	if _, err := c.Put(ctx, "pos/day.bak", bytes.NewReader([]byte("backup")), 6, providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A link swapped in after the check still cannot lead the write outside:
// the writes go through an os.Root.
func TestLinkSwappedAfterCheckStaysInside(t *testing.T) {
	tmp := t.TempDir()
	root, elsewhere := filepath.Join(tmp, "usb"), filepath.Join(tmp, "elsewhere")
	os.Mkdir(root, 0o755)
	os.Mkdir(elsewhere, 0o755)
	if err := os.Symlink(elsewhere, filepath.Join(tmp, "probe")); err != nil {
		t.Skip("cannot create symlinks here:", err)
	}
	c := New(Config{Root: root, Owner: "test"})
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	os.Symlink(elsewhere, filepath.Join(root, "pos"))
	// What Put does after noLinks passed.
	if _, _, err := c.createTemp(r, "pos"); err == nil {
		t.Fatal("temp file created through a link leading outside the root")
	} else if err := c.inRoot("create temp file", filepath.Join("pos", "day.bak"), err); providers.KindOf(err) != providers.Fatal || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("mapped error = %v, want Fatal naming the link", err)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Fatal("written outside the destination")
	}
}
