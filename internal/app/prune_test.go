package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/queue"
)

// tenDays uploads one backup a day for ten days, 1-10 March, and puts a
// file offsite did not make beside them.
func tenDays(t *testing.T, a *App, watch, usb string) []*queue.Job {
	t.Helper()
	var jobs []*queue.Job
	for day := 1; day <= 10; day++ {
		name := fmt.Sprintf("pos-%02d.bak", day)
		v := backup(t, a, watch, name, "backup of day "+name, time.Date(2026, 3, day, 22, 0, 0, 0, time.UTC))
		jobs = append(jobs, uploaded(t, a, watch, v))
	}
	if err := os.WriteFile(filepath.Join(usb, "pos", "foreign.bak"), []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	return jobs
}

func TestPruneKeepsGFSAndNeverForeignFiles(t *testing.T) {
	a, watch, usb := keepApp(t, "    timezone: UTC\n    keep: {daily: 3}\n", "")
	tenDays(t, a, watch, usb)
	ctx := context.Background()

	var out bytes.Buffer
	would, err := a.Prune(ctx, true, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(would) != 7 || !strings.Contains(out.String(), "would delete pos/pos-01.bak (dropped: not among the copies kept by daily 3)") {
		t.Fatalf("dry run listed %v:\n%s", would, out.String())
	}
	if !exists(filepath.Join(usb, "pos", "pos-01.bak")) {
		t.Fatal("dry run deleted a file")
	}

	out.Reset()
	deleted, err := a.Prune(ctx, false, &out)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for day := 7; day >= 1; day-- {
		want = append(want, fmt.Sprintf("usb:pos/pos-%02d.bak", day))
	}
	if !slices.Equal(deleted, want) {
		t.Fatalf("deleted %v, want %v\n%s", deleted, want, out.String())
	}
	for day := 1; day <= 10; day++ {
		if got, want := exists(filepath.Join(usb, "pos", fmt.Sprintf("pos-%02d.bak", day))), day >= 8; got != want {
			t.Errorf("day %d present %v, want %v", day, got, want)
		}
	}
	if !exists(filepath.Join(usb, "pos", "foreign.bak")) {
		t.Fatal("prune deleted a file offsite did not upload")
	}
	if !strings.Contains(out.String(), "usb: keep   pos/pos-10.bak (kept: newest verified copy, daily 2026-03-10)") {
		t.Errorf("output lacks the newest copy's reason:\n%s", out.String())
	}
	pruned, _ := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Pruned}})
	if len(pruned) != 7 {
		t.Errorf("%d jobs marked pruned, want 7", len(pruned))
	}
	// Nothing left to do, and the pruned uploads are not looked for again.
	out.Reset()
	if again, err := a.Prune(ctx, false, &out); err != nil || len(again) != 0 {
		t.Fatalf("second prune deleted %v, %v", again, err)
	}
	var vout bytes.Buffer
	if bad := a.Verify(ctx, &vout); bad != 0 {
		t.Errorf("verify after prune: %s", vout.String())
	}
}

func TestPruneHoldsWhileNewestUploadFails(t *testing.T) {
	a, watch, usb := keepApp(t, "    keep: {last: 2}\n", "")
	tenDays(t, a, watch, usb)
	ctx := context.Background()
	v := backup(t, a, watch, "pos-11.bak", "day 11", time.Date(2026, 3, 11, 22, 0, 0, 0, time.UTC))
	j := jobOf(t, a, v)
	if _, err := a.Store.Fail(ctx, j.ID, "temporary", "connection reset", time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	deleted, err := a.Prune(ctx, false, &out)
	if err != nil || len(deleted) != 0 {
		t.Fatalf("deleted %v, %v while the newest upload fails", deleted, err)
	}
	if !strings.Contains(out.String(), "the newest upload (pos-11.bak) is failing") {
		t.Errorf("output does not say why:\n%s", out.String())
	}
	for day := 1; day <= 10; day++ {
		if !exists(filepath.Join(usb, "pos", fmt.Sprintf("pos-%02d.bak", day))) {
			t.Fatalf("day %d deleted", day)
		}
	}
	// Once it succeeds, pruning goes ahead and keeps the two newest.
	uploaded(t, a, watch, v)
	deleted, err = a.Prune(ctx, false, &out)
	if err != nil || len(deleted) != 9 {
		t.Fatalf("deleted %d (%v), want 9", len(deleted), err)
	}
}

func TestPruneWithoutKeepDeletesNothing(t *testing.T) {
	a, watch, usb := keepApp(t, "", "")
	tenDays(t, a, watch, usb)
	var out bytes.Buffer
	deleted, err := a.Prune(context.Background(), false, &out)
	if err != nil || len(deleted) != 0 {
		t.Fatalf("deleted %v, %v", deleted, err)
	}
}
