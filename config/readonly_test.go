package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadReadOnlyToleratesAMissingWatchFolder: the commands that only read
// load a config whose watched folder is gone; Load and CheckFolders still
// name the folder, the line and the fix.
func TestLoadReadOnlyToleratesAMissingWatchFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "offsite.yaml")
	os.WriteFile(file, []byte("watches:\n  - name: pos\n    path: gone\n    destinations: [usb]\ndestinations:\n  - {name: usb, type: local, path: usb}\n"), 0o600)
	if _, err := Load(file); err == nil || !strings.Contains(err.Error(), "offsite.yaml:3") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Load: %v", err)
	}
	c, err := LoadReadOnly(file)
	if err != nil {
		t.Fatalf("LoadReadOnly: %v", err)
	}
	if c.Watches[0].Path != filepath.Join(dir, "gone") {
		t.Fatalf("path %s", c.Watches[0].Path)
	}
	if err := c.CheckFolders(); err == nil || !strings.Contains(err.Error(), "offsite.yaml:3") || !strings.Contains(err.Error(), "create the folder") {
		t.Fatalf("CheckFolders: %v", err)
	}
	os.Mkdir(filepath.Join(dir, "gone"), 0o755)
	if err := c.CheckFolders(); err != nil {
		t.Fatalf("CheckFolders with the folder back: %v", err)
	}
	// Every other problem still counts.
	os.WriteFile(file, []byte("watches:\n  - name: pos\n    path: gone2\n    destinations: [nope]\n"), 0o600)
	if _, err := LoadReadOnly(file); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("LoadReadOnly of a bad config: %v", err)
	}
}
