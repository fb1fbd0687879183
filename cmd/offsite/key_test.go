package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offsite-backup/offsite/codec"
)

func TestKeyGenerateWritesAPrivateFileAndPrintsThePublicKey(t *testing.T) {
	out := filepath.Join(t.TempDir(), "shop-key.txt")
	var stdout bytes.Buffer
	root := newRoot(&stdout, &stdout)
	root.SetArgs([]string{"key", "generate", "--out", out})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 && os.PathSeparator == '/' {
		t.Errorf("key file mode %v, want 0600", perm)
	}
	ids, err := codec.ReadIdentities(out)
	if err != nil || len(ids) != 1 {
		t.Fatalf("read back: %v", err)
	}
	public := codec.PublicKeys(ids)[0]
	if !strings.Contains(stdout.String(), "public key: "+public) {
		t.Errorf("output does not print the public key %s:\n%s", public, stdout.String())
	}
	if strings.Contains(stdout.String(), "AGE-SECRET-KEY-") {
		t.Error("with --out the private key must not be printed")
	}
	if !strings.Contains(stdout.String(), "loses every backup") {
		t.Errorf("no warning about losing the key:\n%s", stdout.String())
	}
	// Never overwrite: it could be the only key to older backups.
	root = newRoot(&stdout, &stdout)
	root.SetArgs([]string{"key", "generate", "--out", out})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second generate over the same file: %v", err)
	}
	if again, _ := codec.ReadIdentities(out); codec.PublicKeys(again)[0] != public {
		t.Fatal("the key file was replaced")
	}
}
