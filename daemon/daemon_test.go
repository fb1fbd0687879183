package daemon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/watcher"
)

// flaky wraps a real provider; fail decides, per Put call, the error to return instead.
type flaky struct {
	providers.Provider
	mu    sync.Mutex
	calls int
	fail  func(call int) error
}

func (f *flaky) Put(ctx context.Context, p string, r io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if err := f.fail(n); err != nil {
		return providers.RemoteFile{}, err
	}
	return f.Provider.Put(ctx, p, r, size, o)
}

type events struct {
	mu   sync.Mutex
	list []notify.Event
}

func (e *events) Notify(_ context.Context, ev notify.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
	return nil
}

func (e *events) kinds() []notify.Kind {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []notify.Kind
	for _, ev := range e.list {
		out = append(out, ev.Kind)
	}
	return out
}

type fixture struct {
	store  *queue.Store
	src    string
	dst    string
	prov   *flaky
	events *events
	d      *Daemon
	now    time.Time
	mu     sync.Mutex
}

func newFixture(t *testing.T, fail func(int) error) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := queue.Open(filepath.Join(dir, "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, src: filepath.Join(dir, "src"), dst: filepath.Join(dir, "dst"), events: &events{}, now: time.Now()}
	os.MkdirAll(f.src, 0o755)
	os.MkdirAll(f.dst, 0o755)
	f.prov = &flaky{Provider: local.New(local.Config{Root: f.dst}), fail: fail}
	st.SetClock(f.clock)
	f.d = New(Options{
		Store:        st,
		Watches:      []Watch{{Name: "pos", Path: f.src, Destinations: []string{"usb"}}},
		Destinations: []*Destination{{Name: "usb", Type: "local", Provider: retry.New(f.prov, retry.Policy{Initial: time.Millisecond, Attempts: 1}, nil)}},
		Retry:        retry.Policy{Initial: time.Second, Max: time.Minute},
		AlertAfter:   3,
		Notifier:     f.events,
		Now:          f.clock,
	})
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fixture) add(t *testing.T, name string, data []byte) {
	t.Helper()
	p := filepath.Join(f.src, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if err := f.d.Ingest(context.Background(), []watcher.File{{Watch: "pos", Rel: name, Abs: p, Size: st.Size(), ModTime: st.ModTime()}}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) states(t *testing.T) map[queue.State]int {
	sum, err := f.store.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sum) == 0 {
		return nil
	}
	return sum[0].Counts
}

func TestTemporaryFailuresRetryLaterAndAlertOnce(t *testing.T) {
	f := newFixture(t, func(n int) error {
		if n <= 4 {
			return providers.Classify(providers.Temporary, errors.New("connection reset"))
		}
		return nil
	})
	f.add(t, "a.bak", []byte("hello"))
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		f.d.Drain(ctx)
		if got := f.states(t)[queue.Failed]; got != 1 {
			t.Fatalf("after attempt %d: states %v, want the job failed and waiting", i+1, f.states(t))
		}
		f.advance(2 * time.Minute)
	}
	if err := f.d.Drain(ctx); err != nil {
		t.Fatalf("drain after recovery: %v", err)
	}
	if f.states(t)[queue.Done] != 1 {
		t.Fatalf("states %v", f.states(t))
	}
	if k := f.events.kinds(); len(k) != 2 || k[0] != notify.KindFailure || k[1] != notify.KindRecovered {
		t.Fatalf("events %v, want exactly one failure alert (after 3 attempts), then one recovered", k)
	}
	if b, _ := os.ReadFile(filepath.Join(f.dst, "pos", "a.bak")); !bytes.Equal(b, []byte("hello")) {
		t.Fatal("file not at destination")
	}
}

func TestFatalPausesKeepsJobAndRecovers(t *testing.T) {
	broken := true
	f := newFixture(t, func(int) error {
		if broken {
			return providers.Errorf(providers.Fatal, providers.ReasonQuota, "free some space", "disk full")
		}
		return nil
	})
	f.add(t, "a.bak", []byte("1"))
	f.add(t, "b.bak", []byte("2"))
	ctx := context.Background()
	if err := f.d.Drain(ctx); err == nil {
		t.Fatal("drain reported success with a full destination")
	}
	if st := f.states(t); st[queue.Pending] != 2 || st[queue.Dead] != 0 {
		t.Fatalf("jobs not kept waiting: %v", st)
	}
	// Each worker may have had an upload in flight when the first failed.
	inFlight := f.prov.calls
	if inFlight > f.d.o.Workers {
		t.Fatalf("a paused destination was tried %d times, want at most one per worker", inFlight)
	}
	f.d.Drain(ctx) // still paused: no new attempt, no new alert
	if f.prov.calls != inFlight {
		t.Fatalf("paused destination tried again before its probe time")
	}
	f.advance(6 * time.Minute)
	broken = false
	if err := f.d.Drain(ctx); err != nil {
		t.Fatalf("drain after recovery: %v", err)
	}
	if st := f.states(t); st[queue.Done] != 2 {
		t.Fatalf("states %v", st)
	}
	if k := f.events.kinds(); len(k) != 2 || k[0] != notify.KindFailure || k[1] != notify.KindRecovered {
		t.Fatalf("events %v, want one failure then one recovered", k)
	}
}

func TestPermanentIsDeadAndAlerted(t *testing.T) {
	f := newFixture(t, func(int) error {
		return providers.Errorf(providers.Permanent, providers.ReasonName, "", "name refused")
	})
	f.add(t, "bad.bak", []byte("x"))
	f.d.Drain(context.Background())
	if st := f.states(t); st[queue.Dead] != 1 {
		t.Fatalf("states %v", st)
	}
	if k := f.events.kinds(); len(k) != 1 || k[0] != notify.KindFailure {
		t.Fatalf("events %v", k)
	}
}

func TestSupersededSourceIsNotAnAlert(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	f.add(t, "day.bak", []byte("version one"))
	// The program rewrites the file before the upload starts.
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(filepath.Join(f.src, "day.bak"), []byte("version two, longer"), 0o644)
	if err := f.d.Drain(context.Background()); err != nil {
		t.Fatalf("drain reports a superseded version as a problem: %v", err)
	}
	if st := f.states(t); st[queue.Superseded] != 1 || st[queue.Dead] != 0 {
		t.Fatalf("states %v, want the job superseded, not dead", st)
	}
	f.d.FinishRun()
	if len(f.events.kinds()) != 0 {
		t.Fatalf("superseded version raised %v", f.events.kinds())
	}
	if _, err := os.Stat(filepath.Join(f.dst, "pos", "day.bak")); err == nil {
		t.Fatal("a version whose bytes are gone was uploaded anyway")
	}
}

func TestBurstIsQueuedInFewTransactions(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	var files []watcher.File
	for i := 0; i < 300; i++ {
		name := filepath.Join(f.src, "f"+string(rune('a'+i%26))+time.Duration(i).String()+".bak")
		os.WriteFile(name, []byte(name), 0o644)
		st, _ := os.Stat(name)
		files = append(files, watcher.File{Watch: "pos", Rel: filepath.Base(name), Abs: name, Size: st.Size(), ModTime: st.ModTime()})
	}
	if err := f.d.Ingest(context.Background(), files); err != nil {
		t.Fatal(err)
	}
	if err := f.d.Ingest(context.Background(), files); err != nil { // seen again: nothing new
		t.Fatal(err)
	}
	if d, _ := f.store.Depth(context.Background()); d != 300 {
		t.Fatalf("depth %d", d)
	}
}

func TestUnreadableBackupIsAlerted(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	p := filepath.Join(f.src, "locked.bak")
	// Something that opens but cannot be read as a file: root reads past
	// permissions, so a folder under a file's name stands in for a locked file.
	os.Mkdir(p, 0o755)
	st, _ := os.Stat(p)
	f.d.Ingest(context.Background(), []watcher.File{{Watch: "pos", Rel: "locked.bak", Abs: p, Size: st.Size(), ModTime: st.ModTime()}})
	if k := f.events.kinds(); len(k) != 1 || k[0] != notify.KindFailure {
		t.Fatalf("events %v, want one failure alert naming the unreadable file", k)
	}
}

// TestRemovedBeforeSentIsAlerted: a backup deleted before it was sent is a
// failure alert (not only a report line), once per file, grouped for many
// files in one run; Drain (`once`) reports it as not done.
func TestRemovedBeforeSentIsAlerted(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	for _, n := range []string{"old1.bak", "old2.bak", "old3.bak"} {
		f.add(t, n, []byte("rotated away "+n))
		os.Remove(filepath.Join(f.src, n)) // the POS rotates it out first
	}
	err := f.d.Drain(context.Background())
	if err == nil || !strings.Contains(err.Error(), "old2.bak → usb: removed from the folder") {
		t.Fatalf("drain = %v, want an error naming the removed backups", err)
	}
	if st := f.states(t); st[queue.Removed] != 3 || st[queue.Dead] != 0 {
		t.Fatalf("states %v", st)
	}
	e, ok := f.d.FinishRun()
	if !ok || !strings.Contains(e.Text, "3 files were removed from the backup folder") {
		t.Fatalf("report does not say the backups were lost: %q", e.Text)
	}
	f.events.mu.Lock()
	var alerts []notify.Event
	for _, ev := range f.events.list {
		if ev.Kind == notify.KindFailure {
			alerts = append(alerts, ev)
		}
	}
	f.events.mu.Unlock()
	if len(alerts) != 1 || !strings.Contains(alerts[0].Subject, "3 backups were deleted") ||
		!strings.Contains(alerts[0].Text, "pos/old3.bak → usb") {
		t.Fatalf("alerts %+v, want one failure alert naming all three files", alerts)
	}
	// Later runs do not alert the same files again.
	f.add(t, "new.bak", []byte("kept"))
	if err := f.d.Drain(context.Background()); err != nil {
		t.Fatalf("next drain: %v", err)
	}
	f.d.FinishRun()
	if k := f.events.kinds(); len(k) != 1 {
		t.Fatalf("events %v, want still the one alert", k)
	}
}

// TestReportIsOneAccountOfTheRun: a file that failed past alert_after and
// then went through in the same run is reported as uploaded only, and the
// run's length is from its first upload attempt to its last upload.
func TestReportIsOneAccountOfTheRun(t *testing.T) {
	f := newFixture(t, func(n int) error {
		if n <= 4 {
			return providers.Classify(providers.Temporary, errors.New("connection reset"))
		}
		return nil
	})
	f.add(t, "a.bak", []byte("hello"))
	ctx := context.Background()
	for range 4 {
		f.d.Drain(ctx)
		f.advance(2 * time.Minute)
	}
	if err := f.d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Hour) // idle before the report goes out: not part of the run
	e, ok := f.d.FinishRun()
	if !ok {
		t.Fatal("no report")
	}
	if e.Subject != "offsite: 1 file uploaded (pos)" || strings.Contains(e.Text, "Not uploaded") {
		t.Fatalf("report lists the file as failed too:\n%s\n%s", e.Subject, e.Text)
	}
	if !strings.Contains(e.Text, "uploaded 1 file (5 B) in 8 minutes,") {
		t.Fatalf("report does not give the run's real length:\n%s", e.Text)
	}
}
