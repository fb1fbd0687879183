package push

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/spool"
)

// TestPushNeverOverwritesADifferentFile: a second push of the same file
// finds it there and sends nothing; a different file of that name goes
// beside it under a timestamped name.
func TestPushNeverOverwritesADifferentFile(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "usb")
	os.Mkdir(dest, 0o755)
	src := filepath.Join(dir, "ledger.xlsx")
	os.WriteFile(src, []byte("first"), 0o644)
	r := Request{Provider: local.New(local.Config{Root: dest}), Dest: "usb", File: src, Look: true}
	ctx := context.Background()
	rf, err := File(ctx, r)
	if err != nil || rf.Path != "ledger.xlsx" {
		t.Fatalf("first push: %+v %v", rf, err)
	}
	before, _ := os.Stat(filepath.Join(dest, "ledger.xlsx"))
	if again, err := File(ctx, r); err != nil || again.Path != "ledger.xlsx" {
		t.Fatalf("same file again: %+v %v", again, err)
	}
	if after, _ := os.Stat(filepath.Join(dest, "ledger.xlsx")); !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("the same content was written again")
	}
	os.WriteFile(src, []byte("second!"), 0o644)
	mt := time.Date(2026, 11, 23, 18, 30, 0, 0, time.UTC)
	os.Chtimes(src, mt, mt)
	rf, err = File(ctx, r)
	if err != nil || rf.Path != "ledger.2026-11-23T183000Z.xlsx" {
		t.Fatalf("different content: %+v %v", rf, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "ledger.xlsx")); string(b) != "first" {
		t.Fatalf("the first copy was overwritten: %q", b)
	}
}

// TestPushSendsTheStoredForm: an encrypting destination gets the
// .zst.age file, which opens to the original, and no scratch copy is left.
func TestPushSendsTheStoredForm(t *testing.T) {
	dir := t.TempDir()
	dest, sp := filepath.Join(dir, "usb"), filepath.Join(dir, "spool")
	os.Mkdir(dest, 0o755)
	src := filepath.Join(dir, "day.bak")
	data := bytes.Repeat([]byte("2026-11-23;kassa 1;19.99\n"), 1000)
	os.WriteFile(src, data, 0o644)
	id, _ := age.GenerateX25519Identity()
	spec := codec.Spec{Compress: true, Recipients: []string{id.Recipient().String()}}
	rf, err := File(context.Background(), Request{Provider: local.New(local.Config{Root: dest}), Dest: "usb", File: src,
		Spec: spec, Spool: spool.New(sp), Look: true})
	if err != nil || rf.Path != "day.bak.zst.age" {
		t.Fatalf("push: %+v %v", rf, err)
	}
	stored, _ := os.ReadFile(filepath.Join(dest, "day.bak.zst.age"))
	var out bytes.Buffer
	if _, err := codec.Decode(&out, bytes.NewReader(stored), "day.bak.zst.age", codec.Keys{Identities: []age.Identity{id}}, codec.Sum{}); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("stored form does not open to the original: %v", err)
	}
	if left, _ := os.ReadDir(sp); len(left) != 0 {
		t.Fatalf("scratch copies left: %d", len(left))
	}
}
