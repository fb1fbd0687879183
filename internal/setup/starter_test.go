package setup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offsite-backup/offsite/config"
)

// TestStarterConfigLoads: the config `init --watch --to` writes is valid,
// watches the folder (even one with a quote in its name) and keeps its
// state beside itself; a second write never replaces it.
func TestStarterConfigLoads(t *testing.T) {
	dir := t.TempDir()
	watch := filepath.Join(dir, "Kassa's backups")
	to := filepath.Join(dir, "usb")
	for _, d := range []string{watch, to} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "offsite.yaml")
	if err := WriteNew(path, Starter(path, watch, to, "pos")); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Watches) != 1 || cfg.Watches[0].Name != "pos" || cfg.Watches[0].Path != watch ||
		len(cfg.Destinations) != 1 || cfg.Destinations[0].Path != to || cfg.StateDir != filepath.Join(dir, "offsite-state") {
		t.Errorf("starter config: %+v", cfg)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode: %v %v", fi, err)
	}
	if err := WriteNew(path, "# other\n"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second write: %v", err)
	}
	if b, _ := os.ReadFile(path); strings.HasPrefix(string(b), "# other") {
		t.Error("the config was replaced")
	}
}
