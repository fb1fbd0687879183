package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/gdrive/fakedrive"
	"github.com/offsite-backup/offsite/queue"
)

// `go test ./internal/app -run TestStatusPageInBrowser -screenshot FILE`
// (make screenshot) also saves the page, USB disk unplugged, as a PNG.
var screenshotTo = flag.String("screenshot", "", "save a screenshot of the status page to this PNG file")

// browser is the one headless chromium the package's browser tests share:
// starting it takes longer than a test.
var browser struct {
	once   sync.Once
	ctx    context.Context
	stop   func()
	dir    string
	err    error
	output strings.Builder
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.stop != nil {
		browser.stop()
		os.RemoveAll(browser.dir)
	}
	os.Exit(code)
}

// newTab opens a tab in the shared browser. Without chromium the test is
// skipped, unless OFFSITE_REQUIRE_BROWSER=1 (CI) makes that a failure.
func newTab(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("OFFSITE_REQUIRE_BROWSER") == "1" {
			t.Fatal("OFFSITE_REQUIRE_BROWSER=1 but chromium is not installed (apt-get install chromium)")
		}
		t.Skip("chromium is not installed (apt-get install chromium); OFFSITE_REQUIRE_BROWSER=1 makes this a failure")
	}
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "offsite-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		browser.dir = dir
		actx, acancel := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(dir),
			chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			// Containers give /dev/shm a few MiB; chromium then crashes on big pages.
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.WindowSize(1100, 900), chromedp.CombinedOutput(&browser.output))
		bctx, bcancel := chromedp.NewContext(actx)
		browser.ctx, browser.stop = bctx, func() { bcancel(); acancel() }
		browser.err = chromedp.Do(bctx) // starts the browser
	})
	if browser.err != nil {
		t.Fatalf("start chromium: %v\n%s", browser.err, browser.output.String())
	}
	tab, closeTab := chromedp.NewContext(browser.ctx)
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// freeAddr is a loopback address nothing listens on, for the daemon's own
// listener.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// shop is a running daemon with a USB disk, a Drive account on fakecloud
// and its status page, as a shop owner's browser sees it.
type shop struct {
	t     *testing.T
	app   *App
	url   string
	watch string
	usb   string
	cloud *fakecloud.Cloud
	drive *fakedrive.Server
	tab   context.Context
}

// startShop opens the shop's App, calls before (files already there at
// start, history), then starts the daemon and a browser tab.
func startShop(t *testing.T, before func(*shop)) *shop {
	tab := newTab(t) // first: without chromium there is nothing to start
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
	t.Cleanup(cloudSrv.Close)
	s := &shop{t: t, tab: tab, watch: filepath.Join(dir, "backups"), usb: filepath.Join(dir, "usb"), cloud: cloud, drive: drv}
	state := filepath.Join(dir, "state")
	for _, d := range []string{s.watch, s.usb, state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(state, "cloud-token.json"), []byte(`{"refresh_token":"r","expiry":"2001-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	// poll: the folder is looked at only at start and when asked, so a
	// new file goes out only when "back up now" asks for a scan.
	yaml := fmt.Sprintf(`state_dir: %s
http: %s
watches:
  - name: pos
    path: %s
    settle: 200ms
    poll: 1h
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
  alert_after: 2
`, state, addr, s.watch, s.usb, cloudSrv.URL)
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := OpenConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "run")
	if err != nil {
		t.Fatal(err)
	}
	s.app = a
	before(s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
		a.Close()
	})
	s.url = "http://" + addr + "/"
	return s
}

func (s *shop) backup(name, content string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.watch, name), []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// text loads the page and returns the visible text of one element.
func (s *shop) text(sel string) string {
	s.t.Helper()
	if err := chromedp.Do(s.tab, chromedp.Navigate(s.url)); err != nil {
		s.t.Fatalf("open %s: %v", s.url, err)
	}
	txt, err := chromedp.Run(s.tab, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		s.t.Fatalf("read %s: %v", sel, err)
	}
	return txt
}

// waitFor reloads the page until every want is in the element's text.
func (s *shop) waitFor(sel string, want ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		txt := s.text(sel)
		missing := ""
		for _, w := range want {
			if !strings.Contains(txt, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return txt
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the page's %s never said %q; it says:\n%s", sel, missing, s.text("body"))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// count loads the page and counts the elements a CSS selector matches.
func (s *shop) count(sel string) int {
	s.t.Helper()
	if err := chromedp.Do(s.tab, chromedp.Navigate(s.url)); err != nil {
		s.t.Fatalf("open %s: %v", s.url, err)
	}
	n, err := chromedp.Run(s.tab, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		s.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// press opens the page, runs the steps that fill a form, submits it with
// its button and returns the flash message the next page shows.
func (s *shop) press(form string, fill ...chromedp.Action[chromedp.Void]) string {
	s.t.Helper()
	steps := append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(s.url)}, fill...)
	steps = append(steps, chromedp.Click(chromedp.CSS(form+" button")), chromedp.WaitVisible(chromedp.ID("flash")))
	if err := chromedp.Do(s.tab, steps...); err != nil {
		s.t.Fatalf("press %s: %v\n%s", form, err, s.text("body"))
	}
	txt, err := chromedp.Run(s.tab, chromedp.Text(chromedp.ID("flash")))
	if err != nil {
		s.t.Fatal(err)
	}
	return txt
}

// TestStatusPageInBrowser drives the page of a running daemon in chromium
// through the states a shop owner meets: all green; "back up now" sending
// a file the daemon had not seen; "pause alerts until"; a failing cloud and
// its recovery; and the USB disk unplugged, paused with its fix in words.
func TestStatusPageInBrowser(t *testing.T) {
	s := startShop(t, func(s *shop) {
		if *screenshotTo != "" {
			seedHistory(s.app)
		}
		s.backup("day1.bak", strings.Repeat("1", 40_000))
	})

	// Green: the start-up scan found day1.bak; both copies are verified.
	s.waitFor("#verdict", "All backups are offsite or on their way")
	s.waitFor("#watch-pos", "day1.bak", "✓ verified at cloud, usb", "just now")
	s.waitFor("#dest-usb", "OK", "Last success\njust now")
	if txt := s.text("body"); strings.Contains(txt, "need attention") || strings.Contains(txt, "paused") {
		t.Fatalf("green page mentions trouble:\n%s", txt)
	}
	// Today, the chart's last day, has a bar and no failure mark.
	const today = "#history g.day:last-of-type"
	if bars, fails := s.count(today+" rect.bar"), s.count(today+" circle.fail"); bars != 1 || fails != 0 {
		t.Fatalf("chart today: %d bars, %d failure marks; want a bar and no mark", bars, fails)
	}

	// Back up now: day2.bak arrives while the folder is not watched for
	// events; only the button's scan finds it.
	s.backup("day2.bak", strings.Repeat("2", 50_000))
	time.Sleep(time.Second)
	if txt := s.text("#watch-pos"); strings.Contains(txt, "day2.bak") {
		t.Fatalf("day2.bak was seen before the button was pressed:\n%s", txt)
	}
	if flash := s.press("#backup-now"); !strings.Contains(flash, "Looking for new backups now") {
		t.Fatalf("after back up now: %q", flash)
	}
	s.waitFor("#watch-pos", "day2.bak", "✓ verified at cloud, usb")
	if _, err := os.Stat(filepath.Join(s.usb, "pos", "day2.bak")); err != nil {
		t.Fatalf("day2.bak is not on the USB disk: %v", err)
	}

	// Pause alerts until a week from now, for that folder.
	until := time.Now().AddDate(0, 0, 7)
	date := until.Format(time.DateOnly)
	flash := s.press("#pause-alerts", chromedp.SetValue(chromedp.CSS(`#pause-alerts select[name=watch]`), "pos"),
		chromedp.SetValue(chromedp.CSS(`#pause-alerts input[name=until]`), date))
	if !strings.Contains(flash, "Missed-backup alerts are paused") {
		t.Fatalf("after pause alerts: %q", flash)
	}
	s.waitFor("#watch-pos", "missed-backup alerts paused until "+until.Format("Mon 2 Jan 2006"))
	st, err := s.app.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if to := st.Watches[0].SilencedTo; to == nil || to.Local().Format(time.DateOnly) != date {
		t.Fatalf("status silence %v, want until %s", to, date)
	}

	// A failing cloud: every Drive upload answers 500.
	s.cloud.AddFault(fakecloud.Fault{Service: "drive", Path: "/upload/", Status: 500})
	s.backup("day3.bak", strings.Repeat("3", 30_000))
	s.press("#backup-now")
	s.waitFor("#verdict", "1 thing needs attention")
	s.waitFor("#dest-cloud", "failing", "keep failing")
	s.waitFor("#concerns", "Destination cloud:", "keep failing", "What to do:")
	s.waitFor("#watch-pos", "day3.bak", "not verified yet", "usb ✓", "cloud failed")
	if fails := s.count(today + " circle.fail"); fails != 1 {
		t.Fatalf("chart: %d failure marks while Drive fails, want today's", fails)
	}
	s.cloud.ClearFaults()
	s.waitFor("#verdict", "All backups are offsite or on their way")
	s.waitFor("#watch-pos", "day3.bak", "✓ verified at cloud, usb")

	// The USB disk is unplugged: its folder is gone.
	if err := os.Rename(s.usb, s.usb+".away"); err != nil {
		t.Fatal(err)
	}
	s.backup("day4.bak", strings.Repeat("4", 60_000))
	s.press("#backup-now")
	s.waitFor("#dest-usb", "paused", "the backup disk is not plugged in (or the network share is not connected)",
		"plug the backup disk in or connect the network share", "1 upload")
	s.waitFor("#verdict", "needs attention")
	s.waitFor("#concerns", "Destination usb:", "uploads to usb are paused", "What to do: plug the backup disk in")
	s.waitFor("#watch-pos", "day4.bak", "not verified yet", "cloud ✓", "usb pending")

	if *screenshotTo != "" {
		png, err := chromedp.Run(s.tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*screenshotTo, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved to %s", *screenshotTo)
	}
}

// seedHistory fills the queue with four weeks of earlier nightly uploads,
// a few of them failing at first, so the screenshot's chart shows what a
// running shop's does. Only the screenshot uses it; no check depends on it.
func seedHistory(a *App) {
	ctx := context.Background()
	today := time.Now()
	for back := 28; back >= 1; back-- {
		day := time.Date(today.Year(), today.Month(), today.Day(), 22, 0, 0, 0, time.Local).AddDate(0, 0, -back)
		if day.Weekday() == time.Sunday {
			continue // the shop is closed
		}
		a.Store.SetClock(func() time.Time { return day })
		size := int64(180<<20 + (back%5)*25<<20)
		v := queue.Version{Watch: "pos", Rel: "pos-" + day.Format(time.DateOnly) + ".bak", Size: size, ModTime: day, SHA256: fmt.Sprint(back)}
		if _, err := a.Store.Enqueue(ctx, []queue.Route{{Version: v, Destinations: []string{"usb", "cloud"}}}); err != nil {
			panic(err)
		}
		jobs, err := a.Store.Claim(ctx, queue.Hold{}, 2)
		if err != nil {
			panic(err)
		}
		for _, j := range jobs {
			if back%9 == 4 && j.Destination == "cloud" {
				if _, err := a.Store.Fail(ctx, j.ID, "temporary", "HTTP 503", day, true); err != nil {
					panic(err)
				}
				if _, err := a.Store.Claim(ctx, queue.Hold{}, 1); err != nil {
					panic(err)
				}
			}
			if err := a.Store.Done(ctx, queue.Finished{ID: j.ID}); err != nil {
				panic(err)
			}
		}
	}
	a.Store.SetClock(time.Now)
}
