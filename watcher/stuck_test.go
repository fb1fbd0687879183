package watcher

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keepWriting appends to path every 50 ms until ctx ends.
func keepWriting(ctx context.Context, t *testing.T, path string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = f.WriteString("row\n")
			_ = f.Close()
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return done
}

// A file that never stops changing is a live file, not a finished backup:
// it never goes out, and the sink must hear so, or nothing would show that
// it is not offsite. Once it stops changing it goes out as usual.
func TestFileThatKeepsChangingIsReportedStuck(t *testing.T) {
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir}, func(w *watch) { w.stuck = time.Second })
	live := filepath.Join(dir, "live.db")
	ctx, stop := context.WithCancel(context.Background())
	done := keepWriting(ctx, t, live)
	t.Cleanup(func() { stop(); <-done })

	rec.waitFor(t, "live.db reported stuck", 10*time.Second, func() bool { return rec.stuckWhy("live.db") != "" })
	if why := rec.stuckWhy("live.db"); !strings.Contains(why, "keeps changing") {
		t.Errorf("why = %q, want it to say the file keeps changing", why)
	}
	if got := rec.readyFor("live.db"); len(got) != 0 {
		t.Fatalf("a file still being written was reported ready: %v", got)
	}
	stop()
	<-done
	rec.waitReady(t, "live.db", 1)
}

// A stuck file that is deleted takes its report with it.
func TestDeletedStuckFileIsWithdrawn(t *testing.T) {
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir}, func(w *watch) { w.stuck = time.Second })
	live := filepath.Join(dir, "live.db")
	ctx, stop := context.WithCancel(context.Background())
	done := keepWriting(ctx, t, live)
	rec.waitFor(t, "live.db reported stuck", 10*time.Second, func() bool { return rec.stuckWhy("live.db") != "" })
	stop()
	<-done
	if err := os.Remove(live); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "live.db withdrawn", 10*time.Second, func() bool { return rec.stuckWhy("live.db") == "" })
	if got := rec.readyFor("live.db"); len(got) != 0 {
		t.Errorf("a deleted file was reported ready: %v", got)
	}
}

// A backup written for less than the limit is never called stuck.
func TestBackupWrittenInTimeIsNotStuck(t *testing.T) {
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir}, func(w *watch) { w.stuck = 3 * time.Second })
	ctx, stop := context.WithTimeout(context.Background(), time.Second)
	defer stop()
	<-keepWriting(ctx, t, filepath.Join(dir, "day.bak"))
	rec.waitReady(t, "day.bak", 1)
	time.Sleep(3 * time.Second)
	if why := rec.stuckWhy("day.bak"); why != "" {
		t.Errorf("a backup that finished in 1 s was reported stuck: %s", why)
	}
}
