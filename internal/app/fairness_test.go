package app

import (
	"context"
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
)

// TestYearLongRetryAfterPausesOnlyThatCloud has Drive answer every upload
// with 429 and a Retry-After of a year. The USB copies must not wait for
// it: all six arrive within seconds, while the cloud is paused as rate
// limited (status not ok, one alert) instead of stalling every worker.
func TestYearLongRetryAfterPausesOnlyThatCloud(t *testing.T) {
	dir := t.TempDir()
	cloud := fakecloud.New(0)
	mux := http.NewServeMux()
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
	os.WriteFile(filepath.Join(state, "cloud-token.json"), []byte(`{"access_token":"a","refresh_token":"r","expiry":"2001-01-01T00:00:00Z"}`), 0o600)
	yaml := fmt.Sprintf(`state_dir: %s
watches:
  - name: pos
    path: %s
    settle: 100ms
    destinations: [cloud, usb]
destinations:
  - name: cloud
    type: gdrive
    folder: Backups/Shop1
    endpoint: %s
  - name: usb
    type: local
    path: %s
notify:
  - url: %s/hook
    on: [failure, recovered]
`, state, watch, cloudSrv.URL, usb, hookSrv.URL)
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := OpenConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "run")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cloud.AddFault(fakecloud.Fault{Service: "drive", Path: "/upload/", Status: 429, RetryAfter: "8760h"})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	start := time.Now()
	for i := range 6 {
		os.WriteFile(filepath.Join(watch, fmt.Sprintf("day-%d.bak", i)), []byte(strings.Repeat("x", 1000+i)), 0o644)
	}
	eventually(t, 5*time.Second, "six copies on the USB disk", func() bool {
		n, _ := os.ReadDir(filepath.Join(usb, "pos"))
		return len(n) == 6
	})
	t.Logf("six USB copies after %v", time.Since(start).Round(time.Millisecond))
	eventually(t, 10*time.Second, "the cloud paused", func() bool {
		st, err := a.Status(ctx)
		if err != nil {
			return false
		}
		for _, d := range st.Destinations {
			if d.Name == "cloud" && d.Paused != nil {
				return true
			}
		}
		return false
	})
	st, err := a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Healthy() {
		t.Fatal("status healthy while Drive refuses uploads for a year")
	}
	for _, d := range st.Destinations {
		if d.Name != "cloud" {
			continue
		}
		p := d.Paused
		year := time.Now().Add(365 * 24 * time.Hour).UTC().Format("2006-01")
		if p.Reason != "rate-limited" || !strings.Contains(p.Message, "rate limited by the service until "+year) {
			t.Fatalf("pause %+v, want reason rate-limited and the time the service named", p)
		}
		if p.NextTry.After(time.Now().Add(time.Hour)) {
			t.Fatalf("next probe %v: a paused destination is probed within the hour, whatever the service asked", p.NextTry)
		}
	}
	eventually(t, 10*time.Second, "a failure alert", func() bool { return count(h.kinds(), "failure") >= 1 })
	time.Sleep(500 * time.Millisecond)
	if got := count(h.kinds(), "failure"); got != 1 {
		t.Fatalf("%d failure alerts, want one for the paused cloud: %v", got, h.kinds())
	}
}
