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
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/status"
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

// pipeline is the app's daemon, its run reports collected in n.
func (n *notes) pipeline(t *testing.T, a *App) *pipeline {
	t.Helper()
	o, err := a.daemonOptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{settled: make(chan struct{}, 1)}
	o.AfterRun = func(r notify.RunReport) {
		n.mu.Lock()
		n.all = append(n.all, r.Notes...)
		n.mu.Unlock()
		p.runEnded()
	}
	p.daemon = daemon.New(o)
	return p
}

func (n *notes) take(p *pipeline) []string {
	p.daemon.FinishRun()
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.all
	n.all = nil
	return out
}

// tick is one look of the schedules at now, with the daemon uploading
// whatever they queued in between, as `offsite once` does.
func tick(t *testing.T, a *App, p *pipeline, now time.Time) {
	t.Helper()
	ctx := context.Background()
	a.schedules().StartDue(ctx, now, p.daemon.AddNote)
	if err := p.daemon.Drain(ctx); err != nil {
		t.Logf("uploads not done: %v", err)
	}
	a.schedules().Finish(ctx, now, p.daemon.AddNote)
}

func TestWeeklyCopyCatchUpAndKeep(t *testing.T) {
	a, watch, usb := keepApp(t, "", weeklySchedule)
	ctx := context.Background()
	var ns notes
	p := ns.pipeline(t, a)
	check := func(now time.Time) []string {
		tick(t, a, p, now)
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
	recs, _ := a.Store.Jobs(ctx, queue.Filter{Purpose: queue.ScheduleCopy, Schedule: "weekly", States: []queue.State{queue.Done}})
	var paths []string
	for _, r := range recs {
		paths = append(paths, r.RemotePath)
	}
	slices.Sort(paths)
	if !slices.Equal(paths, []string{"weekly/pos/day 2026-03-12.bak", "weekly/pos/day 2026-03-19.bak"}) {
		t.Errorf("copies kept %v", paths)
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
	p := ns.pipeline(t, a)
	wed := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	tick(t, a, p, wed)
	fri := time.Date(2026, 3, 6, 18, 0, 0, 0, time.UTC)
	// No backup exists yet: the run fails, is reported, and not retried at once.
	tick(t, a, p, fri)
	got := ns.take(p)
	if len(got) != 1 || !strings.Contains(got[0], "schedule weekly failed") || !strings.Contains(got[0], "no backup file to copy yet") {
		t.Fatalf("notes %q", got)
	}
	if run, _ := a.Store.ScheduleRunOf(ctx, "weekly"); !run.LastRun.IsZero() {
		t.Fatalf("a failed run recorded last_run %v", run.LastRun)
	}
	tick(t, a, p, fri.Add(time.Minute))
	if got := ns.take(p); len(got) != 0 {
		t.Fatalf("retried within a minute: %q", got)
	}
}

// A copy whose source was rewritten before it was sent fails the run,
// which is planned again with the newer backup.
func TestScheduleRunWithRewrittenSourceIsPlannedAgain(t *testing.T) {
	a, watch, usb := keepApp(t, "", weeklySchedule)
	ctx := context.Background()
	var ns notes
	p := ns.pipeline(t, a)
	wed := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	v1 := backup(t, a, watch, "day.bak", "one", wed.Add(-time.Hour))
	uploaded(t, a, watch, v1)
	tick(t, a, p, wed)
	fri := time.Date(2026, 3, 6, 18, 0, 0, 0, time.UTC)
	if !a.schedules().StartDue(ctx, fri, p.daemon.AddNote) {
		t.Fatal("nothing queued on Friday")
	}
	// Rewritten after the copy was queued, before it went out.
	v2 := backup(t, a, watch, "day.bak", "two!", fri.Add(time.Minute))
	uploaded(t, a, watch, v2)
	p.daemon.Drain(ctx)
	a.schedules().Finish(ctx, fri, p.daemon.AddNote)
	got := ns.take(p)
	if len(got) != 1 || !strings.Contains(got[0], "schedule weekly failed (will try again in 10m0s)") {
		t.Fatalf("notes %q", got)
	}
	tick(t, a, p, fri.Add(11*time.Minute))
	got = ns.take(p)
	if len(got) != 1 || !strings.HasPrefix(got[0], "schedule weekly copied usb:weekly/pos/day.bak") {
		t.Fatalf("notes %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(usb, "weekly", "pos", "day.bak")); string(b) != "two!" {
		t.Fatalf("copy holds %q", b)
	}
}

// RunSchedules itself catches up at start: last_run from a week before
// and a Friday passed while it was not running. The copy is uploaded by
// the daemon's lanes, and the run ends when it is done.
func TestRunSchedulesCatchesUpAtStart(t *testing.T) {
	a, watch, usb := keepApp(t, "", weeklySchedule)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v := backup(t, a, watch, "a.bak", "a", time.Date(2026, 3, 5, 22, 0, 0, 0, time.UTC))
	uploaded(t, a, watch, v)
	if err := a.Store.SetLastRun(ctx, "weekly", time.Date(2026, 2, 27, 18, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	var ns notes
	p := ns.pipeline(t, a)
	now := func() time.Time { return time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC) }
	var wg sync.WaitGroup
	wg.Go(func() { p.daemon.Run(ctx) })
	wg.Go(func() { a.RunSchedules(ctx, p, now) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		run, _ := a.Store.ScheduleRunOf(context.Background(), "weekly")
		if !run.LastRun.Before(now()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("catch-up run did not happen")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	got := ns.take(p)
	if !slices.ContainsFunc(got, func(n string) bool { return strings.Contains(n, "ran late") }) {
		t.Fatalf("notes %q", got)
	}
	if !exists(filepath.Join(usb, "weekly", "pos", "a.bak")) {
		t.Error("no copy")
	}
}

// A run whose destinations all left the schedule's config since it began
// ends as failed, to be planned again for the destinations it names now.
func TestScheduleRunWithDestinationsGoneFails(t *testing.T) {
	a, watch, _ := keepApp(t, "", weeklySchedule)
	ctx := context.Background()
	var ns notes
	p := ns.pipeline(t, a)
	wed := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	uploaded(t, a, watch, backup(t, a, watch, "day.bak", "one", wed.Add(-time.Hour)))
	tick(t, a, p, wed)
	fri := time.Date(2026, 3, 6, 18, 0, 0, 0, time.UTC)
	if !a.schedules().StartDue(ctx, fri, p.daemon.AddNote) {
		t.Fatal("nothing queued on Friday")
	}
	a.Cfg.Schedules[0].Destinations = []string{"elsewhere"}
	a.schedules().Finish(ctx, fri, p.daemon.AddNote)
	got := ns.take(p)
	if len(got) != 1 || !strings.Contains(got[0], "schedule weekly failed") || !strings.Contains(got[0], "none of its copies goes to the destinations it now names") {
		t.Fatalf("notes %q", got)
	}
	if run, _ := a.Store.ScheduleRunOf(ctx, "weekly"); run.Open() || !run.RetryAt.Equal(fri.Add(10*time.Minute)) {
		t.Fatalf("run %+v", run)
	}
}

// A schedule's copy shows in status like any upload: failing past
// alert_after it is a problem that turns the light red, and once done it
// is among the recent uploads, at its own name.
func TestScheduleCopyShowsInStatus(t *testing.T) {
	a, watch, _ := keepApp(t, "", weeklySchedule)
	ctx := context.Background()
	var ns notes
	p := ns.pipeline(t, a)
	wed := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	uploaded(t, a, watch, backup(t, a, watch, "day.bak", "one", wed.Add(-time.Hour)))
	tick(t, a, p, wed)
	if !a.schedules().StartDue(ctx, time.Date(2026, 3, 6, 18, 0, 0, 0, time.UTC), p.daemon.AddNote) {
		t.Fatal("nothing queued on Friday")
	}
	copies, _ := a.Store.Jobs(ctx, queue.Filter{Purpose: queue.ScheduleCopy})
	if len(copies) != 1 {
		t.Fatalf("%d copy jobs", len(copies))
	}
	for range a.Cfg.Retry.AlertAfter {
		if _, err := a.Store.Fail(ctx, copies[0].ID, "temporary", "disk busy", time.Now(), true); err != nil {
			t.Fatal(err)
		}
	}
	st, err := a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.OK || len(st.Problems) != 1 || st.Problems[0].Remote != "weekly/pos/day.bak" {
		t.Fatalf("status with a failing copy: ok %v, problems %+v", st.OK, st.Problems)
	}
	if _, err := a.Store.Retry(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := p.daemon.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ = a.Status(ctx)
	if !st.OK || !slices.ContainsFunc(st.Recent, func(j status.Job) bool { return j.Remote == "weekly/pos/day.bak" && j.Destination == "usb" }) {
		t.Fatalf("status after the copy: ok %v %v, recent %+v", st.OK, st.Concerns, st.Recent)
	}
}

// With verify, a copy that does not read back as it was sent is sent
// again, and the run ends only when a copy verifies.
func TestScheduleVerifySendsABadCopyAgain(t *testing.T) {
	a, watch, usb := keepApp(t, "", weeklySchedule)
	ctx := context.Background()
	var ns notes
	p := ns.pipeline(t, a)
	wed := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	uploaded(t, a, watch, backup(t, a, watch, "day.bak", "the backup", wed.Add(-time.Hour)))
	tick(t, a, p, wed)
	fri := time.Date(2026, 3, 6, 18, 0, 0, 0, time.UTC)
	a.schedules().StartDue(ctx, fri, p.daemon.AddNote)
	if err := p.daemon.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(usb, "weekly", "pos", "day.bak")
	if err := os.WriteFile(copyPath, []byte("bit rot!!!"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.schedules().Finish(ctx, fri, p.daemon.AddNote)
	got := ns.take(p)
	if len(got) != 1 || !strings.Contains(got[0], "the stored copy differs from the source") || !strings.HasSuffix(got[0], "; sending it again") {
		t.Fatalf("notes %q", got)
	}
	if run, _ := a.Store.ScheduleRunOf(ctx, "weekly"); !run.Open() {
		t.Fatal("the run ended with a bad copy")
	}
	tick(t, a, p, fri.Add(time.Minute))
	got = ns.take(p)
	if len(got) != 1 || got[0] != "schedule weekly copied usb:weekly/pos/day.bak" {
		t.Fatalf("notes %q", got)
	}
	if b, _ := os.ReadFile(copyPath); string(b) != "the backup" {
		t.Fatalf("copy holds %q", b)
	}
}

// A schedule copy to a destination that compresses and encrypts is queued
// in that form and stored so: nothing leaves in plaintext by the
// schedule's door.
func TestScheduleCopyIsStoredEncrypted(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	a, watch, usb := keepApp(t, "    compress: zstd\n    encrypt:\n      recipients: ["+id.Recipient().String()+"]\n", weeklySchedule)
	ctx := context.Background()
	var ns notes
	p := ns.pipeline(t, a)
	wed := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	v := backup(t, a, watch, "day 2026-03-03.bak", "tuesday's sales", wed.Add(-24*time.Hour))
	uploaded(t, a, watch, v)
	tick(t, a, p, wed)
	tick(t, a, p, time.Date(2026, 3, 6, 18, 0, 20, 0, time.UTC))
	got := ns.take(p)
	if len(got) != 1 || got[0] != "schedule weekly copied usb:weekly/pos/day 2026-03-03.bak.zst.age" {
		t.Fatalf("notes %q", got)
	}
	copies, _ := a.Store.Jobs(ctx, queue.Filter{Purpose: queue.ScheduleCopy, States: []queue.State{queue.Done}})
	if len(copies) != 1 || copies[0].Form != ".zst.age" || copies[0].StoredSHA256 == "" || len(copies[0].Recipients) != 1 {
		t.Fatalf("copy jobs %+v", copies)
	}
	stored := filepath.Join(usb, "weekly", "pos", "day 2026-03-03.bak.zst.age")
	b, err := os.ReadFile(stored)
	if err != nil {
		t.Fatalf("no encrypted schedule copy: %v", err)
	}
	if exists(filepath.Join(usb, "weekly", "pos", "day 2026-03-03.bak")) || strings.Contains(string(b), "tuesday") {
		t.Fatal("a plaintext copy left by the schedule")
	}
	var out strings.Builder
	if _, err := codec.Decode(&out, strings.NewReader(string(b)), filepath.Base(stored), codec.Keys{Identities: []age.Identity{id}}, codec.Sum{}); err != nil || out.String() != "tuesday's sales" {
		t.Fatalf("decoded %q, %v", out.String(), err)
	}
}
