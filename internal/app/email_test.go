package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/smtpmail/smtptest"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
)

// mailApp is an App whose watch "pos" goes to the email destination
// "mailbox" on a loopback SMTP server, with alerts to a webhook.
type mailApp struct {
	*App
	watch string
	smtp  *smtptest.Server
	hook  *hook
	logs  *lockedBuffer
}

func newMailApp(t *testing.T, destExtra, extra string) *mailApp {
	t.Helper()
	return newMailAppURL(t, func(u string) string { return u }, destExtra, extra)
}

// newMailAppURL is newMailApp with the destination's URL passed through
// edit first.
func newMailAppURL(t *testing.T, edit func(string) string, destExtra, extra string) *mailApp {
	t.Helper()
	dir := t.TempDir()
	watch, state := filepath.Join(dir, "backups"), filepath.Join(dir, "state")
	os.MkdirAll(watch, 0o755)
	s := smtptest.Start(t, smtptest.Options{})
	h := &hook{}
	hookSrv := httptest.NewServer(h)
	t.Cleanup(hookSrv.Close)
	yaml := fmt.Sprintf(`state_dir: %s
watches:
  - name: pos
    path: %s
    settle: 100ms
    destinations: [mailbox]
destinations:
  - name: mailbox
    type: email
    url: %s
%sretry:
  initial: 100ms
  max: 300ms
  alert_after: 2
notify:
  - url: %s/hook
    on: [failure, recovered]
%s`, state, watch, edit(s.URL("from=shop@example.com&to=owner@example.com,bookkeeper@example.com")), destExtra, hookSrv.URL, extra)
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	a, err := OpenConfig(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), "once")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &mailApp{App: a, watch: watch, smtp: s, hook: h, logs: logs}
}

// noPassword fails when the mail password shows in the debug log, an
// alert or the status.
func (m *mailApp) noPassword(t *testing.T) {
	t.Helper()
	var st bytes.Buffer
	status, err := m.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	status.Print(&st)
	js, _ := json.Marshal(status)
	st.Write(js)
	m.hook.mu.Lock()
	alerts := fmt.Sprint(m.hook.events)
	m.hook.mu.Unlock()
	if m.logs.String() == "" {
		t.Fatal("nothing logged: the check proves nothing")
	}
	for what, text := range map[string]string{"log": m.logs.String(), "alerts": alerts, "status": st.String()} {
		if strings.Contains(text, smtptest.Pass) {
			t.Errorf("the %s shows the mail password", what)
		}
	}
}

func (m *mailApp) write(t *testing.T, name string, data []byte) {
	t.Helper()
	p := filepath.Join(m.watch, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute) // settled
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

// attachments decodes every mail received so far.
func (m *mailApp) attachments(t *testing.T) []smtptest.Part {
	t.Helper()
	var out []smtptest.Part
	for _, ml := range m.smtp.Mails() {
		p, err := smtptest.Parse(ml.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Attachments...)
	}
	return out
}

func (m *mailApp) failures() []map[string]any {
	m.hook.mu.Lock()
	defer m.hook.mu.Unlock()
	var out []map[string]any
	for _, e := range m.hook.events {
		if e["kind"] == "failure" {
			out = append(out, e)
		}
	}
	return out
}

// A routine upload to a mailbox: one mail to both recipients whose
// attachment decodes to the backup; the job is done with the hash sent.
func TestEmailUploadIsOneMailWithTheFile(t *testing.T) {
	m := newMailApp(t, "", "")
	data := bytes.Repeat([]byte("Kassenbuch\x00\x01\xfe"), 50_000)
	m.write(t, "Kassenbuch März.xlsx", data)
	if err := m.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	mails := m.smtp.Mails()
	if len(mails) != 1 || len(mails[0].To) != 2 {
		t.Fatalf("mails %v, want one to both recipients", mails)
	}
	att := m.attachments(t)
	if len(att) != 1 || att[0].Name != "Kassenbuch März.xlsx" || sha256.Sum256(att[0].Body) != sha256.Sum256(data) {
		t.Fatalf("attachments %+v", att)
	}
	jobs, _ := m.Store.Jobs(context.Background(), queue.Filter{Destination: "mailbox", States: []queue.State{queue.Done}})
	if sum := sha256.Sum256(data); len(jobs) != 1 || jobs[0].RemoteHash != fmt.Sprintf("%x", sum) {
		t.Fatalf("done jobs %+v", jobs)
	}
	// Once more: the job is done, nothing is mailed again.
	if err := m.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(m.smtp.Mails()); n != 1 {
		t.Fatalf("%d mails after a second run", n)
	}
}

// A file over max_size: nothing is sent, one alert names the file and the
// fix, `once` fails, and later runs do not alert again.
func TestEmailOversizedFileAlertsOnce(t *testing.T) {
	m := newMailApp(t, "    max_size: 1KiB\n", "")
	m.write(t, "day.bak", make([]byte, 2048))
	if err := m.Once(context.Background()); err == nil {
		t.Fatal("once succeeded with a file it could not send")
	}
	if err := m.Once(context.Background()); err == nil {
		t.Fatal("second once succeeded")
	}
	if n := m.smtp.Attempts(); n != 0 {
		t.Fatalf("%d mails begun", n)
	}
	f := m.failures()
	if len(f) != 1 {
		t.Fatalf("%d failure alerts, want 1: %v", len(f), f)
	}
	text := fmt.Sprint(f[0]["text"])
	for _, want := range []string{"day.bak", "2 KiB, larger than the 1 KiB", "compress", "cloud"} {
		if !strings.Contains(text, want) {
			t.Errorf("alert lacks %q:\n%s", want, text)
		}
	}
	m.noPassword(t)
}

// A 452 answer is tried again and the file arrives once.
func TestEmailTemporaryRefusalIsRetried(t *testing.T) {
	m := newMailApp(t, "", "")
	m.smtp.Fail(smtptest.Fault{Step: "DATA", Code: 452, Enhanced: [3]int{4, 3, 1}, Text: "Insufficient system storage", Times: 1})
	data := []byte("monday's backup")
	m.write(t, "day.bak", data)
	if err := m.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := m.smtp.Attempts(); n != 2 {
		t.Errorf("%d mails begun, want the refused one and its retry", n)
	}
	att := m.attachments(t)
	if len(att) != 1 || !bytes.Equal(att[0].Body, data) {
		t.Fatalf("attachments %+v", att)
	}
}

// A full mailbox (552 5.2.2) pauses the destination with one alert that
// carries the server's words; the backup waits in the queue.
func TestEmailFullMailboxPausesDestination(t *testing.T) {
	m := newMailApp(t, "", "")
	m.smtp.Fail(smtptest.Fault{Step: "DATA", Code: 552, Enhanced: [3]int{5, 2, 2}, Text: "Mailbox full", Times: 100})
	m.write(t, "day.bak", []byte("tuesday"))
	_ = m.Once(context.Background())
	ctx := context.Background()
	p, paused, err := m.Store.PauseOf(ctx, "mailbox")
	if err != nil || !paused {
		t.Fatalf("mailbox not paused: %v %v", p, err)
	}
	f := m.failures()
	if len(f) != 1 {
		t.Fatalf("%d failure alerts: %v", len(f), f)
	}
	if text := fmt.Sprint(f[0]["text"]); !strings.Contains(text, "552 5.2.2 Mailbox full") || !strings.Contains(text, "delete old backup mails") {
		t.Errorf("alert:\n%s", text)
	}
	jobs, _ := m.Store.Jobs(ctx, queue.Filter{Destination: "mailbox"})
	if len(jobs) != 1 || jobs[0].State == queue.Done || jobs[0].State == queue.Dead {
		t.Fatalf("jobs %+v", jobs)
	}
	if len(m.smtp.Mails()) != 0 {
		t.Fatal("delivered")
	}
	m.noPassword(t)
}

// ls, restore, verify and prune say plainly that a mailbox cannot be
// listed, read back, verified or pruned; check sends a test mail and push
// one more mail.
func TestEmailToolsSayWhatAMailboxCannotDo(t *testing.T) {
	m := newMailApp(t, "", `schedules:
  - name: weekly
    cron: "0 18 * * FRI"
    copy_latest: pos
    destinations: [mailbox]
    keep: {weekly: 2}
`)
	ctx := context.Background()
	m.write(t, "day.bak", []byte("wednesday"))
	if err := m.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.List(ctx, "mailbox", ""); err == nil || !strings.Contains(err.Error(), "cannot be listed by offsite") || !strings.Contains(err.Error(), "save its attachment") {
		t.Errorf("ls: %v", err)
	}
	if _, err := m.Restore(ctx, "mailbox", "pos/day.bak", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "cannot be read back by offsite") {
		t.Errorf("restore: %v", err)
	}
	var out bytes.Buffer
	if bad := m.Verify(ctx, &out); bad != 0 || !strings.Contains(out.String(), "mailbox: 1 upload(s) not checked") || !strings.Contains(out.String(), "cannot be verified by offsite") {
		t.Errorf("verify = %d:\n%s", bad, out.String())
	}
	// Three weekly copies, as a schedule's runs would leave them.
	for i, day := range []string{"2026-03-06", "2026-03-13", "2026-03-20"} {
		tm, _ := time.Parse("2006-01-02", day)
		v := queue.Version{Watch: "pos", Rel: fmt.Sprintf("day%d.bak", i), Size: 1, ModTime: tm, SHA256: fmt.Sprintf("%064d", i)}
		if _, err := m.Store.Enqueue(ctx, []queue.Route{{Version: v}}); err != nil {
			t.Fatal(err)
		}
		copiedTo(t, m.App, "weekly", "mailbox", v, fmt.Sprintf("weekly/pos/day%d.bak", i))
	}
	out.Reset()
	if gone, err := m.Prune(ctx, false, &out); err != nil || len(gone) != 0 || !strings.Contains(out.String(), "nothing pruned") || !strings.Contains(out.String(), "cannot be pruned by offsite") {
		t.Errorf("prune = %v, %v:\n%s", gone, err, out.String())
	}
	out.Reset()
	if n := m.Check(ctx, &out, false); n != 0 || !strings.Contains(out.String(), "test mail sent") {
		t.Errorf("check = %d:\n%s", n, out.String())
	}
	mails := m.smtp.Mails()
	if p, _ := smtptest.Parse(mails[len(mails)-1].Data); p.Subject != "offsite test mail for mailbox" {
		t.Errorf("last mail %q", p.Subject)
	}
	f := filepath.Join(t.TempDir(), "extra.bak")
	os.WriteFile(f, []byte("pushed by hand"), 0o644)
	if _, err := m.Push(ctx, f, "mailbox", "", nil); err != nil {
		t.Fatal(err)
	}
	if att := m.attachments(t); len(att) != 2 || string(att[1].Body) != "pushed by hand" {
		t.Errorf("attachments %+v", att)
	}
}

// Done when: a weekly schedule to a mailbox delivers the newest backup as
// an attachment that decodes to the original bytes, once per week.
func TestWeeklyCopyToMailbox(t *testing.T) {
	m := newMailApp(t, "", `schedules:
  - name: weekly
    cron: "0 18 * * FRI"
    timezone: UTC
    copy_latest: pos
    destinations: [mailbox]
    verify: true
`)
	ctx := context.Background()
	m.write(t, "day 2026-03-02.bak", []byte("monday"))
	newest := bytes.Repeat([]byte("tuesday\x00"), 100_000)
	m.write(t, "day 2026-03-03.bak", newest)
	later := time.Now().Add(-30 * time.Second)
	os.Chtimes(filepath.Join(m.watch, "day 2026-03-03.bak"), later, later)
	if err := m.Once(ctx); err != nil {
		t.Fatal(err)
	}
	routine := len(m.smtp.Mails())
	var ns notes
	p := ns.pipeline(t, m.App)
	// Once has seen the schedule today; as if it last ran on a Wednesday.
	wed := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	if err := m.Store.SetLastRun(ctx, "weekly", wed); err != nil {
		t.Fatal(err)
	}
	fri := time.Date(2026, 3, 6, 18, 0, 20, 0, time.UTC)
	tick(t, m.App, p, fri)
	if got := ns.take(p); len(got) != 1 || got[0] != "schedule weekly copied mailbox:weekly/pos/day 2026-03-03.bak" {
		t.Fatalf("notes %q", got)
	}
	mails := m.smtp.Mails()[routine:]
	if len(mails) != 1 {
		t.Fatalf("%d weekly mails", len(mails))
	}
	pm, err := smtptest.Parse(mails[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pm.Subject, "Backup weekly/pos/day 2026-03-03.bak ") || len(pm.Attachments) != 1 ||
		pm.Attachments[0].Name != "day 2026-03-03.bak" || sha256.Sum256(pm.Attachments[0].Body) != sha256.Sum256(newest) {
		t.Fatalf("weekly mail %q with %d attachments", pm.Subject, len(pm.Attachments))
	}
	// The same Friday again, and a run repeated for the same newest file:
	// nothing is mailed twice.
	tick(t, m.App, p, fri.Add(time.Hour))
	if err := m.Store.SetLastRun(ctx, "weekly", wed); err != nil {
		t.Fatal(err)
	}
	tick(t, m.App, p, fri.Add(2*time.Hour))
	if n := len(m.smtp.Mails()) - routine; n != 1 {
		t.Fatalf("%d weekly mails after repeated runs", n)
	}
}

// mailedAs returns the attachments of the mails sent for remote path name.
func mailedAs(t *testing.T, s *smtptest.Server, name string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, ml := range s.Mails() {
		p, err := smtptest.Parse(ml.Data)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.Subject, "Backup "+providers.EscapeName(name)+" ") && len(p.Attachments) == 1 {
			out = append(out, p.Attachments[0].Body)
		}
	}
	return out
}

// A refused login pauses the mailbox; the alert and the status say to fix
// the password in the url, not to run `offsite auth`.
func TestEmailRefusedLoginSaysFixTheURL(t *testing.T) {
	m := newMailAppURL(t, func(u string) string { return strings.Replace(u, smtptest.Pass, "Wr0ng-passw0rd-123", 1) }, "", "")
	m.write(t, "day.bak", []byte("thursday"))
	_ = m.Once(context.Background())
	st, err := m.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var fix string
	for _, c := range st.Health() {
		if c.Subject == "destination mailbox" && c.Reason == "paused" {
			fix = c.Fix
		}
	}
	if !strings.Contains(fix, "user and password in the destination's url") || strings.Contains(fix, "offsite auth") {
		t.Errorf("status fix %q", fix)
	}
	f := m.failures()
	if len(f) != 1 {
		t.Fatalf("%d alerts", len(f))
	}
	if text := fmt.Sprint(f[0]["text"]); !strings.Contains(text, "535") || !strings.Contains(text, "app password") || strings.Contains(text, "offsite auth") || strings.Contains(text, "Wr0ng") {
		t.Errorf("alert:\n%s", text)
	}
}
