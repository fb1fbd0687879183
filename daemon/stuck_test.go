package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/watcher"
)

// A file the watcher reports stuck (it never stopped changing) has no job,
// so no upload can fail for it: the daemon records it for status and
// alerts once, and the record goes when the file is queued at last.
func TestStuckFileIsRecordedUntilQueued(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	ctx := context.Background()
	live := filepath.Join(f.src, "day.bak")
	if err := os.WriteFile(live, []byte("rows"), 0o644); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-2 * time.Hour)
	rf := ready(t, live)
	f.d.Stuck(rf, since, "it keeps changing")

	rs, err := f.store.Refusals(ctx)
	if err != nil || len(rs) != 1 || rs[0].Reason != "unsettled" || !rs[0].Since.Equal(since) {
		t.Fatalf("refusals %+v, %v; want day.bak unsettled since %v", rs, err, since)
	}
	f.events.mu.Lock()
	if len(f.events.list) != 1 || f.events.list[0].Kind != notify.KindFailure ||
		!strings.Contains(f.events.list[0].Text, "not copied anywhere") || !strings.Contains(f.events.list[0].Text, "What to do") {
		t.Fatalf("events %+v, want one failure alert that says it is not copied and what to do", f.events.list)
	}
	f.events.mu.Unlock()

	if err := f.d.Ingest(ctx, []watcher.File{rf}); err != nil {
		t.Fatal(err)
	}
	if rs, err := f.store.Refusals(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("refusals after the file was queued: %+v, %v", rs, err)
	}
}

// A stuck file that was deleted leaves nothing behind to keep status red;
// a refusal for another reason stays.
func TestUnstuckForgetsOnlyTheUnsettled(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	ctx := context.Background()
	live := filepath.Join(f.src, "day.bak")
	if err := os.WriteFile(live, []byte("rows"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.d.Stuck(ready(t, live), time.Now(), "it keeps changing")
	f.d.refuse(ctx, ready(t, live), "linked", os.ErrInvalid)
	f.d.Unstuck("pos", "day.bak")
	if rs, _ := f.store.Refusals(ctx); len(rs) != 1 || rs[0].Reason != "linked" {
		t.Fatalf("refusals %+v; a link refusal must outlive Unstuck", rs)
	}

	if err := os.WriteFile(filepath.Join(f.src, "b.bak"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := ready(t, filepath.Join(f.src, "b.bak"))
	b.Rel = "b.bak"
	f.d.Stuck(b, time.Now(), "it keeps changing")
	if rs, _ := f.store.Refusals(ctx); len(rs) != 2 {
		t.Fatalf("refusals %+v; want day.bak linked and b.bak unsettled", rs)
	}
	f.d.Unstuck("pos", "b.bak")
	if rs, _ := f.store.Refusals(ctx); len(rs) != 1 {
		t.Fatalf("refusals %+v; the deleted stuck file must be forgotten", rs)
	}
}
