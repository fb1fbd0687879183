package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/status"
)

func getPage(t *testing.T, srv *httptest.Server) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestPageAndHealthzShowOneStatus: the page and /healthz render the same
// status object: the newest backup and where it is verified, today's
// uploads in the 30 days, and a paused USB disk with its cause and fix in
// words, in both.
func TestPageAndHealthzShowOneStatus(t *testing.T) {
	a, dir := testApp(t)
	ctx := context.Background()
	srv := httptest.NewServer(a.httpHandler(nil))
	defer srv.Close()

	if code, body := getPage(t, srv); code != 200 || !strings.Contains(body, "none seen yet") || !strings.Contains(body, "No test restore yet") {
		t.Fatalf("empty queue: GET / = %d\n%s", code, body)
	}
	os.WriteFile(filepath.Join(dir, "backups", "day.bak"), []byte(strings.Repeat("x", 3000)), 0o644)
	if err := a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	code, st := healthz(t, srv)
	if code != 200 || len(st.Days) != 30 || st.TestRestore != nil {
		t.Fatalf("/healthz %d, %d days, test restore %+v", code, len(st.Days), st.TestRestore)
	}
	today := st.Days[29]
	if today.Date != time.Now().Format(time.DateOnly) || today.Files != 1 || today.Bytes != 3000 || today.Failing != 0 {
		t.Fatalf("today in the status: %+v", today)
	}
	n := st.Watches[0].Newest
	if n == nil || n.File != "day.bak" || !n.Verified || len(n.Copies) != 1 || n.Copies[0] != (status.Copy{Destination: "usb", State: "done"}) {
		t.Fatalf("newest backup in the status: %+v", n)
	}
	var text strings.Builder
	st.Print(&text)
	if !strings.Contains(text.String(), "day.bak verified") {
		t.Errorf("status text lacks the newest backup:\n%s", text.String())
	}
	_, body := getPage(t, srv)
	for _, want := range []string{"All backups are offsite", "day.bak (2.9 KiB)", "✓ verified</span> at usb", "1 file, 2.9 KiB uploaded"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	// The USB disk is unplugged when the next backup goes out.
	usb := filepath.Join(dir, "usb")
	os.Rename(usb, usb+".away")
	os.WriteFile(filepath.Join(dir, "backups", "day2.bak"), []byte("second"), 0o644)
	if err := a.Once(ctx); err == nil {
		t.Fatal("once with the USB disk gone succeeded")
	}
	code, st = healthz(t, srv)
	p := st.Destinations[0].Paused
	if code != http.StatusServiceUnavailable || p == nil || !strings.Contains(p.Problem, "backup disk is not plugged in") ||
		!strings.HasPrefix(p.Fix, "plug the backup disk in") || st.Concerns[0].Fix != p.Fix {
		t.Fatalf("/healthz %d, pause %+v, concerns %+v", code, p, st.Concerns)
	}
	if n := st.Watches[0].Newest; n.File != "day2.bak" || n.Verified || n.Copies[0].State != "pending" {
		t.Fatalf("newest backup with the disk gone: %+v", n)
	}
	text.Reset()
	st.Print(&text)
	if !strings.Contains(text.String(), "day2.bak not verified yet (usb pending)") {
		t.Errorf("status text lacks the newest backup:\n%s", text.String())
	}
	_, body = getPage(t, srv)
	for _, want := range []string{"1 thing needs attention", p.Problem, "What to do:</strong> " + htmlEscape(p.Fix),
		`<span class="red">not verified yet</span>: usb pending;`, `<span class="badge bad">paused</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// TestPageButtonsOnTheListener: the forms pass the listener's Host check
// first (a rebinding page gets 421), need the page's token and origin, and
// "back up now" says plainly when no daemon runs in the process; "pause
// alerts" sets the same silence as `offsite pause --until`.
func TestPageButtonsOnTheListener(t *testing.T) {
	a, _ := testApp(t)
	srv := httptest.NewServer(a.httpHandler(nil))
	defer srv.Close()
	_, body := getPage(t, srv)
	m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form token on the page:\n%s", body)
	}
	do := func(path, host string, form url.Values) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", srv.URL)
		if host != "" {
			req.Host = host
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	until := time.Now().AddDate(0, 0, 3)
	form := url.Values{"token": {m[1]}, "watch": {"pos"}, "until": {until.Format(time.DateOnly)}}
	if code, _ := do("/pause-alerts", "evil.example", form); code != http.StatusMisdirectedRequest {
		t.Fatalf("rebinding host: %d, want 421", code)
	}
	if code, _ := do("/pause-alerts", "", url.Values{"watch": {"pos"}, "until": form["until"]}); code != http.StatusForbidden {
		t.Fatalf("no token: %d, want 403", code)
	}
	if got := a.silencedUntil(context.Background(), "pos"); !got.IsZero() {
		t.Fatalf("a refused form silenced alerts until %v", got)
	}
	if code, body := do("/pause-alerts", "", form); code != http.StatusSeeOther {
		t.Fatalf("pause alerts: %d\n%s", code, body)
	}
	want := time.Date(until.Year(), until.Month(), until.Day(), 0, 0, 0, 0, time.Local)
	if got := a.silencedUntil(context.Background(), "pos"); !got.Equal(want) {
		t.Fatalf("silenced until %v, want %v", got, want)
	}
	if code, body := do("/pause-alerts", "", url.Values{"token": {m[1]}, "watch": {"nosuch"}, "until": form["until"]}); code != 400 || !strings.Contains(body, `no watch named &#34;nosuch&#34;`) {
		t.Fatalf("unknown watch: %d\n%s", code, body)
	}
	if code, body := do("/backup-now", "", form); code != http.StatusServiceUnavailable || !strings.Contains(body, "not running in this program") {
		t.Fatalf("back up now without a daemon: %d\n%s", code, body)
	}
}

// TestBackupNowRunsDueSchedulesAtOnce: the schedules loop looks every 30
// s; "back up now" wakes it, so a schedule that is due runs at once.
func TestBackupNowRunsDueSchedulesAtOnce(t *testing.T) {
	a, watch, usb := keepApp(t, "", weeklySchedule)
	var ns notes
	p := ns.pipeline(t, a)
	p.schedulesNow = make(chan struct{}, 1)
	wed := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	uploaded(t, a, watch, backup(t, a, watch, "day.bak", "tuesday", wed.Add(-24*time.Hour)))
	var mu sync.Mutex
	clock := wed
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { p.daemon.Run(ctx) })
	wg.Go(func() { a.RunSchedules(ctx, p, now) })
	defer func() { cancel(); wg.Wait() }()

	// The first look, on Wednesday, only notes the new schedule.
	eventually(t, 5*time.Second, "the schedule noted", func() bool {
		run, err := a.Store.ScheduleRunOf(context.Background(), "weekly")
		return err == nil && !run.FirstSeen.IsZero()
	})
	mu.Lock()
	clock = time.Date(2026, 3, 6, 18, 0, 20, 0, time.UTC) // Friday: due
	mu.Unlock()
	copied := filepath.Join(usb, "weekly", "pos", "day.bak")
	time.Sleep(300 * time.Millisecond)
	if exists(copied) {
		t.Fatal("the schedule ran before anything woke the loop")
	}
	p.schedulesNow <- struct{}{}
	eventually(t, 10*time.Second, "the weekly copy after back up now", func() bool { return exists(copied) })
}
