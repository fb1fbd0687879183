package app

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/daemon"
	"github.com/offsite-backup/offsite/notify"
)

const weeklySchedule = `schedules:
  - name: weekly
    cron: "0 18 * * FRI"
    timezone: UTC
    copy_latest: pos
    destinations: [usb]
    folder: weekly
    verify: true
    keep: {weekly: 2}
`

// notes collects what a daemon puts into its run reports.
type notes struct {
	mu  sync.Mutex
	all []string
}

func (n *notes) pipeline(a *App) *pipeline {
	d := daemon.New(daemon.Options{Store: a.Store, AfterRun: func(r notify.RunReport) {
		n.mu.Lock()
		n.all = append(n.all, r.Notes...)
		n.mu.Unlock()
	}})
	return &pipeline{daemon: d}
}

func (n *notes) take(p *pipeline) []string {
	p.daemon.FinishRun()
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.all
	n.all = nil
	return out
}

func TestWeeklyCopyCatchUpAndKeep(t *testing.T) {
	a, watch, usb := keepApp(t, "", weeklySchedule)
	ctx := context.Background()
	var ns notes
	p := ns.pipeline(a)
	retryAt := map[string]time.Time{}
	check := func(now time.Time) []string {
		a.runDueSchedules(ctx, now, retryAt, p.daemon.AddNote)
		return ns.take(p)
	}
	weekly := func(name string) string { return filepath.Join(usb, "weekly", "pos", name) }

	// 2026-03-04 is a Wednesday: the schedule is first seen, nothing runs.
	wed := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	v1 := backup(t, a, watch, "day 2026-03-02.bak", "monday", wed.Add(-48*time.Hour))
	uploaded(t, a, watch, v1)
	v2 := backup(t, a, watch, "day 2026-03-03.bak", "tuesday", wed.Add(-24*time.Hour))
	uploaded(t, a, watch, v2)
	if got := check(wed); len(got) != 0 || exists(filepath.Join(usb, "weekly")) {
		t.Fatalf("a new schedule ran for the past: %v", got)
	}
	// Friday 18:00:20: the newest done backup is copied, on time.
	fri := time.Date(2026, 3, 6, 18, 0, 20, 0, time.UTC)
	got := check(fri)
	if len(got) != 1 || got[0] != "schedule weekly copied usb:weekly/pos/day 2026-03-03.bak" {
		t.Fatalf("notes %q", got)
	}
	if b, err := os.ReadFile(weekly("day 2026-03-03.bak")); err != nil || string(b) != "tuesday" {
		t.Fatalf("copy: %q, %v", b, err)
	}
	if got := check(fri.Add(30 * time.Minute)); len(got) != 0 {
		t.Fatalf("ran twice for one Friday: %v", got)
	}

	// Off over two Fridays; back on Monday 16 March: one late run.
	v3 := backup(t, a, watch, "day 2026-03-12.bak", "thursday", time.Date(2026, 3, 12, 22, 0, 0, 0, time.UTC))
	uploaded(t, a, watch, v3)
	mon := time.Date(2026, 3, 16, 8, 0, 0, 0, time.UTC)
	got = check(mon)
	if len(got) != 1 || !strings.Contains(got[0], "copied usb:weekly/pos/day 2026-03-12.bak — ran late: it was due Fri 2026-03-13 18:00 UTC") {
		t.Fatalf("notes %q", got)
	}
	if got := check(mon.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("catch-up ran twice: %v", got)
	}

	// A file nobody recorded sits in the schedule's folder.
	if err := os.WriteFile(weekly("day 2026-03-01.bak"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Friday 20 March: a third weekly copy; keep {weekly: 2} drops the first.
	v4 := backup(t, a, watch, "day 2026-03-19.bak", "friday", time.Date(2026, 3, 19, 22, 0, 0, 0, time.UTC))
	uploaded(t, a, watch, v4)
	got = check(time.Date(2026, 3, 20, 18, 1, 0, 0, time.UTC))
	if len(got) != 2 || !strings.HasPrefix(got[0], "retention deleted usb:weekly/pos/day 2026-03-03.bak (schedule weekly, series \"weekly/pos/day <date>.bak\"; dropped:") ||
		got[1] != "schedule weekly copied usb:weekly/pos/day 2026-03-19.bak" {
		t.Fatalf("notes %q", got)
	}
	for name, want := range map[string]bool{"day 2026-03-03.bak": false, "day 2026-03-12.bak": true, "day 2026-03-19.bak": true, "day 2026-03-01.bak": true} {
		if exists(weekly(name)) != want {
			t.Errorf("%s present %v, want %v", name, !want, want)
		}
	}
	recs, _ := a.copies(ctx, "weekly", "usb")
	var paths []string
	for _, r := range recs {
		paths = append(paths, r.Path)
	}
	if !slices.Equal(paths, []string{"weekly/pos/day 2026-03-12.bak", "weekly/pos/day 2026-03-19.bak"}) {
		t.Errorf("recorded copies %v", paths)
	}

	// Friday 27 March with no new backup: the copy is already there, so
	// nothing is uploaded again.
	before, _ := os.Stat(weekly("day 2026-03-19.bak"))
	got = check(time.Date(2026, 3, 27, 18, 0, 5, 0, time.UTC))
	after, _ := os.Stat(weekly("day 2026-03-19.bak"))
	if len(got) != 1 || got[0] != "schedule weekly copied usb:weekly/pos/day 2026-03-19.bak" || !os.SameFile(before, after) {
		t.Fatalf("notes %q; file replaced: %v", got, !os.SameFile(before, after))
	}
}

func TestScheduleFailureRetriesLater(t *testing.T) {
	a, _, _ := keepApp(t, "", weeklySchedule)
	ctx := context.Background()
	var ns notes
	p := ns.pipeline(a)
	retryAt := map[string]time.Time{}
	wed := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	a.runDueSchedules(ctx, wed, retryAt, p.daemon.AddNote)
	fri := time.Date(2026, 3, 6, 18, 0, 0, 0, time.UTC)
	// No backup exists yet: the run fails, is reported, and not retried at once.
	a.runDueSchedules(ctx, fri, retryAt, p.daemon.AddNote)
	got := ns.take(p)
	if len(got) != 1 || !strings.Contains(got[0], "schedule weekly failed") || !strings.Contains(got[0], "no backup file to copy yet") {
		t.Fatalf("notes %q", got)
	}
	if last := a.timeMeta(ctx, lastRunKey("weekly")); !last.IsZero() {
		t.Fatalf("a failed run recorded last_run %v", last)
	}
	a.runDueSchedules(ctx, fri.Add(time.Minute), retryAt, p.daemon.AddNote)
	if got := ns.take(p); len(got) != 0 {
		t.Fatalf("retried within a minute: %q", got)
	}
}

// RunSchedules itself catches up at start: last_run from a week before
// and a Friday passed while it was not running.
func TestRunSchedulesCatchesUpAtStart(t *testing.T) {
	a, watch, usb := keepApp(t, "", weeklySchedule)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v := backup(t, a, watch, "a.bak", "a", time.Date(2026, 3, 5, 22, 0, 0, 0, time.UTC))
	uploaded(t, a, watch, v)
	a.setTimeMeta(ctx, lastRunKey("weekly"), time.Date(2026, 2, 27, 18, 0, 0, 0, time.UTC))
	var ns notes
	p := ns.pipeline(a)
	now := func() time.Time { return time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC) }
	done := make(chan struct{})
	go func() { a.RunSchedules(ctx, p, now); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for a.timeMeta(context.Background(), lastRunKey("weekly")).Before(now()) {
		if time.Now().After(deadline) {
			t.Fatal("catch-up run did not happen")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	got := ns.take(p)
	if len(got) != 1 || !strings.Contains(got[0], "ran late") {
		t.Fatalf("notes %q", got)
	}
	if !exists(filepath.Join(usb, "weekly", "pos", "a.bak")) {
		t.Error("no copy")
	}
}

// A schedule copy to a destination that compresses and encrypts is stored
// in that form too: nothing leaves in plaintext by the schedule's door.
func TestScheduleCopyIsStoredEncrypted(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	a, watch, usb := keepApp(t, "    compress: zstd\n    encrypt:\n      recipients: ["+id.Recipient().String()+"]\n", weeklySchedule)
	ctx := context.Background()
	var ns notes
	p := ns.pipeline(a)
	wed := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	v := backup(t, a, watch, "day 2026-03-03.bak", "tuesday's sales", wed.Add(-24*time.Hour))
	uploaded(t, a, watch, v)
	a.runDueSchedules(ctx, wed, map[string]time.Time{}, p.daemon.AddNote)
	a.runDueSchedules(ctx, time.Date(2026, 3, 6, 18, 0, 20, 0, time.UTC), map[string]time.Time{}, p.daemon.AddNote)
	stored := filepath.Join(usb, "weekly", "pos", "day 2026-03-03.bak.zst.age")
	b, err := os.ReadFile(stored)
	if err != nil {
		t.Fatalf("no encrypted schedule copy: %v (notes %q)", err, ns.take(p))
	}
	if exists(filepath.Join(usb, "weekly", "pos", "day 2026-03-03.bak")) || strings.Contains(string(b), "tuesday") {
		t.Fatal("a plaintext copy left by the schedule")
	}
	var out strings.Builder
	if _, err := codec.Decode(&out, strings.NewReader(string(b)), filepath.Base(stored), codec.Keys{Identities: []age.Identity{id}}, codec.Sum{}); err != nil || out.String() != "tuesday's sales" {
		t.Fatalf("decoded %q, %v", out.String(), err)
	}
}
