package statuspage

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/status"
)

var now = time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)

func tp(t time.Time) *time.Time { return &t }

// green is a status with everything offsite.
func green() status.Status {
	return status.Status{Time: now, OK: true, Concerns: []status.Concern{},
		Destinations: []status.Destination{
			{Name: "usb", Type: "local", Done: 12, BytesDone: 5 << 20, LastSuccess: tp(now.Add(-2 * time.Hour))},
			{Name: "cloud", Type: "gdrive", Done: 12, BytesDone: 5 << 20, LastSuccess: tp(now.Add(-2 * time.Hour)), CopiesChecked: tp(now.Add(-5 * time.Hour))},
		},
		Watches: []status.Watch{{Name: "pos", Path: `C:\POS\Backup`, State: "ok", LastArrival: tp(now.Add(-2 * time.Hour)),
			Newest: &status.Newest{File: "day.bak", Size: 1 << 20, Seen: now.Add(-2 * time.Hour), Verified: true,
				Copies: []status.Copy{{Destination: "cloud", State: "done"}, {Destination: "usb", State: "done"}}}}},
		Uploading: []status.Job{}, Removed: []status.Job{}, Days: days(30),
	}
}

func days(n int) []status.Day {
	out := make([]status.Day, n)
	for i := range out {
		out[i].Date = now.AddDate(0, 0, i-(n-1)).Format(time.DateOnly)
	}
	return out
}

type fixture struct {
	st       status.Status
	err      error
	backups  int
	paused   []string
	pauseTo  []time.Time
	noDaemon bool
	pauseErr error
}

func (f *fixture) server(t *testing.T) (*httptest.Server, *Handler) {
	t.Helper()
	o := Options{
		Status: func(context.Context) (*status.Status, error) {
			if f.err != nil {
				return nil, f.err
			}
			st := f.st
			return &st, nil
		},
		PauseAlerts: func(_ context.Context, watch string, until time.Time) error {
			if f.pauseErr != nil {
				return f.pauseErr
			}
			f.paused = append(f.paused, watch)
			f.pauseTo = append(f.pauseTo, until)
			return nil
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now },
	}
	if !f.noDaemon {
		o.BackupNow = func() error { f.backups++; return nil }
	}
	h := New(o)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, h
}

func get(t *testing.T, srv *httptest.Server, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", body)
	}
}

func mustNotContain(t *testing.T, body string, bad ...string) {
	t.Helper()
	for _, w := range bad {
		if strings.Contains(body, w) {
			t.Errorf("page has %q", w)
		}
	}
}

func TestGreenPage(t *testing.T) {
	f := &fixture{st: green()}
	srv, _ := f.server(t)
	code, hd, body := get(t, srv, "/")
	if code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	mustContain(t, body, "All backups are offsite or on their way", "day.bak (1 MiB)", "2 hours ago", "✓ verified</span> at cloud, usb",
		`<meta http-equiv="refresh" content="30; url=/">`, "No test restore yet", "Back up now", `action="/pause-alerts"`,
		"<dt>Copies checked</dt><dd>5 hours ago</dd>")
	mustNotContain(t, body, "<script", "OVERDUE", "need attention", "submit\" disabled")
	if csp := hd.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if hd.Get("Cache-Control") != "no-store" || !strings.HasPrefix(hd.Get("Content-Type"), "text/html") {
		t.Errorf("headers %v", hd)
	}
	if code, _, _ := get(t, srv, "/nothing-here"); code != 404 {
		t.Errorf("GET /nothing-here = %d, want 404", code)
	}
}

// TestUnpluggedDiskPage: a paused local destination shows the cause and the
// fix in words, the newest backup is not verified, and an overdue folder is
// red.
func TestUnpluggedDiskPage(t *testing.T) {
	st := green()
	st.OK = false
	st.Destinations[0].Waiting = 3
	st.Destinations[0].Paused = &status.Pause{Reason: "missing", Message: "/media/usb does not exist",
		Problem: "the backup disk is not plugged in (or the network share is not connected)",
		Fix:     "plug the backup disk in or connect the network share; then `offsite retry --to usb` tries it at once",
		Since:   now.Add(-time.Hour), NextTry: now.Add(5 * time.Minute)}
	st.Concerns = []status.Concern{{Subject: "destination usb", Reason: "paused", Message: "uploads to usb are paused: /media/usb does not exist; 3 upload(s) wait",
		Fix: "plug the backup disk in or connect the network share"}}
	st.Watches[0].State = "overdue"
	st.Watches[0].OverdueSince = tp(now.Add(-3 * time.Hour))
	st.Watches[0].Newest.Verified = false
	st.Watches[0].Newest.Copies = []status.Copy{{Destination: "cloud", State: "done"}, {Destination: "usb", State: "pending"}}
	f := &fixture{st: st}
	srv, _ := f.server(t)
	_, _, body := get(t, srv, "/")
	mustContain(t, body, "✗ 1 thing needs attention", "Destination usb:", "What to do:</strong> plug the backup disk in",
		"the backup disk is not plugged in (or the network share is not connected)", "in 5 minutes",
		"3 uploads", `<span class="badge bad">paused</span>`, `<span class="red">not verified yet</span>: cloud ✓; usb pending;`,
		`<span class="badge bad">OVERDUE</span>`, `<dd class="red">a new backup was due 3 hours ago</dd>`, `<dd class="red">2 hours ago</dd>`)
	mustNotContain(t, body, "All backups are offsite")
}

// TestFailingCloudPage: uploads that keep failing show on the destination
// and as a concern with its fix; a given-up upload too.
func TestFailingCloudPage(t *testing.T) {
	st := green()
	st.OK = false
	st.Destinations[1].Failing, st.Destinations[1].Alerting, st.Destinations[1].GivenUp = 2, 2, 1
	st.Concerns = []status.Concern{{Subject: "destination cloud", Reason: "failing", Message: "2 upload(s) to cloud keep failing; last error: HTTP 500",
		Fix: "fix the cause named in the error"}}
	f := &fixture{st: st}
	srv, _ := f.server(t)
	_, _, body := get(t, srv, "/")
	mustContain(t, body, `<span class="badge bad">failing</span>`, "2 uploads", "(2 keep failing)", "(1 given up)",
		"2 upload(s) to cloud keep failing; last error: HTTP 500", "What to do:</strong> fix the cause named in the error")
}

func TestUploadsInProgressHaveProgressBars(t *testing.T) {
	st := green()
	st.Uploading = []status.Job{
		{Watch: "pos", File: "year-end.zip", Destination: "cloud", Size: 1000, Acked: 400},
		{Watch: "pos", File: "day.bak", Destination: "usb", Size: 2048},
	}
	f := &fixture{st: st}
	srv, _ := f.server(t)
	_, _, body := get(t, srv, "/")
	mustContain(t, body, "Uploading year-end.zip (1000 B): 40%", `<progress max="1000" value="400">40%</progress>`,
		"Uploading day.bak (2 KiB)", `<progress>uploading</progress>`)
	// Each upload sits in its destination's card.
	usb, cloud := strings.Index(body, `id="dest-usb"`), strings.Index(body, `id="dest-cloud"`)
	if i := strings.Index(body, "Uploading day.bak"); i < usb || i > cloud {
		t.Errorf("the usb upload is not in the usb card")
	}
	if i := strings.Index(body, "Uploading year-end.zip"); i < cloud {
		t.Errorf("the cloud upload is not in the cloud card")
	}
}

// TestChartMarksFailedDays: one bar per day with uploads, its height
// proportional to the bytes, and a red mark on each day with a failure.
func TestChartMarksFailedDays(t *testing.T) {
	st := green()
	st.Days[29] = status.Day{Date: st.Days[29].Date, Files: 2, Bytes: 4 << 20}
	st.Days[28] = status.Day{Date: st.Days[28].Date, Files: 1, Bytes: 2 << 20, Retried: 1}
	st.Days[10] = status.Day{Date: st.Days[10].Date, Failing: 3}
	f := &fixture{st: st}
	srv, _ := f.server(t)
	_, _, body := get(t, srv, "/")
	if n := strings.Count(body, `<rect class="bar"`); n != 2 {
		t.Errorf("%d bars, want 2 (days with uploads)", n)
	}
	if n := strings.Count(body, `<circle class="fail"`); n != 2 {
		t.Errorf("%d failure marks, want 2", n)
	}
	if n := strings.Count(body, `<g class="day`); n != 30 {
		t.Errorf("%d days drawn, want 30", n)
	}
	heights := regexp.MustCompile(`<rect class="bar" x="[0-9.]+" y="[0-9.]+" width="[0-9.]+" height="([0-9.]+)"`).FindAllStringSubmatch(body, -1)
	if len(heights) != 2 || heights[0][1] != "77.0" || heights[1][1] != "154.0" {
		t.Errorf("bar heights %v, want 77.0 then 154.0 (half, full)", heights)
	}
	mustContain(t, body, "Sun 22 Nov: 1 file, 2 MiB uploaded; 1 failed at first and went through later",
		"Mon 23 Nov: 2 files, 4 MiB uploaded", ": nothing uploaded; 3 failed and did not go through yet",
		"uploads over the last 30 days: 6 MiB in all; uploads failed on 2 days", ">4 MiB</text>", ">today</text>")
}

func TestRemovedBackupsAreListed(t *testing.T) {
	st := green()
	f := &fixture{st: st}
	srv, _ := f.server(t)
	_, _, body := get(t, srv, "/")
	mustNotContain(t, body, "Deleted before they were sent")
	f.st.Removed = []status.Job{{Watch: "pos", File: "mon.bak", Destination: "cloud", At: now.Add(-time.Hour)}}
	_, _, body = get(t, srv, "/")
	mustContain(t, body, "Deleted before they were sent", "mon.bak (pos) → cloud", "<code>offsite ack</code>")
}

func TestLastTestRestore(t *testing.T) {
	st := green()
	st.TestRestore = &status.TestRestore{At: now.Add(-26 * time.Hour), Destination: "cloud", Watch: "pos", File: "day.bak", OK: true}
	f := &fixture{st: st}
	srv, _ := f.server(t)
	_, _, body := get(t, srv, "/")
	mustContain(t, body, "✓ Restored and checked</span>: day.bak from cloud, 26 hours ago")
	mustNotContain(t, body, "No test restore yet")

	f.st.TestRestore = &status.TestRestore{At: now.Add(-72 * time.Hour), Destination: "usb", File: "day.bak", Message: "the copy differs from the backup"}
	_, _, body = get(t, srv, "/")
	mustContain(t, body, "✗ Failed</span>: day.bak from usb, 3 days ago", "the copy differs from the backup")
}

func TestStatusErrorSaysWhat(t *testing.T) {
	f := &fixture{err: errors.New("database is locked")}
	srv, _ := f.server(t)
	code, _, body := get(t, srv, "/")
	if code != 500 || !strings.Contains(body, "database is locked") || !strings.Contains(body, "offsite status") {
		t.Fatalf("GET / = %d %q", code, body)
	}
}

// token reads the form token from the page, as a browser submitting it would.
func token(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	_, _, body := get(t, srv, "/")
	m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(m) != 2 || m[0][1] != m[1][1] || len(m[0][1]) < 20 {
		t.Fatalf("form tokens %v", m)
	}
	return m[0][1]
}

func post(t *testing.T, srv *httptest.Server, path string, form url.Values, hdr map[string]string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// TestFormsNeedSameOriginAndToken: a POST goes through only with this
// listener's own origin (Origin, else Referer; Sec-Fetch-Site same-origin
// when sent) AND this process's token; anything else is 403 and does
// nothing.
func TestFormsNeedSameOriginAndToken(t *testing.T) {
	f := &fixture{st: green()}
	srv, _ := f.server(t)
	tok := token(t, srv)
	self := srv.URL // http://127.0.0.1:PORT
	u, _ := url.Parse(self)
	cases := []struct {
		name  string
		token string
		hdr   map[string]string
		want  int
	}{
		{"origin and token", tok, map[string]string{"Origin": self}, http.StatusSeeOther},
		{"referer and token", tok, map[string]string{"Referer": self + "/?done=pause"}, http.StatusSeeOther},
		{"browser says same-origin", tok, map[string]string{"Origin": self, "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
		{"no token", "", map[string]string{"Origin": self}, http.StatusForbidden},
		{"wrong token", tok[:len(tok)-1] + "x", map[string]string{"Origin": self}, http.StatusForbidden},
		{"token without origin or referer", tok, nil, http.StatusForbidden},
		{"other site", tok, map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"other port", tok, map[string]string{"Origin": "http://127.0.0.1:1"}, http.StatusForbidden},
		{"https origin", tok, map[string]string{"Origin": "https://" + u.Host}, http.StatusForbidden},
		{"opaque origin", tok, map[string]string{"Origin": "null", "Referer": self + "/"}, http.StatusForbidden},
		{"cross-site fetch", tok, map[string]string{"Origin": self, "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same-site fetch", tok, map[string]string{"Origin": self, "Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"other site's referer", tok, map[string]string{"Referer": "http://evil.example/" + u.Host}, http.StatusForbidden},
	}
	want := 0
	for _, tc := range cases {
		for _, path := range []string{"/backup-now", "/pause-alerts"} {
			form := url.Values{"until": {"2026-12-24"}, "watch": {"pos"}}
			if tc.token != "" {
				form.Set("token", tc.token)
			}
			code, loc, body := post(t, srv, path, form, tc.hdr)
			if code != tc.want {
				t.Errorf("%s %s: %d, want %d (%s)", tc.name, path, code, tc.want, body)
			}
			if code == http.StatusSeeOther {
				want++
				if !strings.HasPrefix(loc, "/?done=") {
					t.Errorf("%s %s: redirected to %q", tc.name, path, loc)
				}
			} else if !strings.Contains(body, "refused") {
				t.Errorf("%s %s: 403 without a reason: %q", tc.name, path, body)
			}
		}
	}
	if got := f.backups + len(f.paused); got != want {
		t.Errorf("%d actions ran, want %d (one per accepted POST)", got, want)
	}
	if code, _, _ := get(t, srv, "/backup-now"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /backup-now = %d, want 405", code)
	}
}

func TestPauseAlertsForm(t *testing.T) {
	f := &fixture{st: green()}
	srv, _ := f.server(t)
	tok := token(t, srv)
	origin := map[string]string{"Origin": srv.URL}
	code, loc, _ := post(t, srv, "/pause-alerts", url.Values{"token": {tok}, "watch": {""}, "until": {"2026-12-27"}}, origin)
	if code != http.StatusSeeOther || loc != "/?done=pause" {
		t.Fatalf("pause = %d %q", code, loc)
	}
	if len(f.paused) != 1 || f.paused[0] != "" || !f.pauseTo[0].Equal(time.Date(2026, 12, 27, 0, 0, 0, 0, time.Local)) {
		t.Fatalf("paused %q until %v; want every watch until the start of 27 Dec", f.paused, f.pauseTo)
	}
	_, _, body := get(t, srv, loc)
	mustContain(t, body, `id="flash">Missed-backup alerts are paused`)

	code, _, body = post(t, srv, "/pause-alerts", url.Values{"token": {tok}, "until": {"soon"}}, origin)
	if code != 400 || !strings.Contains(body, "Pick the date when missed-backup alerts should start again") {
		t.Fatalf("bad date: %d\n%s", code, body)
	}
	f.pauseErr = errors.New("the pause would end Mon 2 Nov 2026 00:00, which has passed: give a later date")
	code, _, body = post(t, srv, "/pause-alerts", url.Values{"token": {tok}, "until": {"2026-11-02"}}, origin)
	if code != 400 || !strings.Contains(body, "Alerts were not paused: the pause would end Mon 2 Nov 2026 00:00, which has passed") {
		t.Fatalf("past date: %d\n%s", code, body)
	}
}

func TestBackupNowWithoutDaemon(t *testing.T) {
	f := &fixture{st: green(), noDaemon: true}
	srv, _ := f.server(t)
	_, _, body := get(t, srv, "/")
	mustContain(t, body, `<button type="submit" disabled>Back up now</button>`, "it is not running in this program")
	code, _, body := post(t, srv, "/backup-now", url.Values{"token": {token(t, srv)}}, map[string]string{"Origin": srv.URL})
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "Start it (`offsite run`") {
		t.Fatalf("backup now without a daemon: %d\n%s", code, body)
	}
}

func TestAgoInWords(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Second, "just now"},
		{-10 * time.Second, "just now"},
		{time.Minute, "1 minute ago"},
		{59 * time.Minute, "59 minutes ago"},
		{time.Hour, "1 hour ago"},
		{2*time.Hour + 59*time.Minute, "2 hours ago"},
		{47 * time.Hour, "47 hours ago"},
		{48 * time.Hour, "2 days ago"},
		{-5 * time.Minute, "in 5 minutes"},
		{-30 * time.Hour, "in 30 hours"},
	} {
		if got := ago(now, now.Add(-tc.d)); got != tc.want {
			t.Errorf("ago(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestTokenIsPerProcess: a page opened before offsite restarted carries the
// old process's token; its form is refused with a reload hint.
func TestTokenIsPerProcess(t *testing.T) {
	f := &fixture{st: green()}
	before, _ := f.server(t)
	old := token(t, before)
	after, _ := f.server(t)
	if token(t, after) == old {
		t.Fatal("two processes share one form token")
	}
	code, _, body := post(t, after, "/backup-now", url.Values{"token": {old}}, map[string]string{"Origin": after.URL})
	if code != http.StatusForbidden || !strings.Contains(body, "Reload the status page") || f.backups != 0 {
		t.Fatalf("stale token: %d %q, %d backups", code, body, f.backups)
	}
}
