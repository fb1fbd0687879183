package queue

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A schedule's copy and the routine upload of one version to one
// destination are two jobs with two names; running the schedule again for
// the same version adds nothing, and a copy of another version of the same
// file gets the timestamped name.
func TestScheduleCopiesAreJobsBesideRoutineUploads(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	mt := time.Date(2026, 3, 6, 17, 0, 0, 0, time.UTC)
	v1 := ver("day.bak", "aaa", mt)
	if _, err := s.Enqueue(ctx, []Route{{Version: v1, Destinations: []string{"usb"}}}); err != nil {
		t.Fatal(err)
	}
	copies := []Copy{{Destination: "usb", Base: "weekly/pos/day.bak"}, {Destination: "cloud", Base: "weekly/pos/day.bak"}}
	start := mt.Add(time.Hour)
	if err := s.StartScheduleRun(ctx, "weekly", v1, copies, start, start, false); err != nil {
		t.Fatal(err)
	}
	if err := s.StartScheduleRun(ctx, "weekly", v1, copies, start, start, false); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Jobs(ctx, Filter{})
	var got []string
	for _, j := range all {
		got = append(got, string(j.Purpose)+" "+j.Schedule+" "+j.Destination+":"+j.RemotePath)
	}
	slices.Sort(got)
	want := []string{"routine  usb:pos/day.bak", "schedule weekly cloud:weekly/pos/day.bak", "schedule weekly usb:weekly/pos/day.bak"}
	if !slices.Equal(got, want) {
		t.Fatalf("jobs %q, want %q", got, want)
	}
	// The start-up scan sees the routine job only: cloud is not routed, and
	// the schedule's copy there does not count as its upload.
	known, _ := s.Known(ctx)
	if d := known[KnownKey("pos", "day.bak", 10, mt)]; !slices.Equal(d, []string{"usb"}) {
		t.Fatalf("known destinations %v, want [usb]", d)
	}
	if n, _ := s.Enqueue(ctx, []Route{{Version: v1, Destinations: []string{"usb", "cloud"}}}); n != 1 {
		t.Fatalf("routing cloud later queued %d routine jobs, want 1", n)
	}

	run, err := s.ScheduleRunOf(ctx, "weekly")
	if err != nil || !run.Open() || !run.Started.Equal(start) {
		t.Fatalf("run %+v, %v", run, err)
	}
	if err := s.EndScheduleRun(ctx, "weekly", true, time.Time{}); err != nil {
		t.Fatal(err)
	}
	run, _ = s.ScheduleRunOf(ctx, "weekly")
	if run.Open() || !run.LastRun.Equal(start) || !run.RetryAt.IsZero() {
		t.Fatalf("after a complete run: %+v", run)
	}

	// The file is rewritten; next week's copy cannot take the name.
	mt2 := mt.Add(7 * 24 * time.Hour)
	v2 := ver("day.bak", "bbb", mt2)
	s.Enqueue(ctx, []Route{{Version: v2, Destinations: []string{"usb"}}})
	if err := s.StartScheduleRun(ctx, "weekly", v2, copies[:1], mt2, mt2, true); err != nil {
		t.Fatal(err)
	}
	c2, _ := s.Jobs(ctx, Filter{Purpose: ScheduleCopy, Schedule: "weekly", Destination: "usb", VersionID: jobIDVersion(t, s, v2)})
	if len(c2) != 1 || c2[0].RemotePath != "weekly/pos/day.2026-03-13T170000Z.bak" {
		t.Fatalf("second copy %+v", c2)
	}
	// It fails for good; the run ends failed and is planned again later,
	// which makes the same copy due again.
	claimed, _ := s.Claim(ctx, Hold{}, 10)
	for _, j := range claimed {
		if j.ID == c2[0].ID {
			s.Kill(ctx, j.ID, "permanent", "refused")
		}
	}
	retry := mt2.Add(10 * time.Minute)
	if err := s.EndScheduleRun(ctx, "weekly", false, retry); err != nil {
		t.Fatal(err)
	}
	run, _ = s.ScheduleRunOf(ctx, "weekly")
	if run.Open() || !run.LastRun.Equal(start) || !run.RetryAt.Equal(retry) {
		t.Fatalf("after a failed run: %+v", run)
	}
	if err := s.StartScheduleRun(ctx, "weekly", v2, copies[:1], retry, mt2, true); err != nil {
		t.Fatal(err)
	}
	c2, _ = s.Jobs(ctx, Filter{Purpose: ScheduleCopy, Schedule: "weekly", Destination: "usb", VersionID: c2[0].VersionID})
	if len(c2) != 1 || c2[0].State != Pending {
		t.Fatalf("copy after the run was planned again: %+v", c2)
	}
	if run, _ = s.ScheduleRunOf(ctx, "weekly"); !run.Late || !run.RetryAt.IsZero() {
		t.Fatalf("run %+v", run)
	}
}

func jobIDVersion(t *testing.T, s *Store, v Version) int64 {
	t.Helper()
	var id int64
	if err := s.db.QueryRow(`SELECT id FROM versions WHERE watch=? AND rel_path=? AND sha256=?`, v.Watch, v.Rel, v.SHA256).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// A database from before copies were jobs: the schedules' JSON records
// become done copy jobs, their times a schedule_runs row, and the meta
// rows are gone.
func TestUpgradeMovesScheduleRecordsIntoJobs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "queue.db")
	s, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mt := time.Date(2026, 3, 3, 22, 0, 0, 0, time.UTC)
	v := ver("day 2026-03-03.bak", "aaa", mt)
	s.Enqueue(ctx, []Route{{Version: v, Destinations: []string{"usb"}}})
	downgrade(t, s, 3,
		`INSERT INTO meta(key,value) VALUES('schedule/weekly/copies/usb','[{"path":"weekly/pos/day 2026-03-03.bak","time":"2026-03-03T22:00:00Z","sha256":"aaa"},{"path":"weekly/pos/gone.bak","time":"2026-01-01T00:00:00Z","sha256":"zzz"}]')`,
		`INSERT INTO meta(key,value) VALUES('schedule/weekly/last_run','2026-03-06T18:00:20.5Z')`,
		`INSERT INTO meta(key,value) VALUES('schedule/weekly/first_seen','2026-03-04T09:00:00Z')`)
	s.Close()

	s, err = Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	copies, err := s.Jobs(ctx, Filter{Purpose: ScheduleCopy, Schedule: "weekly", Destination: "usb"})
	if err != nil || len(copies) != 1 {
		t.Fatalf("copy jobs %d, %v; want 1", len(copies), err)
	}
	if c := copies[0]; c.State != Done || c.RemotePath != "weekly/pos/day 2026-03-03.bak" || c.Version.Rel != v.Rel {
		t.Fatalf("copy job %+v", c)
	}
	run, _ := s.ScheduleRunOf(ctx, "weekly")
	if !run.LastRun.Equal(time.Date(2026, 3, 6, 18, 0, 20, 5e8, time.UTC)) || !run.FirstSeen.Equal(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)) || run.Open() {
		t.Fatalf("run %+v", run)
	}
	var left int
	s.db.QueryRow(`SELECT COUNT(*) FROM meta WHERE key LIKE 'schedule/%'`).Scan(&left)
	if left != 0 {
		t.Fatalf("%d schedule meta rows left", left)
	}
	// The routine job kept its row and its unique key still holds.
	if n, _ := s.Enqueue(ctx, []Route{{Version: v, Destinations: []string{"usb"}}}); n != 0 {
		t.Fatalf("routine upload queued again after the upgrade: %d", n)
	}
}
