package setup

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offsite-backup/offsite"
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
	if err := WriteNew(filepath.Join(dir, "nope", "x.yaml"), "# x\n"); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nope")+" does not exist") {
		t.Errorf("a config in a folder that is not there: %v", err)
	}
	if b, _ := os.ReadFile(path); strings.HasPrefix(string(b), "# other") {
		t.Error("the config was replaced")
	}
}

// TestQuickTakesBothFoldersOrTheExample: `init` with flags writes the
// starter or the annotated example, and refuses a half answer or a mix
// before writing anything.
func TestQuickTakesBothFoldersOrTheExample(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "offsite.yaml")
	watch, usb := filepath.Join(dir, "pos"), filepath.Join(dir, "usb")
	if err := os.Mkdir(watch, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, q := range []Quick{{Watch: dir}, {To: dir}, {Example: true, Watch: dir},
		{Watch: filepath.Join(dir, "nope"), To: dir, Name: "pos"}, // a typo in the folder
		{Watch: dir, To: dir, Name: "my backups"},                 // a name the config refuses
	} {
		q.Path = path
		if err := q.Write(io.Discard); err == nil {
			t.Errorf("%+v: written", q)
		}
		if _, err := os.Stat(path); err == nil {
			t.Fatalf("%+v: a refused init left a config", q)
		}
		if _, err := os.Stat(filepath.Join(dir, "E")); err == nil {
			t.Fatalf("%+v: a refused init made a folder", q)
		}
	}
	var out strings.Builder
	if err := (Quick{Path: path, Example: true}).Write(&out); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != offsite.ExampleConfig() {
		t.Error("--example did not write the annotated example")
	}
	if !strings.Contains(out.String(), "next: offsite check -c "+path) {
		t.Errorf("output does not say what is next: %q", out.String())
	}
	if err := (Quick{Path: path, Watch: watch, To: usb, Name: "pos"}).Write(io.Discard); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second init: %v", err)
	}
	if _, err := os.Stat(usb); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused init left the copies' folder it made: %v", err)
	}

	// A folder for the copies that is not there yet is made, as the
	// wizard offers, when the disk it would be on is there.
	other := filepath.Join(dir, "other.yaml")
	out.Reset()
	if err := (Quick{Path: other, Watch: watch, To: usb, Name: "pos"}).Write(&out); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(usb); err != nil || !fi.IsDir() || !strings.Contains(out.String(), "created the folder "+usb) {
		t.Errorf("the copies' folder: %v; output %q", err, out.String())
	}
	if _, err := config.Load(other); err != nil {
		t.Errorf("the written config does not load: %v", err)
	}
}
