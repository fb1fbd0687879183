package app

import (
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/gdrive/fakedrive"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/status"
)

// healthz GETs /healthz and returns the code and the decoded body.
func healthz(t *testing.T, srv *httptest.Server) (int, status.Status) {
	t.Helper()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var st status.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("/healthz body is not the status object: %v\n%s", err, b)
	}
	return resp.StatusCode, st
}

func hasConcern(st status.Status, subject, reason string) bool {
	for _, c := range st.Concerns {
		if c.Subject == subject && c.Reason == reason && c.Message != "" && c.Fix != "" {
			return true
		}
	}
	return false
}

// TestHealthzIsRedWhileUploadsKeepFailing: every upload to Drive fails (a
// 500 that never clears). Nothing is paused or given up, yet a failure alert
// goes out; /healthz must say 503 from then on, and 200 again once the
// uploads go through.
func TestHealthzIsRedWhileUploadsKeepFailing(t *testing.T) {
	dir := t.TempDir()
	cloud := fakecloud.New(0)
	mux := http.NewServeMux()
	mux.Handle("/_fakecloud/", cloud.ControlHandler())
	drv, err := fakedrive.New(cloud, filepath.Join(dir, "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	drv.Register(mux)
	cloudSrv := httptest.NewServer(mux)
	defer cloudSrv.Close()
	h := &hook{}
	hookSrv := httptest.NewServer(h)
	defer hookSrv.Close()
	watch, usb, state := filepath.Join(dir, "backups"), filepath.Join(dir, "usb"), filepath.Join(dir, "state")
	for _, d := range []string{watch, usb, state} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(state, "cloud-token.json"), []byte(`{"refresh_token":"r","expiry":"2001-01-01T00:00:00Z"}`), 0o600)
	yaml := fmt.Sprintf(`state_dir: %s
watches:
  - name: pos
    path: %s
    settle: 200ms
    destinations: [usb, cloud]
destinations:
  - name: usb
    type: local
    path: %s
  - name: cloud
    type: gdrive
    folder: Backups/Shop1
    endpoint: %s
retry:
  initial: 100ms
  max: 300ms
  alert_after: 3
notify:
  - url: %s/hook
    on: [failure, recovered]
`, state, watch, usb, cloudSrv.URL, hookSrv.URL)
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := OpenConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "run")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.httpHandler(nil))
	defer srv.Close()
	if code, st := healthz(t, srv); code != 200 || !st.OK || st.Concerns == nil {
		t.Fatalf("before anything happened: /healthz %d %+v", code, st)
	}
	cloud.AddFault(fakecloud.Fault{Service: "drive", Path: "/upload/", Status: 500})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	os.WriteFile(filepath.Join(watch, "day.bak"), []byte(strings.Repeat("x", 1000)), 0o644)

	eventually(t, 30*time.Second, "a failure alert", func() bool { return count(h.kinds(), "failure") >= 1 })
	code, st := healthz(t, srv)
	if code != http.StatusServiceUnavailable || st.OK || !hasConcern(st, "destination cloud", "failing") {
		t.Fatalf("while every Drive upload fails and an alert went out: /healthz %d, concerns %+v", code, st.Concerns)
	}
	for _, d := range st.Destinations {
		if d.Name == "cloud" && (d.Paused != nil || d.GivenUp != 0 || d.Alerting != 1) {
			t.Fatalf("cloud: %+v", d)
		}
	}
	cloud.ClearFaults()
	eventually(t, 30*time.Second, "the green light after the Drive copy", func() bool {
		code, st := healthz(t, srv)
		return code == 200 && st.OK && len(drv.Files()) == 1
	})
}

// TestHealthzIsRedWhileAWatchIsMissingOrOverdue: a watched folder that is
// gone, and a backup that did not come within expect_every, each raise an
// alert, so each turns /healthz red and `status` says why and what to do.
func TestHealthzIsRedWhileAWatchIsMissingOrOverdue(t *testing.T) {
	a, dir := testApp(t)
	ctx := context.Background()
	os.WriteFile(filepath.Join(dir, "backups", "day.bak"), []byte("backup"), 0o644)
	if err := a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.httpHandler(nil))
	defer srv.Close()
	if code, st := healthz(t, srv); code != 200 || !st.OK || st.Watches[0].State != status.WatchOK {
		t.Fatalf("/healthz %d %+v", code, st)
	}

	os.Rename(filepath.Join(dir, "backups"), filepath.Join(dir, "moved"))
	code, st := healthz(t, srv)
	if code != http.StatusServiceUnavailable || !hasConcern(st, "watch pos", "missing") || st.Watches[0].State != status.WatchMissing {
		t.Fatalf("watched folder gone: /healthz %d %+v", code, st)
	}
	os.Rename(filepath.Join(dir, "moved"), filepath.Join(dir, "backups"))

	a.Cfg.Watches[0].ExpectEvery = config.Duration(time.Hour)
	if code, st := healthz(t, srv); code != 200 {
		t.Fatalf("backup within expect_every: /healthz %d %+v", code, st.Concerns)
	}
	a.Cfg.Watches[0].ExpectEvery = config.Duration(time.Second)
	time.Sleep(1100 * time.Millisecond)
	code, st = healthz(t, srv)
	if code != http.StatusServiceUnavailable || !hasConcern(st, "watch pos", "overdue") || st.Watches[0].OverdueSince == nil {
		t.Fatalf("backup overdue: /healthz %d %+v", code, st)
	}
	var text strings.Builder
	st.Print(&text)
	if !strings.Contains(text.String(), "NOT OK") || !strings.Contains(text.String(), "what to do:") || !strings.Contains(text.String(), "OVERDUE") {
		t.Fatalf("status text:\n%s", text.String())
	}
	// A silence (holidays) is not a concern.
	if err := a.Pause(ctx, "pos", time.Now().Add(24*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if code, st := healthz(t, srv); code != 200 {
		t.Fatalf("silenced watch: /healthz %d %+v", code, st.Concerns)
	}
}

// TestHealthzIsRedWhileABackupIsRefused: a backup the daemon saw and would
// not queue (a link in its place, an unreadable file) has no job, so no
// failing upload turns the light red; its recorded refusal must, until the
// file is queued, deleted, or acknowledged with `offsite ack`.
func TestHealthzIsRedWhileABackupIsRefused(t *testing.T) {
	a, dir := testApp(t)
	ctx := context.Background()
	srv := httptest.NewServer(a.httpHandler(nil))
	defer srv.Close()
	link := filepath.Join(dir, "backups", "day.bak")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), link); err != nil {
		t.Skip("cannot create symlinks here:", err)
	}
	for _, r := range []queue.Refusal{
		{Watch: "pos", Rel: "day.bak", Reason: "linked", Message: "the file was replaced by a link", Since: time.Now()},
		{Watch: "pos", Rel: "gone.bak", Reason: "unreadable", Message: "permission denied", Since: time.Now()},
	} {
		if err := a.Store.Refuse(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	code, st := healthz(t, srv)
	if code != http.StatusServiceUnavailable || !hasConcern(st, "watch pos", "refused_linked") {
		t.Fatalf("a backup replaced by a link: /healthz %d, concerns %+v", code, st.Concerns)
	}
	// gone.bak is no longer in the folder: nothing waits to leave for it.
	if len(st.Refused) != 1 || st.Refused[0].File != "day.bak" || len(st.Concerns) != 1 {
		t.Fatalf("refused %+v, concerns %+v; want only day.bak", st.Refused, st.Concerns)
	}
	var text strings.Builder
	st.Print(&text)
	if !strings.Contains(text.String(), "replaced by a link") || !strings.Contains(text.String(), "offsite ack") {
		t.Fatalf("status text does not say what happened and what to do:\n%s", text.String())
	}
	if n, err := a.Store.ClearRefusals(ctx, ""); err != nil || n != 2 {
		t.Fatalf("ack cleared %d, %v", n, err)
	}
	if code, st := healthz(t, srv); code != 200 || !st.OK {
		t.Fatalf("after ack: /healthz %d %+v", code, st.Concerns)
	}
}

// A file that never became complete is not on its way: the light is red,
// and status says what the file is and what to do.
func TestHealthzIsRedWhileAFileNeverSettles(t *testing.T) {
	a, dir := testApp(t)
	a.daemon.Store(true) // /healthz is the running daemon's
	ctx := context.Background()
	srv := httptest.NewServer(a.httpHandler(nil))
	defer srv.Close()
	if err := os.WriteFile(filepath.Join(dir, "backups", "live.db"), []byte("rows"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := queue.Refusal{Watch: "pos", Rel: "live.db", Reason: "unsettled", Message: "it keeps changing", Since: time.Now().Add(-2 * time.Hour)}
	if err := a.Store.Refuse(ctx, r); err != nil {
		t.Fatal(err)
	}
	code, st := healthz(t, srv)
	if code != http.StatusServiceUnavailable || !hasConcern(st, "watch pos", "refused_unsettled") {
		t.Fatalf("a file that never settles: /healthz %d, concerns %+v", code, st.Concerns)
	}
	var text strings.Builder
	st.Print(&text)
	for _, want := range []string{"live.db", "has not become complete", "keeps changing", "finished backup copies"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("status text lacks %q:\n%s", want, text.String())
		}
	}
	if err := a.Store.Unrefuse(ctx, "pos", "live.db", "unsettled"); err != nil {
		t.Fatal(err)
	}
	if code, st := healthz(t, srv); code != 200 || !st.OK {
		t.Fatalf("once withdrawn: /healthz %d %+v", code, st.Concerns)
	}
}

// With no daemon running, a backup waiting in the queue or in the folder is
// on no way: status says so, names the files and how to start it, and a
// running daemon (its heartbeat fresh) makes it green again.
func TestStatusIsRedWhileNothingRunsToSendTheBackups(t *testing.T) {
	a, dir := testApp(t)
	ctx := context.Background()
	st, err := a.Status(ctx)
	if err != nil || !st.OK || st.Daemon == nil || st.Daemon.Running {
		t.Fatalf("nothing waits, nothing runs: ok %v, daemon %+v, %v; concerns %+v", st.OK, st.Daemon, err, st.Concerns)
	}
	if err := os.WriteFile(filepath.Join(dir, "backups", "day.bak"), []byte("today"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = a.Status(ctx)
	if err != nil || st.OK || !hasConcern(*st, "service", "not_running") {
		t.Fatalf("a backup in the folder and no daemon: ok %v, concerns %+v, %v", st.OK, st.Concerns, err)
	}
	var text strings.Builder
	st.Print(&text)
	for _, want := range []string{"offsite is not running", "never run here", "day.bak in pos", "offsite service start"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("status text lacks %q:\n%s", want, text.String())
		}
	}
	// A daemon that beats is running; one that stopped, or went silent, is not.
	now := time.Now()
	if err := a.Store.Beat(ctx, 1, now.Add(-time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if st, _ = a.Status(ctx); !st.OK || !st.Daemon.Running {
		t.Fatalf("with a daemon beating: ok %v, concerns %+v", st.OK, st.Concerns)
	}
	if err := a.Store.Beat(ctx, 1, now.Add(-time.Hour), now.Add(-10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if st, _ = a.Status(ctx); st.OK || !strings.Contains(st.Concerns[0].Message, "did not stop cleanly") {
		t.Fatalf("with a daemon silent for 10 minutes: ok %v, concerns %+v", st.OK, st.Concerns)
	}
	if err := a.Store.Stopped(ctx, now); err != nil {
		t.Fatal(err)
	}
	if st, _ = a.Status(ctx); st.OK || !strings.Contains(st.Concerns[0].Message, "it stopped") {
		t.Fatalf("after a clean stop: ok %v, concerns %+v", st.OK, st.Concerns)
	}
}
