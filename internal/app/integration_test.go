package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/gdrive/fakedrive"
)

// hook is a loopback webhook that records the events posted to it.
type hook struct {
	mu     sync.Mutex
	events []map[string]any
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var e map[string]any
	json.NewDecoder(r.Body).Decode(&e)
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

func (h *hook) kinds() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		out = append(out, fmt.Sprint(e["kind"]))
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestFailingCloudAlertsOnceOthersKeepGoing runs the daemon against the Drive
// emulator with a fault that never clears: the local destination keeps
// receiving backups, exactly one failure alert goes out, and once the fault
// is removed the backups reach Drive and one "works again" follows.
func TestFailingCloudAlertsOnceOthersKeepGoing(t *testing.T) {
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
	os.WriteFile(filepath.Join(state, "cloud-token.json"), []byte(`{"access_token":"old-access-token-secret","refresh_token":"refresh-token-secret","expiry":"2001-01-01T00:00:00Z"}`), 0o600)
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
  alert_after: 2
notify:
  - url: %s/hook
    on: [failure, recovered]
`, state, watch, usb, cloudSrv.URL, hookSrv.URL)
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	a, err := OpenConfig(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), "run")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cloud.AddFault(fakecloud.Fault{Service: "drive", Path: "/upload/", Status: 500})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	for i := range 3 {
		os.WriteFile(filepath.Join(watch, fmt.Sprintf("day-%d.bak", i)), []byte(strings.Repeat("x", 1000+i)), 0o644)
	}
	eventually(t, 20*time.Second, "the local copies", func() bool {
		n, _ := os.ReadDir(filepath.Join(usb, "pos"))
		return len(n) == 3
	})
	eventually(t, 30*time.Second, "a failure alert", func() bool { return count(h.kinds(), "failure") >= 1 })
	time.Sleep(2 * time.Second) // more failed attempts: still one alert
	if got := count(h.kinds(), "failure"); got != 1 {
		t.Fatalf("%d failure alerts for one cause, want 1: %v", got, h.kinds())
	}
	cloud.ClearFaults()
	eventually(t, 30*time.Second, "the Drive copies", func() bool { return len(drv.Files()) == 3 })
	eventually(t, 10*time.Second, "a recovered notice", func() bool { return count(h.kinds(), "recovered") == 1 })
	for _, f := range drv.Files() {
		if !strings.HasPrefix(f.Path, "Backups/Shop1/pos/day-") {
			t.Errorf("unexpected remote path %s", f.Path)
		}
	}
	if got := count(h.kinds(), "failure"); got != 1 {
		t.Fatalf("events %v", h.kinds())
	}
	// Debug logs of a whole outage and recovery hold no secret: no token,
	// no upload-session address.
	for _, secret := range []string{"refresh-token-secret", "old-access-token-secret", "fake-drive-", "upload_id", "Bearer"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
	if !strings.Contains(logs.String(), "uploaded") {
		t.Error("the log captured nothing; the secrets check proves nothing")
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
