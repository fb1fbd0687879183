package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/expect"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/notify/outboxtest"
	"github.com/offsite-backup/offsite/queue"
)

type sqliteBox struct {
	outbox
	file string
}

func TestQueueOutboxKeepsTheOutboxContract(t *testing.T) {
	open := func(t *testing.T, file string) notify.Outbox {
		s, err := queue.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return sqliteBox{outbox{s}, file}
	}
	outboxtest.Run(t, outboxtest.Options{
		New: func(t *testing.T) notify.Outbox { return open(t, filepath.Join(t.TempDir(), "q.db")) },
		Reopen: func(t *testing.T, box notify.Outbox) notify.Outbox {
			b := box.(sqliteBox)
			b.s.Close()
			return open(t, b.file)
		},
	})
}

func testApp(t *testing.T) (*App, string) {
	t.Helper()
	dir := t.TempDir()
	watch, usb := filepath.Join(dir, "backups"), filepath.Join(dir, "usb")
	os.MkdirAll(watch, 0o755)
	os.MkdirAll(usb, 0o755)
	yaml := "state_dir: " + filepath.Join(dir, "state") + `
watches:
  - name: pos
    path: ` + watch + `
    settle: 100ms
    destinations: [usb]
destinations:
  - name: usb
    type: local
    path: ` + usb + "\n"
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := OpenConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, dir
}

func TestPushRestoreVerifyAndCheck(t *testing.T) {
	a, dir := testApp(t)
	ctx := context.Background()
	src := filepath.Join(dir, "ledger.xlsx")
	os.WriteFile(src, []byte("ledger v1"), 0o644)
	rf, err := a.Push(ctx, src, "usb", "", nil)
	if err != nil || rf.Path != "ledger.xlsx" {
		t.Fatalf("push: %+v %v", rf, err)
	}
	// Same content again: nothing new. New content: stored beside, never over.
	if rf2, _ := a.Push(ctx, src, "usb", "", nil); rf2.Path != "ledger.xlsx" {
		t.Fatalf("identical push stored %q", rf2.Path)
	}
	os.WriteFile(src, []byte("ledger v2, longer"), 0o644)
	rf3, err := a.Push(ctx, src, "usb", "", nil)
	if err != nil || !strings.HasPrefix(rf3.Path, "ledger.") || rf3.Path == "ledger.xlsx" {
		t.Fatalf("changed push: %+v %v", rf3, err)
	}
	out := filepath.Join(dir, "restored.xlsx")
	if _, err := a.Restore(ctx, "usb", "ledger.xlsx", out); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "ledger v1" {
		t.Fatalf("restored %q", b)
	}
	if _, err := a.Restore(ctx, "usb", "ledger.xlsx", out); err == nil {
		t.Fatal("restore overwrote an existing file")
	}
	var buf bytes.Buffer
	if n := a.Check(ctx, &buf, true); n != 0 {
		t.Fatalf("check found %d problems:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "✓ destination usb") {
		t.Fatalf("check output:\n%s", buf.String())
	}
	os.RemoveAll(filepath.Join(dir, "usb"))
	buf.Reset()
	if n := a.Check(ctx, &buf, true); n != 1 || !strings.Contains(buf.String(), "plug in the backup disk") {
		t.Fatalf("check with the disk gone: %d\n%s", n, buf.String())
	}
}

func TestPauseSilencesAndExpires(t *testing.T) {
	a, _ := testApp(t)
	ctx := context.Background()
	until := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	if err := a.Pause(ctx, "pos", until, true); err != nil {
		t.Fatal(err)
	}
	if got := a.silencedUntil(ctx, "pos"); !got.Equal(until) {
		t.Fatalf("silenced until %v, want %v", got, until)
	}
	if got := a.held(time.Now()); len(got) != 1 || got[0] != "pos" {
		t.Fatalf("held watches %v", got)
	}
	if got := a.held(until.Add(time.Second)); len(got) != 0 {
		t.Fatalf("hold did not end by itself: %v", got)
	}
	if err := a.Pause(ctx, "nope", until, false); err == nil {
		t.Fatal("pause of an unknown watch accepted")
	}
	a.Pause(ctx, "pos", time.Time{}, false)
	if got := a.silencedUntil(ctx, "pos"); !got.IsZero() {
		t.Fatalf("resume left a silence until %v", got)
	}
	if got := a.held(time.Now()); len(got) != 0 {
		t.Fatalf("resume left uploads held: %v", got)
	}
}

// TestMissedBackupAlertRespectsSilenceAcrossRestart drives the producer
// monitor with chosen times: a watch expecting a backup every 26h alerts
// once it is overdue, repeats only once a day, stays quiet while silenced
// (the silence surviving a reopen of the state), and speaks again after.
func TestMissedBackupAlertRespectsSilenceAcrossRestart(t *testing.T) {
	a, _ := testApp(t)
	a.Cfg.Watches[0].ExpectEvery = config.Duration(26 * time.Hour)
	ctx := context.Background()
	p, err := a.pipeline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkers := map[string]*expect.Checker{}
	c, _ := expect.New(expect.Rule{Every: 26 * time.Hour})
	checkers["pos"] = c
	start := time.Now()
	a.Store.WatchingSince(ctx, "pos", start)
	missed := func() int {
		box := outbox{a.Store}
		msgs, err := box.Due(ctx, start.Add(1000*time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range msgs {
			if m.Event.Kind == notify.KindMissed {
				n++
			}
		}
		return n
	}
	// The outbox only holds messages for channels; give it one.
	p.notifier = notify.New([]notify.Channel{{ID: "hook", URL: "http://127.0.0.1:1/hook", On: []notify.Kind{notify.KindMissed}}}, outbox{a.Store}, a.Log)
	m := a.monitorFor(p)
	m.Checkers = checkers
	m.CheckProducers(ctx, start.Add(25*time.Hour))
	if n := missed(); n != 0 {
		t.Fatalf("alert before the window ended: %d", n)
	}
	m.CheckProducers(ctx, start.Add(27*time.Hour))
	m.CheckProducers(ctx, start.Add(30*time.Hour))
	if n := missed(); n != 1 {
		t.Fatalf("%d missed alerts on the first day, want 1", n)
	}
	// Summer closure: silenced for ten days, across a restart of the state.
	if err := a.Pause(ctx, "pos", start.Add(300*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	cfg := a.Cfg
	a.Close()
	a2, err := OpenConfig(cfg, a.Log, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	a.Store = a2.Store
	p.notifier = notify.New([]notify.Channel{{ID: "hook", URL: "http://127.0.0.1:1/hook", On: []notify.Kind{notify.KindMissed}}}, outbox{a2.Store}, a2.Log)
	m2 := a2.monitorFor(p)
	m2.Checkers = checkers
	m2.CheckProducers(ctx, start.Add(100*time.Hour))
	m2.CheckProducers(ctx, start.Add(200*time.Hour))
	if n := missed(); n != 1 {
		t.Fatalf("alerts while silenced: %d missed messages, want still 1", n)
	}
	// After the silence the window restarts from its end.
	m2.CheckProducers(ctx, start.Add(320*time.Hour))
	if n := missed(); n != 1 {
		t.Fatalf("alert right after the silence ended: %d", n)
	}
	m2.CheckProducers(ctx, start.Add(327*time.Hour))
	if n := missed(); n != 2 {
		t.Fatalf("no alert once overdue after the silence: %d", n)
	}
}

func TestMetricsAndHealthz(t *testing.T) {
	a, dir := testApp(t)
	ctx := context.Background()
	src := filepath.Join(dir, "backups", "day.bak")
	os.WriteFile(src, []byte("backup"), 0o644)
	if err := a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := a.pipeline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.httpHandler(p))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	if code != 200 || !strings.Contains(body, `offsite_uploaded_files_total{destination="usb"} 1`) ||
		!strings.Contains(body, `offsite_queue_depth{destination="usb"} 0`) {
		t.Fatalf("/metrics %d:\n%s", code, body)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"name":"usb"`) {
		t.Fatalf("/healthz %d: %s", code, body)
	}
	a.Store.PauseDestination(ctx, "usb", "quota", "disk full", time.Now().Add(time.Hour))
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/healthz with a paused destination = %d, want 503", code)
	}
}

// TestConfigInTheWatchedFolderStaysHome: a config kept beside the backups
// may hold the passphrase that encrypts them; it is offsite's own file and
// never goes out with them.
func TestConfigInTheWatchedFolderStaysHome(t *testing.T) {
	dir := t.TempDir()
	watch, usb := filepath.Join(dir, "backups"), filepath.Join(dir, "usb")
	os.MkdirAll(watch, 0o755)
	os.MkdirAll(usb, 0o755)
	file := filepath.Join(watch, "offsite.yaml")
	yaml := "state_dir: " + filepath.Join(dir, "state") + `
watches:
  - name: pos
    path: ` + watch + `
    settle: 100ms
    destinations: [usb]
destinations:
  - name: usb
    type: local
    path: ` + usb + `
    encrypt:
      passphrase: the shop's long passphrase
`
	os.WriteFile(file, []byte(yaml), 0o600)
	os.WriteFile(filepath.Join(watch, "day.bak"), []byte("sales"), 0o644)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	a, err := OpenConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "once")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent, _ := filepath.Glob(filepath.Join(usb, "pos", "*"))
	if len(sent) != 1 || filepath.Base(sent[0]) != "day.bak.age" {
		t.Fatalf("sent %v, want only day.bak.age", sent)
	}
}

// TestRestoreTargetSaysWhatItNeeds: a restore names a file or a watch,
// not both and not neither, and --exact takes the name as it is.
func TestRestoreTargetSaysWhatItNeeds(t *testing.T) {
	a, _ := testApp(t)
	ctx := context.Background()
	if _, _, err := a.RestoreTarget(ctx, "usb", "pos/day.bak", "pos", false); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("both: %v", err)
	}
	if _, _, err := a.RestoreTarget(ctx, "usb", "", "", false); err == nil || !strings.Contains(err.Error(), "offsite ls usb") {
		t.Errorf("neither: %v", err)
	}
	if r, note, err := a.RestoreTarget(ctx, "usb", "pos/day.2026-11-23T183000Z.bak", "", true); err != nil || r != "pos/day.2026-11-23T183000Z.bak" || note != "" {
		t.Errorf("exact: %q %q %v", r, note, err)
	}
	if _, _, err := a.RestoreTarget(ctx, "usb", "", "pos", false); err == nil || !strings.Contains(err.Error(), "no backup of watch") {
		t.Errorf("latest of a watch with nothing uploaded: %v", err)
	}
}
