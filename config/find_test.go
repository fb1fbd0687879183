package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	home := filepath.Join(dir, "home")
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("AppData", filepath.Join(home, "AppData"))

	if _, err := Find(""); err == nil || !strings.Contains(err.Error(), "offsite.yaml") || !strings.Contains(err.Error(), "offsite init") {
		t.Fatalf("Find with no file = %v, want an error listing where it looked", err)
	}
	user := SearchPath()[1]
	if err := os.MkdirAll(filepath.Dir(user), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(user, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Find(""); err != nil || got != user {
		t.Fatalf("Find = %q, %v; want the user config %q", got, err, user)
	}
	if err := os.WriteFile("offsite.yaml", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Find(""); err != nil || got != "offsite.yaml" {
		t.Fatalf("Find = %q, %v; want ./offsite.yaml first", got, err)
	}
	if got, err := Find(user); err != nil || got != user {
		t.Fatalf("Find(flag) = %q, %v; want the flag's file", got, err)
	}
	if _, err := Find("missing.yaml"); err == nil || !strings.Contains(err.Error(), "missing.yaml") || !strings.Contains(err.Error(), "offsite init") {
		t.Fatalf("Find(missing flag file) = %v, want an error naming it and offsite init", err)
	}
	if _, err := Find(dir); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Fatalf("Find(folder) = %v, want an error", err)
	}
}
