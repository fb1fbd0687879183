package verify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/queue"
)

type alerts struct {
	mu  sync.Mutex
	got []notify.Event
}

func (a *alerts) Notify(_ context.Context, e notify.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, e)
	return nil
}

// presenceFixture is a watched folder, a destination folder and a queue
// whose uploads are made by hand.
type presenceFixture struct {
	s           *queue.Store
	watch, dest string
	p           providers.Provider
	alerts      *alerts
	pr          *Presence
}

func newPresence(t *testing.T) *presenceFixture {
	dir := t.TempDir()
	f := &presenceFixture{watch: filepath.Join(dir, "pos"), dest: filepath.Join(dir, "cloud"), alerts: &alerts{}}
	for _, d := range []string{f.watch, f.dest} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s, err := queue.Open(filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.s, f.p = s, local.New(local.Config{Root: f.dest, Owner: "test"})
	v := &Verifier{Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Provider: func(context.Context, string) (providers.Provider, error) { return f.p, nil },
		Cannot:   func(string, string) error { return nil },
		Readable: func(string) bool { return true },
		Folder: func(w string) string {
			if w == "pos" {
				return f.watch
			}
			return ""
		}}
	f.pr = &Presence{V: v, Checks: func(dest string) bool { return dest == "cloud" }, Recent: 35 * 24 * time.Hour, Notifier: f.alerts}
	return f
}

// upload writes name into the watched folder with body and mtime, queues
// it for dest and uploads it; it returns the stored copy's path.
func (f *presenceFixture) upload(t *testing.T, dest, name, body string, mtime time.Time) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(f.watch, name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	sums, _, err := providers.HashReader(strings.NewReader(body), providers.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	v := queue.Version{Watch: "pos", Rel: name, Size: fi.Size(), ModTime: fi.ModTime(), SHA256: sums[providers.SHA256]}
	if _, err := f.s.Enqueue(ctx, []queue.Route{{Version: v, Destinations: []string{dest}}}); err != nil {
		t.Fatal(err)
	}
	jobs, err := f.s.Claim(ctx, queue.Hold{}, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %d %v", len(jobs), err)
	}
	j := jobs[0]
	rf, err := f.p.Put(ctx, j.RemotePath, bytes.NewReader([]byte(body)), int64(len(body)), providers.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Done(ctx, queue.Finished{ID: j.ID, RemoteHash: rf.Hash}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(f.dest, filepath.FromSlash(j.RemotePath))
}

func (f *presenceFixture) failures(t *testing.T) map[string]string {
	t.Helper()
	m, err := f.s.RestoreFailures(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return m["cloud"]
}

// TestPresenceRequeuesAGoneCopyTheFolderStillHolds: the newest copy of a
// file deleted at the destination goes back in the queue and is alerted;
// an older copy, or one at a destination not checked, is not looked at.
func TestPresenceRequeuesAGoneCopyTheFolderStillHolds(t *testing.T) {
	f := newPresence(t)
	ctx := context.Background()
	now := time.Now()
	old := f.upload(t, "cloud", "day.bak", "monday", now.Add(-48*time.Hour))
	newest := f.upload(t, "cloud", "day.bak", "tuesday!", now.Add(-24*time.Hour))
	usb := f.upload(t, "usb", "till.xlsx", "till", now.Add(-time.Hour)) // not a checked destination
	kept := f.upload(t, "cloud", "stock.xlsx", "stock", now.Add(-time.Hour))
	for _, p := range []string{old, newest, usb} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	c, err := f.pr.Check(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if c != (Checked{OK: 1, Requeued: 1}) {
		t.Fatalf("checked %+v, want the newest day.bak requeued and stock.xlsx ok at cloud only", c)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Fatal(err)
	}
	pending, err := f.s.Jobs(ctx, queue.Filter{States: []queue.State{queue.Pending}})
	if err != nil || len(pending) != 1 || pending[0].Destination != "cloud" || pending[0].Version.Size != int64(len("tuesday!")) {
		t.Fatalf("pending after the check: %+v %v", pending, err)
	}
	if len(f.alerts.got) != 1 || !strings.Contains(f.alerts.got[0].Subject, "gone from 'cloud'; uploading again") || f.alerts.got[0].Kind != notify.KindFailure {
		t.Fatalf("alerts %+v", f.alerts.got)
	}
	if len(f.failures(t)) != 0 {
		t.Fatalf("a requeued copy is on its way, not lost: %v", f.failures(t))
	}
	if at, err := f.s.CopiesChecked(ctx); err != nil || !at["cloud"].Equal(now) || !at["usb"].IsZero() {
		t.Fatalf("recorded looks %v %v: want cloud's only", at, err)
	}
}

// TestPresenceKeepsALostCopyRedUntilANewerOneIsThere: a copy gone from
// the destination whose backup the folder no longer holds cannot be sent
// again; it is recorded (status red, retention holds) until the next
// backup's copy is found there.
func TestPresenceKeepsALostCopyRedUntilANewerOneIsThere(t *testing.T) {
	f := newPresence(t)
	ctx := context.Background()
	now := time.Now()
	stored := f.upload(t, "cloud", "day.bak", "monday", now.Add(-24*time.Hour))
	if err := os.Remove(stored); err != nil {
		t.Fatal(err)
	}
	// The program rewrote its backup since: the uploaded version is gone.
	if err := os.WriteFile(filepath.Join(f.watch, "day.bak"), []byte("tuesday, not yet sent"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := f.pr.Check(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if c != (Checked{Lost: 1}) {
		t.Fatalf("checked %+v, want one lost", c)
	}
	fails := f.failures(t)
	if len(fails) != 1 {
		t.Fatalf("lost copy not recorded: %v", fails)
	}
	for _, msg := range fails {
		if !strings.Contains(msg, "missing at the destination") || !strings.Contains(msg, "no longer holds") {
			t.Errorf("recorded %q", msg)
		}
	}
	if len(f.alerts.got) != 1 || !strings.Contains(f.alerts.got[0].Subject, "cannot be sent again") {
		t.Fatalf("alerts %+v", f.alerts.got)
	}
	// Still gone the next day: still red, and the alert's key is the same.
	if _, err := f.pr.Check(ctx, now.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if len(f.failures(t)) != 1 || f.alerts.got[1].Key != f.alerts.got[0].Key {
		t.Fatalf("second day: failures %v, alerts %+v", f.failures(t), f.alerts.got)
	}
	// The next backup reaches the destination: the file is offsite again.
	f.upload(t, "cloud", "day.bak", "wednesday", now.Add(time.Hour))
	c, err = f.pr.Check(ctx, now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c.OK != 1 || len(f.failures(t)) != 0 {
		t.Fatalf("after a newer copy: %+v, failures %v", c, f.failures(t))
	}
}

// TestPresenceLeavesAnUnreachableDestinationAlone: a destination that
// cannot be asked (unplugged, offline) is not taken for one whose copies
// are gone.
func TestPresenceLeavesAnUnreachableDestinationAlone(t *testing.T) {
	f := newPresence(t)
	ctx := context.Background()
	now := time.Now()
	f.upload(t, "cloud", "day.bak", "monday", now.Add(-time.Hour))
	if err := os.RemoveAll(f.dest); err != nil {
		t.Fatal(err)
	}
	c, err := f.pr.Check(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if c != (Checked{Unchecked: 1}) || len(f.alerts.got) != 0 || len(f.failures(t)) != 0 {
		t.Fatalf("checked %+v, alerts %d, failures %v", c, len(f.alerts.got), f.failures(t))
	}
	if at, _ := f.s.CopiesChecked(ctx); len(at) != 0 {
		t.Fatalf("a destination that could not be asked is recorded as looked at: %v", at)
	}
}

// TestPresenceSendsOneAlertPerDestination: a folder emptied at the
// service is one message naming the copies, not one per file; the same
// loss found again does not alert again.
func TestPresenceSendsOneAlertPerDestination(t *testing.T) {
	f := newPresence(t)
	ctx := context.Background()
	now := time.Now()
	for i := range 12 {
		name := fmt.Sprintf("day-%02d.bak", i)
		if err := os.Remove(f.upload(t, "cloud", name, name, now.Add(-time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	c, err := f.pr.Check(ctx, now)
	if err != nil || c.Requeued != 12 {
		t.Fatalf("checked %+v %v", c, err)
	}
	if len(f.alerts.got) != 1 {
		t.Fatalf("%d alerts, want one for the destination", len(f.alerts.got))
	}
	e := f.alerts.got[0]
	if !strings.Contains(e.Subject, "12 backup copies gone from 'cloud'") || !strings.Contains(e.Text, "'day-00.bak'") ||
		!strings.Contains(e.Text, "and 2 more") || e.Fields["requeued"] != "12" {
		t.Fatalf("alert %+v", e)
	}
}
