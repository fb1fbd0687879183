package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/setup"
)

// wizard is `offsite init`'s wizard as Wizard wires it, answering from in,
// minus logins and the service: its notify test and check are the real
// commands against the config it writes.
func wizard(t *testing.T, cfgPath string, in io.Reader, out *strings.Builder) *setup.Wizard {
	w := Wizard(Command{Stderr: io.Discard}, cfgPath, in, out)
	w.Prompt = setup.NewPrompt(in, out, nil)
	w.Finder = setup.Finder{Roots: []string{}}
	w.Steps.Auth = nil
	w.Steps.InstallService = func(context.Context, string, io.Writer) error {
		t.Error("the service was installed although the answer was no")
		return nil
	}
	return w
}

func lines(ls ...string) io.Reader { return strings.NewReader(strings.Join(ls, "\n") + "\n") }

// TestWizardThroughAPipe answers every question from a reader, wrong
// answers included, and gets a config that check accepts: the suggested
// watch folder, a local destination it created, a webhook that received
// the test alert.
func TestWizardThroughAPipe(t *testing.T) {
	dir := t.TempDir()
	watch := filepath.Join(dir, "POS Backup")
	usb := filepath.Join(dir, "usb")
	for _, d := range []string{watch, usb} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(watch, "day.bak"), []byte("backup"), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var hooks []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		hooks = append(hooks, m)
		mu.Unlock()
	}))
	defer srv.Close()

	cfgPath := filepath.Join(dir, "offsite.yaml")
	var out strings.Builder
	in := lines(
		"7",                            // no such suggestion: asked again
		"1",                            // the suggested folder
		"",                             // no other folder
		"x",                            // not a number: asked again
		"1",                            // a folder
		filepath.Join(watch, "copies"), // inside the watch: asked again
		filepath.Join(usb, "offsite"),  // does not exist yet
		"y",                            // create it
		"n",                            // nowhere else
		"",                             // daily backups
		"2",                            // webhook
		"ftp://example.com/x",          // not a web address: asked again
		srv.URL+"/hook",
		"n", // no service
	)
	w := wizard(t, cfgPath, in, &out)
	w.Finder = setup.Finder{Roots: []string{dir}}
	if err := w.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"1) " + watch,
		"there is no folder 7 in the list",
		"answer with a number from 1 to 4",
		"inside the watched folder",
		"give the full address, starting with https://",
		"test message sent",
		"reachable and writable",
		"offsite run -c " + cfgPath,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "✗") {
		t.Errorf("a step failed:\n%s", got)
	}

	fi, err := os.Stat(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600", fi.Mode().Perm())
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	if len(cfg.Watches) != 1 || cfg.Watches[0].Path != watch || cfg.Watches[0].Name != "pos-backup" ||
		time.Duration(cfg.Watches[0].ExpectEvery) != 26*time.Hour {
		t.Errorf("watches = %+v", cfg.Watches)
	}
	if len(cfg.Destinations) != 1 || cfg.Destinations[0].Type != "local" || cfg.Destinations[0].Path != filepath.Join(usb, "offsite") {
		t.Errorf("destinations = %+v", cfg.Destinations)
	}
	if len(cfg.Notify) != 1 || cfg.Notify[0].URL != srv.URL+"/hook" {
		t.Errorf("notify = %+v", cfg.Notify)
	}
	if cfg.StateDir != filepath.Join(dir, "offsite-state") {
		t.Errorf("state_dir = %s", cfg.StateDir)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hooks) != 1 {
		t.Errorf("webhook got %d messages, want the one test alert", len(hooks))
	}
	body, _ := os.ReadFile(cfgPath)
	for _, key := range []string{"state_dir:", "watches:", "settle:", "expect_every:", "destinations:", "notify:"} {
		i := strings.Index(string(body), key)
		if i < 0 {
			t.Errorf("config lacks %s", key)
			continue
		}
		// Every key the wizard wrote is explained on its line or just above it.
		before := string(body[:i])
		line := string(body[i:])
		line = line[:strings.IndexByte(line, '\n')]
		prev := strings.TrimSpace(before[strings.LastIndex(strings.TrimRight(before, " \n"), "\n")+1:])
		if !strings.Contains(line, "#") && !strings.HasPrefix(prev, "#") {
			t.Errorf("%s has no comment:\n%s", key, body)
		}
	}
}

// TestWizardAsksAgainWhenTheTestAlertFails: a test alert that does not go
// out lets the address be given again, and the config is rewritten with
// the one that works.
func TestWizardAsksAgainWhenTheTestAlertFails(t *testing.T) {
	dir := t.TempDir()
	watch, usb := filepath.Join(dir, "w"), filepath.Join(dir, "u")
	for _, d := range []string{watch, usb} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var got sync.WaitGroup
	got.Add(1)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Done() }))
	defer good.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/hook"
	dead.Close() // nothing listens there now

	cfgPath := filepath.Join(dir, "offsite.yaml")
	var out strings.Builder
	in := lines(watch, "", "1", usb, "n", "", "2", deadURL, "", "2", good.URL+"/hook", "n")
	w := wizard(t, cfgPath, in, &out)
	if err := w.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	got.Wait()
	for _, want := range []string{"test message not delivered", "Give the alert address again?", "Wrote the new address", "test message sent"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Notify) != 1 || cfg.Notify[0].URL != good.URL+"/hook" {
		t.Errorf("notify = %+v, want the working address only", cfg.Notify)
	}
	if _, err := os.Stat(cfgPath + ".old"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("rewriting its own config left a .old: %v", err)
	}
	if fi, err := os.Stat(cfgPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("rewritten config: %v, %v", fi.Mode(), err)
	}
}
