package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/watcher"
)

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

// alerts are the events that are not run reports.
func (e *events) alerts() []notify.Kind {
	var out []notify.Kind
	for _, k := range e.kinds() {
		if k != notify.KindReport {
			out = append(out, k)
		}
	}
	return out
}

func countFiles(dir string) int {
	ents, _ := os.ReadDir(dir)
	return len(ents)
}

// TestIntakeRetriesWhileQueueIsFull runs the real watcher and daemon while
// the queue refuses new files mid-burst, as it does when the state folder's
// disk is full: the files wait in intake, which says so and alerts once,
// and once the queue takes writes again every file is queued and uploaded
// without a restart or a rescan.
func TestIntakeRetriesWhileQueueIsFull(t *testing.T) {
	dir := t.TempDir()
	st, err := queue.Open(filepath.Join(dir, "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	os.MkdirAll(src, 0o755)
	os.MkdirAll(dst, 0o755)
	ev := &events{}
	d := New(Options{
		Store:        st,
		Watches:      []Watch{{Name: "pos", Path: src, Destinations: []string{"usb"}}},
		Destinations: []*Destination{{Name: "usb", Type: "local", Provider: retry.New(local.New(local.Config{Root: dst}), retry.Policy{}, nil)}},
		AlertAfter:   2,
		Notifier:     ev,
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	// Rescan an hour from now: only the events and intake's own retries
	// can bring the refused files back.
	w, err := watcher.New([]watcher.Config{{Name: "pos", Path: src, Settle: 50 * time.Millisecond, Rescan: time.Hour}}, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.SetGate(w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { w.Run(ctx); done <- struct{}{} }()
	go func() { d.Run(ctx); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done }()

	write := func(from, to int) {
		for i := from; i < to; i++ {
			os.WriteFile(filepath.Join(src, fmt.Sprintf("day-%02d.bak", i)), []byte(strings.Repeat("x", 100+i)), 0o644)
		}
	}
	write(0, 3)
	waitFor(t, 10*time.Second, "the first files uploaded", func() bool { return countFiles(filepath.Join(dst, "pos")) == 3 })

	var full atomic.Bool
	full.Store(true)
	st.SetFault("enqueue", func() error {
		if full.Load() {
			return errors.New("database or disk is full (13)")
		}
		return nil
	})
	write(3, 9)
	waitFor(t, 10*time.Second, "intake to report the refused files", func() bool {
		tr, failing := d.IntakeFailing()
		return failing && tr.Files == 6 && strings.Contains(tr.Err.Error(), "disk is full")
	})
	waitFor(t, 10*time.Second, "an intake alert", func() bool { return len(ev.alerts()) > 0 })
	time.Sleep(1500 * time.Millisecond) // more failed attempts: still one alert
	if k := ev.alerts(); len(k) != 1 || k[0] != notify.KindFailure {
		t.Fatalf("events %v, want one failure alert while intake keeps failing", k)
	}
	if n := countFiles(filepath.Join(dst, "pos")); n != 3 {
		t.Fatalf("%d files uploaded while the queue refused them", n)
	}

	full.Store(false) // space freed
	waitFor(t, 15*time.Second, "every file uploaded", func() bool { return countFiles(filepath.Join(dst, "pos")) == 9 })
	if _, failing := d.IntakeFailing(); failing {
		t.Fatal("intake still reported failing after everything was queued")
	}
	waitFor(t, 5*time.Second, "a recovered notice", func() bool {
		k := ev.alerts()
		return len(k) == 2 && k[1] == notify.KindRecovered
	})
}

type gate struct {
	mu               sync.Mutex
	rechecks, forgot []string
}

func (g *gate) Recheck(watch, rel string) {
	g.mu.Lock()
	g.rechecks = append(g.rechecks, rel)
	g.mu.Unlock()
}

func (g *gate) Forget(watch, rel string) {
	g.mu.Lock()
	g.forgot = append(g.forgot, rel)
	g.mu.Unlock()
}

// An unreadable backup is handed back to the watcher, so the next scan
// offers it again as the log promises, instead of counting as reported.
func TestUnreadableBackupIsOfferedAgain(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	g := &gate{}
	f.d.SetGate(g)
	p := filepath.Join(f.src, "locked.bak")
	os.Mkdir(p, 0o755) // reads fail, as on a file locked by another program
	st, _ := os.Stat(p)
	f.d.Ingest(context.Background(), []watcher.File{{Watch: "pos", Rel: "locked.bak", Abs: p, Size: st.Size(), ModTime: st.ModTime()}})
	if len(g.forgot) != 1 || g.forgot[0] != "locked.bak" {
		t.Fatalf("forgotten %v, want the unreadable file handed back to the watcher", g.forgot)
	}
}
