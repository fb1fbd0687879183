package queue

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// dropStoredForm undoes the stored-form migration, for tests that open a
// database from before it.
var dropStoredForm = []string{
	`ALTER TABLE jobs DROP COLUMN form`, `ALTER TABLE jobs DROP COLUMN stored_size`,
	`ALTER TABLE jobs DROP COLUMN stored_sha256`, `ALTER TABLE jobs DROP COLUMN recipients`,
}

func TestFormSuffixFollowsTheRemoteName(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	mt := time.Date(2026, 11, 23, 18, 5, 1, 0, time.UTC)
	s.SetForm("cloud", ".zst.age")
	if _, err := s.Enqueue(ctx, []Route{{Version: ver("day.bak", "a", mt), Destinations: []string{"cloud", "usb"}}}); err != nil {
		t.Fatal(err)
	}
	// New content under the same name: the timestamp goes before the
	// extension, the suffixes after it.
	if _, err := s.Enqueue(ctx, []Route{{Version: ver("day.bak", "b", mt), Destinations: []string{"cloud"}}}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Jobs(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range jobs {
		got = append(got, j.Destination+":"+j.RemotePath+"|"+j.Form)
	}
	slices.Sort(got)
	want := []string{
		"cloud:pos/day.2026-11-23T180501Z.bak.zst.age|.zst.age",
		"cloud:pos/day.bak.zst.age|.zst.age",
		"usb:pos/day.bak|",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("jobs\n got %q\nwant %q", got, want)
	}
}

func TestStoredFormIsRecordedAndCounted(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	mt := time.Now()
	s.SetForm("cloud", ".age")
	s.Enqueue(ctx, []Route{
		{Version: ver("a.bak", "a", mt), Destinations: []string{"cloud"}},
		{Version: ver("b.bak", "b", mt), Destinations: []string{"cloud"}},
		{Version: ver("c.bak", "c", mt), Destinations: []string{"cloud"}},
	})
	jobs, _ := s.Claim(ctx, Hold{}, 3)
	if len(jobs) != 3 {
		t.Fatalf("claimed %d", len(jobs))
	}
	old := []string{"age1old", "age1escrow"}
	for i, j := range jobs {
		r := old
		if i == 2 {
			r = []string{"age1new", "age1escrow"}
		}
		if err := s.SetStored(ctx, j.ID, 100+int64(i), "sha", r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Done(ctx, Finished{ID: jobs[0].ID}, Finished{ID: jobs[2].ID}); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Jobs(ctx, Filter{Destination: "cloud"})
	for _, j := range all {
		if j.StoredSHA256 != "sha" || j.StoredSize < 100 || len(j.Recipients) != 2 {
			t.Errorf("job %d: stored %d %q to %q", j.ID, j.StoredSize, j.StoredSHA256, j.Recipients)
		}
	}
	counts, err := s.StoredByRecipients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Only done jobs count: the second is not stored yet.
	if got := counts["cloud"]; got["age1old,age1escrow"] != 1 || got["age1new,age1escrow"] != 1 || len(got) != 2 {
		t.Fatalf("counts = %v", counts)
	}
}

func TestUpgradeAddsStoredForm(t *testing.T) {
	file := filepath.Join(t.TempDir(), "queue.db")
	s, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.Enqueue(ctx, []Route{{Version: ver("day.bak", "a", time.Now()), Destinations: []string{"usb"}}})
	downgrade(t, s, 7)
	s.Close()
	if s, err = Open(file); err != nil {
		t.Fatalf("open a database from before stored forms: %v", err)
	}
	defer s.Close()
	jobs, err := s.Jobs(ctx, Filter{})
	if err != nil || len(jobs) != 1 || jobs[0].Form != "" || jobs[0].RemotePath != "pos/day.bak" {
		t.Fatalf("after upgrade: %v %+v", err, jobs)
	}
}

func TestEncryptConvertsWaitingPlainJobs(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	mt := time.Now()
	s.Enqueue(ctx, []Route{
		{Version: ver("a.bak", "a", mt), Destinations: []string{"cloud"}},
		{Version: ver("b.bak", "b", mt), Destinations: []string{"cloud"}},
		{Version: ver("c.bak", "c", mt), Destinations: []string{"cloud"}},
	})
	jobs, _ := s.Claim(ctx, Hold{}, 3)
	byRel := map[string]*Job{}
	for _, j := range jobs {
		byRel[j.Version.Rel] = j
	}
	s.Done(ctx, Finished{ID: byRel["a.bak"].ID}) // already stored: stays as it is
	s.SaveSession(ctx, byRel["b.bak"].ID, []byte("plaintext session"), 100)
	s.Requeue(ctx, byRel["b.bak"].ID, time.Time{})
	s.Requeue(ctx, byRel["c.bak"].ID, time.Time{})
	n, err := s.Encrypt(ctx, "cloud", ".zst.age")
	if err != nil || n != 2 {
		t.Fatalf("Encrypt = %d, %v; want the 2 waiting jobs", n, err)
	}
	got := remotes(t, s, "cloud")
	if got["a.bak"] != "pos/a.bak" || got["b.bak"] != "pos/b.bak.zst.age" || got["c.bak"] != "pos/c.bak.zst.age" {
		t.Fatalf("remote paths %v", got)
	}
	all, _ := s.Jobs(ctx, Filter{Destination: "cloud"})
	for _, j := range all {
		if j.Version.Rel == "b.bak" && (j.Session != nil || j.Acked != 0 || j.Form != ".zst.age") {
			t.Fatalf("b.bak keeps its plaintext session: %+v", j)
		}
	}
	if n, _ := s.Encrypt(ctx, "cloud", ".zst.age"); n != 0 {
		t.Fatalf("a second Encrypt changed %d jobs", n)
	}
}

// A schedule's copy gets its destination's stored form as a routine upload
// does: the suffix after the whole name, the form kept with the job.
func TestScheduleCopyGetsTheStoredForm(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	mt := time.Date(2026, 3, 6, 17, 0, 0, 0, time.UTC)
	s.SetForm("cloud", ".zst.age")
	v := ver("day.bak", "aaa", mt)
	if _, err := s.Enqueue(ctx, []Route{{Version: v, Destinations: []string{"usb"}}}); err != nil {
		t.Fatal(err)
	}
	copies := []Copy{{Destination: "usb", Base: "weekly/pos/day.bak"}, {Destination: "cloud", Base: "weekly/pos/day.bak"}}
	if err := s.StartScheduleRun(ctx, "weekly", v, copies, mt, mt, false); err != nil {
		t.Fatal(err)
	}
	jobs, _ := s.Jobs(ctx, Filter{Purpose: ScheduleCopy})
	var got []string
	for _, j := range jobs {
		got = append(got, j.Destination+":"+j.RemotePath+" "+j.Form)
	}
	slices.Sort(got)
	want := []string{"cloud:weekly/pos/day.bak.zst.age .zst.age", "usb:weekly/pos/day.bak "}
	if !slices.Equal(got, want) {
		t.Fatalf("copies %q, want %q", got, want)
	}
}
