package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/status"
)

// TestIntakeFailureShowsInStatusAndHealth makes the queue refuse new files
// (as on a full state disk) while backups arrive: status names the problem
// and /healthz is not ok until the files are queued, which happens without
// a restart once the queue takes writes again.
func TestIntakeFailureShowsInStatusAndHealth(t *testing.T) {
	dir := t.TempDir()
	watch, usb, state := filepath.Join(dir, "backups"), filepath.Join(dir, "usb"), filepath.Join(dir, "state")
	for _, d := range []string{watch, usb, state} {
		os.MkdirAll(d, 0o755)
	}
	yaml := fmt.Sprintf(`state_dir: %s
watches:
  - name: pos
    path: %s
    settle: 100ms
    destinations: [usb]
destinations:
  - name: usb
    type: local
    path: %s
`, state, watch, usb)
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := OpenConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "run")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var full atomic.Bool
	full.Store(true)
	a.Store.SetFault("enqueue", func() error {
		if full.Load() {
			return errors.New("database or disk is full")
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	for i := range 4 {
		os.WriteFile(filepath.Join(watch, fmt.Sprintf("day-%d.bak", i)), []byte(strings.Repeat("x", 100+i)), 0o644)
	}
	health := func() (int, status.Status) {
		rec := httptest.NewRecorder()
		a.httpHandler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/healthz", nil))
		var st status.Status
		json.Unmarshal(rec.Body.Bytes(), &st)
		return rec.Code, st
	}
	eventually(t, 10*time.Second, "status to show the intake problem", func() bool {
		_, st := health()
		return st.Intake != nil && st.Intake.Files == 4
	})
	code, st := health()
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/healthz answered %d while 4 backups could not be queued", code)
	}
	want := "4 backups could not be queued: enqueue: database or disk is full; free space on the state folder's disk"
	if st.Intake.Problem != want {
		t.Fatalf("intake problem %q, want %q", st.Intake.Problem, want)
	}

	full.Store(false)
	eventually(t, 15*time.Second, "the backups on the disk", func() bool {
		n, _ := os.ReadDir(filepath.Join(usb, "pos"))
		return len(n) == 4
	})
	eventually(t, 5*time.Second, "healthz ok again", func() bool {
		code, st := health()
		return code == http.StatusOK && st.Intake == nil
	})
}
