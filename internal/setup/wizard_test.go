package setup

import (
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/notify"
)

func lines(ls ...string) io.Reader { return strings.NewReader(strings.Join(ls, "\n") + "\n") }

// TestWizardKeepsAnExistingConfig: the config is replaced only when the
// user says so, and then the old one is kept beside it.
func TestWizardKeepsAnExistingConfig(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "offsite.yaml")
	if err := os.WriteFile(cfgPath, []byte("# mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, answer := range []string{"", "n", "no"} {
		var out strings.Builder
		w := &Wizard{Prompt: NewPrompt(lines(answer), &out, nil), Out: &out, CfgPath: cfgPath}
		if err := w.Run(context.Background()); err != nil || !strings.Contains(out.String(), "Kept "+cfgPath+" as it is") {
			t.Errorf("answer %q: err %v, output %q; want it kept, and said", answer, err, out.String())
		}
		if b, _ := os.ReadFile(cfgPath); string(b) != "# mine\n" {
			t.Fatalf("answer %q: config changed to %q", answer, b)
		}
	}

	watch, usb := filepath.Join(dir, "w"), filepath.Join(dir, "u")
	for _, d := range []string{watch, usb} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	in := lines("maybe", "y", watch, "", "1", usb, "n", "3", "3")
	w := &Wizard{Prompt: NewPrompt(in, &out, nil), Out: &out, CfgPath: cfgPath}
	if err := w.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "answer y (yes) or n (no)") {
		t.Errorf("a wrong yes/no answer was not asked again:\n%s", out.String())
	}
	if b, _ := os.ReadFile(cfgPath + ".old"); string(b) != "# mine\n" {
		t.Errorf("old config not kept: %q", b)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Watches[0].ExpectEvery != 0 || len(cfg.Notify) != 0 {
		t.Errorf("no alert chosen, got expect_every %v, notify %v", cfg.Watches[0].ExpectEvery, cfg.Notify)
	}
}

// TestWizardStopsWhenTheAnswersRunOut: a pipe with too few answers ends
// with an error naming the question, and nothing is written.
func TestWizardStopsWhenTheAnswersRunOut(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "offsite.yaml")
	var out strings.Builder
	w := &Wizard{Prompt: NewPrompt(lines(dir), &out, nil), Out: &out, CfgPath: cfgPath, Finder: Finder{Roots: []string{}}}
	err := w.Run(context.Background())
	if !errors.Is(err, ErrNoAnswer) || !strings.Contains(err.Error(), "Folder") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("err = %v, want ErrNoAnswer naming the question", err)
	}
	if _, err := os.Stat(cfgPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a config was written: %v", err)
	}
}

// TestSMTPAnswersBecomeAURLTheConfigReadsBack: a password with $ and ${ in
// it is stored so that the config reads it back as typed, not as a
// variable; a ${VAR} answer stays a reference.
func TestSMTPAnswersBecomeAURLTheConfigReadsBack(t *testing.T) {
	t.Setenv("X", "expanded")
	t.Setenv("SMTP_PASSWORD", "from-env")
	dir := t.TempDir()
	for _, tc := range []struct{ typed, want string }{
		{"pa${X}ss$$ w@rd", "pa${X}ss$$ w@rd"},
		{"${SMTP_PASSWORD}", "from-env"},
	} {
		var out strings.Builder
		w := &Wizard{Prompt: NewPrompt(lines("owner@example.com, tech@example.com", "mail.example.com", "mail.example.com:587", "shop@example.com", tc.typed), &out, nil)}
		u, err := w.askSMTP()
		if err != nil {
			t.Fatalf("askSMTP: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "give the server and the port") {
			t.Errorf("a server without a port was taken:\n%s", out.String())
		}
		body := Render(Plan{StateDir: dir, Watches: []Watch{{Name: "w", Path: t.TempDir()}},
			Destinations: []Destination{{Name: "u", Type: "local", Path: filepath.Join(dir, "u")}}, Notify: []string{u}})
		cfg, err := config.Parse([]byte(body), filepath.Join(dir, "offsite.yaml"))
		if err != nil {
			t.Fatalf("config refused %s: %v", body, err)
		}
		got := cfg.Notify[0].URL
		// The mail sender takes it too (it parses every option up front).
		if _, err := notify.ParseChannels([]string{got}, nil); err != nil {
			t.Errorf("notify refuses %s: %v", notify.Redact(got), err)
		}
		pu, err := parseURL(got)
		if err != nil {
			t.Fatal(err)
		}
		if pass, _ := pu.User.Password(); pass != tc.want || pu.User.Username() != "shop@example.com" {
			t.Errorf("typed %q: URL user %q password %q, want %q", tc.typed, pu.User.Username(), pass, tc.want)
		}
		if q := pu.Query(); q.Get("to") != "owner@example.com,tech@example.com" || q.Get("from") != "shop@example.com" {
			t.Errorf("query %v", q)
		}
	}
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }

// TestRenderPollsNetworkShares: a watch on a share gets poll, since no
// change events arrive from one; a local folder does not.
func TestRenderPollsNetworkShares(t *testing.T) {
	body := Render(Plan{StateDir: "/s", Watches: []Watch{{Name: "nas", Path: `\\nas\pos`}, {Name: "local", Path: "/srv/pos"}},
		Destinations: []Destination{{Name: "copy", Type: "local", Path: "/mnt/usb"}}})
	if n := strings.Count(body, "poll: 1m"); n != 1 || strings.Index(body, "poll: 1m") > strings.Index(body, "name: local") {
		t.Errorf("poll lines: %d, want one for the share:\n%s", n, body)
	}
}

// TestWizardLogsACloudIn: a cloud destination keeps a ${VAR} client ID as
// a reference, and its login step reads the pasted code from the same
// input as the questions, so piped answers can carry it.
func TestWizardLogsACloudIn(t *testing.T) {
	t.Setenv("DROPBOX_APP_KEY", "app-key")
	dir := t.TempDir()
	watch := filepath.Join(dir, "w")
	if err := os.Mkdir(watch, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "offsite.yaml")
	var out strings.Builder
	in := lines(watch, "", "3", `\Shop\Backups\`, "", "${DROPBOX_APP_KEY}", "", "n", "1", "3", "", "PASTED-CODE", "n")
	var authed, code string
	w := &Wizard{Prompt: NewPrompt(in, &out, nil), Out: &out, CfgPath: cfgPath, Steps: Steps{
		Auth: func(_ context.Context, cfg, dest string, in io.Reader, _ io.Writer) error {
			if cfg != cfgPath {
				t.Errorf("auth got config %s", cfg)
			}
			authed = dest
			b := make([]byte, 64)
			n, _ := in.Read(b)
			code, _, _ = strings.Cut(string(b[:n]), "\n")
			return nil
		},
		Check: func(context.Context, string, io.Writer) (int, error) { return 1, nil },
		InstallService: func(context.Context, string, io.Writer) error {
			t.Error("the service was offered although check found a problem")
			return nil
		},
	}}
	if err := w.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if authed != "dropbox" || code != "PASTED-CODE" {
		t.Errorf("auth for %q read %q", authed, code)
	}
	if !strings.Contains(out.String(), "Fix what is marked ✗ above, then run: offsite check -c "+cfgPath) {
		t.Errorf("a failed check does not say what to do:\n%s", out.String())
	}
	body, _ := os.ReadFile(cfgPath)
	for _, want := range []string{"client_id: '${DROPBOX_APP_KEY}'", "folder: 'Shop/Backups'", "type: dropbox"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("config lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(string(body), "client_secret") {
		t.Errorf("an empty secret was written:\n%s", body)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.Destination("dropbox"); d == nil || d.ClientID != "app-key" || d.Folder != "Shop/Backups" {
		t.Errorf("dropbox destination %+v", d)
	}
}

// TestWizardStopsOnCancel: Ctrl+C while a question waits ends the wizard
// at once, without writing anything.
func TestWizardStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	w := &Wizard{Prompt: NewPrompt(pr, &out, nil), Out: io.Discard, CfgPath: filepath.Join(dir, "offsite.yaml"), Finder: Finder{Roots: []string{}}}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	time.Sleep(50 * time.Millisecond) // waiting for the first answer
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, ErrInterrupted) {
			t.Errorf("err = %v, want ErrInterrupted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wizard kept waiting for an answer after cancel")
	}
	if _, err := os.Stat(filepath.Join(dir, "offsite.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a config was written: %v", err)
	}
}
