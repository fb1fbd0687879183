package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadExample parses config.example.yaml with its folders replaced by temp
// dirs and its ${VARS} set, as a user who copied it would.
func loadExample(t *testing.T) *Config {
	t.Helper()
	data, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	text := string(data)
	for _, p := range []string{"/srv/pos/backup", "/srv/accounts/backup", "/media/usb/backups"} {
		if !strings.Contains(text, p) {
			t.Fatalf("example no longer names %s; update this test", p)
		}
		dir := filepath.Join(tmp, filepath.Base(filepath.Dir(p)), filepath.Base(p))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		text = strings.ReplaceAll(text, p, filepath.ToSlash(dir))
	}
	for _, v := range []string{"GDRIVE_CLIENT_ID", "GDRIVE_CLIENT_SECRET", "DROPBOX_APP_KEY", "ONEDRIVE_CLIENT_ID", "SMTP_PASSWORD", "HEALTHCHECK_UUID", "OFFSITE_PASSPHRASE"} {
		t.Setenv(v, "value-of-"+v)
	}
	c, err := Parse([]byte(text), filepath.Join(tmp, "offsite.yaml"))
	if err != nil {
		t.Fatalf("config.example.yaml does not load:\n%v", err)
	}
	return c
}

func TestExampleLoads(t *testing.T) {
	c := loadExample(t)
	if got, want := len(c.Watches), 2; got != want {
		t.Errorf("watches = %d, want %d", got, want)
	}
	if d := c.Destination("cloud"); d == nil || d.ClientSecret != "value-of-GDRIVE_CLIENT_SECRET" {
		t.Errorf("cloud destination = %+v, want client_secret from the environment", d)
	}
	if got, want := c.StateDir, filepath.Join(filepath.Dir(c.File), "offsite-state"); got != want {
		t.Errorf("state_dir = %q, want %q (relative to the file)", got, want)
	}
}

// TestExampleDocumentsEveryKey keeps config.example.yaml and docs/config.md
// from drifting: every key the code knows must be written in the example and
// have a section in the reference.
func TestExampleDocumentsEveryKey(t *testing.T) {
	c := loadExample(t)
	written := map[string]bool{}
	for p := range c.lines {
		written[schemaPath(p)] = true
	}
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range KeyPaths() {
		// keep's keys mean the same under destinations and schedules, so
		// one example and one section cover both.
		heading := k
		if i := strings.Index(k, ".keep."); i >= 0 {
			heading = k[i+1:]
			if written["destinations[]."+heading] {
				written[k] = true
			}
		}
		if !written[k] && k != "destinations[].endpoint" {
			t.Errorf("config.example.yaml does not set %s", k)
		}
		if !strings.Contains(string(doc), "### `"+heading+"`") {
			t.Errorf("docs/config.md has no section ### `%s`", heading)
		}
	}
	// endpoint is documented as a comment: a user must not copy it by accident.
	if !strings.Contains(string(mustRead(t, "../config.example.yaml")), "# endpoint:") {
		t.Error("config.example.yaml does not mention endpoint")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// schemaPath turns "watches[1].settle" into "watches[].settle".
func schemaPath(p string) string {
	var b strings.Builder
	skip := false
	for _, r := range p {
		switch {
		case r == '[':
			skip = true
			b.WriteString("[]")
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return strings.TrimSuffix(b.String(), "[]")
}
