package spool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offsite-backup/offsite/codec"
)

func TestMakeOpenRemove(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "spool"))
	data := bytes.Repeat([]byte("kassa 1;19.99;\n"), 50000)
	res, err := d.Make(7, ".zst", bytes.NewReader(data), int64(len(data)), codec.Spec{Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Original.Size != int64(len(data)) || res.Stored.Size >= res.Original.Size {
		t.Fatalf("result %+v", res)
	}
	f, err := d.Open(7, ".zst")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := codec.Decode(&out, f, "x.zst", codec.Keys{}, res.Original); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(d.Path(7, ".zst")); fi.Mode().Perm() != 0o600 {
		t.Errorf("spool file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := d.Remove(7); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(7, ".zst"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Remove: %v", err)
	}
}

func TestMakeRefusesWhenTheDiskIsTooSmall(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "spool"))
	d.free = func(string) (int64, error) { return 10 << 20, nil }
	_, err := d.Make(1, ".age", strings.NewReader("x"), 1<<30, codec.Spec{Compress: true})
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "1 GiB") {
		t.Fatalf("got %v, want ErrNoSpace naming the size", err)
	}
	if ids := d.IDs(); len(ids) != 0 {
		t.Fatalf("left %v behind", ids)
	}
}

func TestFailedMakeLeavesNothing(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "spool"))
	boom := errors.New("read error")
	_, err := d.Make(3, ".zst", io.MultiReader(strings.NewReader("abc"), &failing{boom}), 100, codec.Spec{Compress: true})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(d.path))
	if len(ents) != 0 {
		t.Fatalf("left %d files", len(ents))
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }

func TestSweepKeepsOnlyLiveJobs(t *testing.T) {
	d := New(t.TempDir())
	for _, name := range []string{"1.zst.age", "2.age", "3.zst.age.part", "notes.txt", "scratch-123"} {
		if err := os.WriteFile(filepath.Join(d.path, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := d.Sweep(func(id int64) bool { return id == 1 || id == 3 })
	if err != nil || n != 3 {
		t.Fatalf("swept %d, %v; want 3 (job 2, the partial, the scratch file)", n, err)
	}
	if ids := d.IDs(); len(ids) != 1 || ids[0] != 1 {
		t.Fatalf("left %v, want [1]", ids)
	}
	if _, err := os.Stat(filepath.Join(d.path, "notes.txt")); err != nil {
		t.Fatal("a file that is not a spool file was removed")
	}
}
