package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/codec"
)

// A kill -9 in the middle of an encrypted upload resumes from the spooled
// copy: the same ciphertext, from the last acknowledged chunk, never a new
// encryption sent from the start.
func TestEncryptedUploadResumesFromSpoolAfterKill9(t *testing.T) {
	size, chunk := 24<<20, 1<<20
	if os.Getenv("OFFSITE_LONG") == "1" {
		size, chunk = 200<<20, 8<<20
	}
	cloud, drv, srv := startDrive(t)
	e := newEnv(t, "200ms")
	state := filepath.Join(e.dir, "state")
	os.MkdirAll(state, 0o700)
	os.WriteFile(filepath.Join(state, "cloud-token.json"),
		[]byte(`{"access_token":"x","refresh_token":"r","expiry":"2001-01-01T00:00:00Z"}`), 0o600)
	keyFile := filepath.Join(e.dir, "shop-key.txt")
	key, public, err := codec.NewKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(keyFile, key, 0o600)
	cfg := fmt.Sprintf(`state_dir: %s
watches:
  - name: pos
    path: %s
    settle: 200ms
    destinations: [cloud]
destinations:
  - name: cloud
    type: gdrive
    folder: Backups
    endpoint: %s
    chunk_size: %[4]dKiB
    chunk_size_max: %[4]dKiB
    bandwidth: %[5]dMiB/s
    compress: zstd
    encrypt:
      recipients: [%[6]s]
`, state, e.watch, srv.URL, chunk>>10, max(6, size>>22), public)
	os.WriteFile(e.config, []byte(cfg), 0o600)
	data := randomData(7, size) // incompressible: the stored form is about as big
	os.WriteFile(filepath.Join(e.watch, "big.bak"), data, 0o644)

	c := e.cmd("run")
	var log syncBuffer
	c.Stderr = &log
	c.Start()
	waitFor(t, 120*time.Second, func() bool { return cloud.StatsOf("drive").UploadBytes >= int64(size/2) }, &log)
	c.Process.Kill()
	c.Wait()
	if n := len(drv.Files()); n != 0 {
		t.Fatalf("a half-sent upload is visible: %d files", n)
	}
	spooled, _ := os.ReadDir(filepath.Join(state, "spool"))
	if len(spooled) != 1 {
		t.Fatalf("spool after the kill holds %d files, want the one encrypted copy", len(spooled))
	}
	spoolFile := filepath.Join(state, "spool", spooled[0].Name())
	ciphertext, _ := os.ReadFile(spoolFile)
	before := cloud.StatsOf("drive").UploadBytes
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once after the kill: %v\n%s", err, out)
	}
	sent := cloud.StatsOf("drive").UploadBytes
	files := drv.Files()
	if len(files) != 1 || !strings.HasSuffix(files[0].Path, "pos/big.bak.zst.age") || files[0].SHA256 != sha(ciphertext) {
		t.Fatalf("after resuming: %+v; want big.bak.zst.age holding the spooled ciphertext", files)
	}
	if sent > int64(len(ciphertext)+2*chunk) {
		t.Errorf("the service received %d bytes for a %d-byte stored file (%d before the kill): the upload started over", sent, len(ciphertext), before)
	}
	if left, _ := os.ReadDir(filepath.Join(state, "spool")); len(left) != 0 {
		t.Errorf("spool not emptied after the upload: %d files", len(left))
	}
	// And it restores to the original, through the command a shop would use.
	out := t.TempDir()
	if msg, err := e.run("restore", "cloud", "--latest", "pos", "--to", out, "--identity", keyFile); err != nil {
		t.Fatalf("restore: %v\n%s", err, msg)
	}
	got, _ := os.ReadFile(filepath.Join(out, "big.bak"))
	if !bytes.Equal(got, data) {
		t.Fatalf("restored %d bytes, not the original", len(got))
	}
	t.Logf("%d MiB file, %d-byte stored form: %.1f MiB sent before the kill, %.1f MiB in all", size>>20, len(ciphertext), float64(before)/(1<<20), float64(sent)/(1<<20))
}
