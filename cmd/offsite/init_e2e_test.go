package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestInitExampleWritesTheShippedExample: `init --example` writes the same
// annotated config that ships beside the program, to -c or ./offsite.yaml,
// and never over an existing file.
func TestInitExampleWritesTheShippedExample(t *testing.T) {
	want, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(offsiteBin, "init", "--example")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init --example: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("offsite.yaml differs from config.example.yaml (%d bytes, want %d)", len(got), len(want))
	}

	// An existing file is kept as it was, and the error says what to do.
	path := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(path, []byte("# mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(offsiteBin, "init", "--example", "-c", path).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already exists") || !strings.Contains(string(out), "-c NEWFILE") {
		t.Errorf("init --example over an existing file: err %v, output %s", err, out)
	}
	if b, _ := os.ReadFile(path); string(b) != "# mine\n" {
		t.Errorf("existing config overwritten: %q", b)
	}

	other := filepath.Join(dir, "other.yaml")
	if out, err := exec.Command(offsiteBin, "init", "--example", "-c", other).CombinedOutput(); err != nil {
		t.Fatalf("init --example -c: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(other); string(b) != string(want) {
		t.Error("-c path did not get the example")
	}
}

// TestVersionWithoutStamp: a plain `go build` still answers `version`, with
// placeholder or toolchain-recorded values instead of failing.
func TestVersionWithoutStamp(t *testing.T) {
	out, err := exec.Command(offsiteBin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "offsite ") || !strings.HasPrefix(lines[1], "commit: ") || !strings.HasPrefix(lines[2], "date: ") {
		t.Fatalf("version printed %q", out)
	}
}

// TestInitWizardThroughAPipe: `offsite init` without flags asks, and
// answers piped in work like typed ones: it suggests the folder under the
// home folder that holds a recent backup, asks again after a wrong
// answer, sends the test alert to the webhook, and writes a config that
// `offsite check` accepts.
func TestInitWizardThroughAPipe(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	backups := filepath.Join(home, "Documents", "Shop Backups")
	usb := filepath.Join(dir, "usb")
	for _, d := range []string{backups, usb} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(backups, "day.bak"), []byte("backup"), 0o644); err != nil {
		t.Fatal(err)
	}
	var alerts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); strings.Contains(string(b), "test") {
			alerts.Add(1)
		}
	}))
	defer srv.Close()

	cfg := filepath.Join(dir, "offsite.yaml")
	answers := strings.Join([]string{
		"9", // not in the list
		"1", // the suggested folder
		"",  // no other
		"1", // a folder
		usb,
		"n", // nowhere else
		"",  // daily
		"2", // webhook
		srv.URL + "/alerts",
		"n", // no service
	}, "\n") + "\n"
	cmd := exec.Command(offsiteBin, "init", "-c", cfg)
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.Stdin = strings.NewReader(answers)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	for _, want := range []string{"1) " + backups, "there is no folder 9 in the list", "test message sent", "reachable and writable"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	if n := alerts.Load(); n != 1 {
		t.Errorf("webhook got %d test alerts, want 1", n)
	}
	if out, err := exec.Command(offsiteBin, "check", "--no-notify", "-c", cfg).CombinedOutput(); err != nil {
		t.Fatalf("check refuses the written config: %v\n%s", err, out)
	}
	body, _ := os.ReadFile(cfg)
	if !strings.Contains(string(body), "path: '"+backups+"'") || !strings.Contains(string(body), "path: '"+usb+"'") {
		t.Errorf("config does not name the chosen folders:\n%s", body)
	}

	// Run again: the existing config is kept unless the answer is yes.
	cmd = exec.Command(offsiteBin, "init", "-c", cfg)
	cmd.Stdin = strings.NewReader("\n")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Kept") {
		t.Errorf("second init: %v\n%s", err, out)
	}
	if again, _ := os.ReadFile(cfg); string(again) != string(body) {
		t.Error("the config changed although the answer was to keep it")
	}

	// Half the flags is a mistake, not a reason to start asking.
	if out, err := exec.Command(offsiteBin, "init", "--watch", backups, "-c", filepath.Join(dir, "x.yaml")).CombinedOutput(); err == nil || !strings.Contains(string(out), "--to") {
		t.Errorf("init --watch alone: %v\n%s", err, out)
	}
}
