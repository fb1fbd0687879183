package queue

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ver(rel, sum string, mtime time.Time) Version {
	return Version{Watch: "pos", Rel: rel, Size: 10, ModTime: mtime, SHA256: sum}
}

func TestEnqueueOncePerVersionAndDestination(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	mt := time.Date(2026, 11, 23, 18, 5, 1, 0, time.UTC)
	r := Route{Version: ver("day.bak", "aaa", mt), Destinations: []string{"usb", "cloud"}}
	n, err := s.Enqueue(ctx, []Route{r, r})
	if err != nil || n != 2 {
		t.Fatalf("first enqueue = %d, %v; want 2 jobs", n, err)
	}
	n, _ = s.Enqueue(ctx, []Route{r})
	if n != 0 {
		t.Fatalf("identical content queued again: %d new jobs", n)
	}
}

func TestNewContentAtSameNameGetsTimestampedName(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	t1 := time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	t2 := time.Date(2026, 11, 23, 18, 5, 1, 0, time.FixedZone("CET", 3600))
	s.Enqueue(ctx, []Route{{Version: ver("data.xlsx", "v1", t1), Destinations: []string{"usb"}}})
	s.Enqueue(ctx, []Route{{Version: ver("data.xlsx", "v2", t2), Destinations: []string{"usb"}}})
	s.Enqueue(ctx, []Route{{Version: ver("data.xlsx", "v3", t2), Destinations: []string{"usb"}}})
	jobs, err := s.Jobs(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, j := range jobs {
		got[j.Version.SHA256] = j.RemotePath
	}
	want := map[string]string{
		"v1": "pos/data.xlsx",
		"v2": "pos/data.2026-11-23T170501Z.xlsx",
		"v3": "pos/data.2026-11-23T170501Z-2.xlsx",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s → %q, want %q", k, got[k], v)
		}
	}
}

func TestClaimLifecycleAndRecover(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	s.Enqueue(ctx, []Route{{Version: ver("a.bak", "a", now), Destinations: []string{"usb"}}})
	j, err := claim1(s)
	if err != nil || j == nil || j.State != Uploading {
		t.Fatalf("claim = %+v, %v", j, err)
	}
	if again, _ := claim1(s); again != nil {
		t.Fatal("a claimed job was handed out twice")
	}
	// A crash: the job is Uploading when the process dies.
	if n, _ := s.Recover(ctx); n != 1 {
		t.Fatalf("recover = %d", n)
	}
	j, _ = claim1(s)
	s.SaveSession(ctx, j.ID, []byte("sess"), 100)
	att, err := s.Fail(ctx, j.ID, "temporary", "boom", now.Add(time.Minute), true)
	if err != nil || att != 1 {
		t.Fatal(att, err)
	}
	if j2, _ := claim1(s); j2 != nil {
		t.Fatal("job claimed before next_attempt_at")
	}
	now = now.Add(2 * time.Minute)
	j, _ = claim1(s)
	if j == nil || string(j.Session) != "sess" || j.Acked != 100 {
		t.Fatalf("session not kept across a failure: %+v", j)
	}
	if err := s.Done(ctx, Finished{ID: j.ID, RemoteHash: "hash"}); err != nil {
		t.Fatal(err)
	}
	sum, _ := s.Summary(ctx)
	if len(sum) != 1 || sum[0].Counts[Done] != 1 || sum[0].LastSuccess.IsZero() {
		t.Fatalf("summary %+v", sum)
	}
}

func TestPausedDestinationIsSkippedUntilRetry(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Now()
	s.SetClock(func() time.Time { return now })
	s.Enqueue(ctx, []Route{{Version: ver("a.bak", "a", now), Destinations: []string{"cloud", "usb"}}})
	isNew, _ := s.PauseDestination(ctx, "cloud", "auth", "login revoked", now.Add(time.Hour))
	again, _ := s.PauseDestination(ctx, "cloud", "auth", "login revoked", now.Add(2*time.Hour))
	if !isNew || again {
		t.Fatalf("new pause %v, repeated pause reported new %v", isNew, again)
	}
	j, _ := claim1(s)
	if j == nil || j.Destination != "usb" {
		t.Fatalf("claimed %+v, want the usb job", j)
	}
	if j, _ := claim1(s); j != nil {
		t.Fatal("paused destination's job claimed")
	}
	now = now.Add(3 * time.Hour)
	if j, _ := claim1(s); j == nil || j.Destination != "cloud" {
		t.Fatal("probe job not released after the pause's retry time")
	}
}

func TestOutboxDedupes(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	n, _ := s.AddOutbox(ctx, []string{"mail", "hook"}, "dest/cloud/auth", []byte("{}"))
	m, _ := s.AddOutbox(ctx, []string{"mail", "hook"}, "dest/cloud/auth", []byte("{}"))
	if n != 2 || m != 0 {
		t.Fatalf("added %d then %d", n, m)
	}
	due, _ := s.DueOutbox(ctx, time.Now(), 10)
	if len(due) != 2 {
		t.Fatal(due)
	}
	s.SentOutbox(ctx, due[0].ID, time.Now())
	s.RetryOutbox(ctx, due[1].ID, time.Now().Add(time.Hour), "down")
	if due, _ := s.DueOutbox(ctx, time.Now(), 10); len(due) != 0 {
		t.Fatalf("still due: %+v", due)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	file := filepath.Join(t.TempDir(), "q.db")
	s, _ := Open(file)
	s.Enqueue(context.Background(), []Route{{Version: ver("a.bak", "a", time.Now()), Destinations: []string{"usb"}}})
	s.Close()
	s, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d, _ := s.Depth(context.Background()); d != 1 {
		t.Fatalf("depth after reopen = %d", d)
	}
}

func claim1(s *Store) (*Job, error) {
	jobs, err := s.Claim(context.Background(), Hold{}, 1)
	if err != nil || len(jobs) == 0 {
		return nil, err
	}
	return jobs[0], nil
}

func TestHeldWatchesAndDestinationsAreNotClaimed(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	s.Enqueue(ctx, []Route{{Version: ver("a.bak", "a", time.Now()), Destinations: []string{"usb", "cloud"}}})
	if jobs, _ := s.Claim(ctx, Hold{Watches: []string{"pos"}}, 10); len(jobs) != 0 {
		t.Fatalf("held watch's jobs claimed: %d", len(jobs))
	}
	jobs, _ := s.Claim(ctx, Hold{Destinations: []string{"cloud"}}, 10)
	if len(jobs) != 1 || jobs[0].Destination != "usb" {
		t.Fatalf("claimed %+v, want only the usb job", jobs)
	}
}

func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	file := filepath.Join(t.TempDir(), "q.db")
	s, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Enqueue(context.Background(), []Route{{Version: ver("a.bak", "a", time.Now()), Destinations: []string{"usb"}}})
	for _, f := range []string{file, file + "-wal"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v, want owner-only", filepath.Base(f), st.Mode().Perm())
		}
	}
}

func foldKey(p string) string { return strings.ToLower(p) }

func remotes(t *testing.T, s *Store, dest string) map[string]string {
	t.Helper()
	jobs, err := s.Jobs(context.Background(), Filter{Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, j := range jobs {
		got[j.Version.Rel] = j.RemotePath
	}
	return got
}

// A case-insensitive destination must not get Kassa.bak and kassa.bak
// under one name; a case-sensitive one keeps both names as they are.
func TestNamesReservedOnFoldedKey(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	if err := s.SetNameKey(ctx, "cloud", foldKey); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2026, 11, 23, 18, 5, 1, 0, time.UTC)
	s.Enqueue(ctx, []Route{
		{Version: ver("Kassa.bak", "a", mt), Destinations: []string{"cloud", "drive"}},
		{Version: ver("kassa.bak", "b", mt), Destinations: []string{"cloud", "drive"}},
	})
	got := remotes(t, s, "cloud")
	if got["Kassa.bak"] != "pos/Kassa.bak" || got["kassa.bak"] != "pos/kassa.2026-11-23T180501Z.bak" {
		t.Errorf("case-insensitive destination: %q", got)
	}
	got = remotes(t, s, "drive")
	if got["Kassa.bak"] != "pos/Kassa.bak" || got["kassa.bak"] != "pos/kassa.bak" {
		t.Errorf("case-sensitive destination: %q", got)
	}
}

// Jobs queued before the destination's key was known (an older offsite)
// are keyed again, so a new file cannot take a name they hold; jobs that
// already collide do not stop the start.
func TestSetNameKeyRekeysOldJobs(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	mt := time.Date(2026, 11, 23, 18, 5, 1, 0, time.UTC)
	s.Enqueue(ctx, []Route{
		{Version: ver("A.bak", "a", mt), Destinations: []string{"cloud"}},
		{Version: ver("a.bak", "b", mt), Destinations: []string{"cloud"}},
	})
	if err := s.SetNameKey(ctx, "cloud", foldKey); err != nil {
		t.Fatalf("SetNameKey over jobs that already collide: %v", err)
	}
	if err := s.SetNameKey(ctx, "cloud", foldKey); err != nil {
		t.Fatal(err)
	}
	s.Enqueue(ctx, []Route{{Version: ver("a.BAK", "c", mt), Destinations: []string{"cloud"}}})
	if got := remotes(t, s, "cloud")["a.BAK"]; got != "pos/a.2026-11-23T180501Z.BAK" {
		t.Errorf("a.BAK after A.bak and a.bak → %q, want the timestamped name", got)
	}
}

// A database from before remote_key gets the column on open, and its jobs
// keep their names and reserve them.
func TestUpgradeAddsRemoteKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "queue.db")
	s, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mt := time.Date(2026, 11, 23, 18, 5, 1, 0, time.UTC)
	s.Enqueue(ctx, []Route{{Version: ver("Kassa.bak", "a", mt), Destinations: []string{"cloud"}}})
	downgrade(t, s, 2, `DROP INDEX jobs_remote_key`, `ALTER TABLE jobs DROP COLUMN remote_key`)
	s.Close()
	if s, err = Open(file); err != nil {
		t.Fatalf("open a database from before remote_key: %v", err)
	}
	defer s.Close()
	if err := s.SetNameKey(ctx, "cloud", foldKey); err != nil {
		t.Fatal(err)
	}
	s.Enqueue(ctx, []Route{{Version: ver("kassa.bak", "b", mt), Destinations: []string{"cloud"}}})
	got := remotes(t, s, "cloud")
	if got["Kassa.bak"] != "pos/Kassa.bak" || got["kassa.bak"] != "pos/kassa.2026-11-23T180501Z.bak" {
		t.Errorf("after the upgrade: %q", got)
	}
}

// TestDamagedDatabaseSaysWhatToDo: a queue file SQLite cannot read (disk
// damage, another file copied over it) names the fix, not only SQLite's
// code.
func TestDamagedDatabaseSaysWhatToDo(t *testing.T) {
	file := filepath.Join(t.TempDir(), "queue.db")
	s, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Keep the header, damage the rest: what a bad sector leaves.
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i := 100; i < len(b); i++ {
		b[i] = 0xA5
	}
	for _, body := range [][]byte{b, []byte("not a database at all, but long enough to have a header......................................................")} {
		if err := os.WriteFile(file, body, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(file)
		if err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), "move queue.db") {
			t.Errorf("open a damaged queue: %v", err)
		}
	}
}

// TestInFlightKeepsEachListWhole: uploads under way and failing ones come
// from one read, at most limit of each, so many failures cannot push the
// uploads under way out of status.
func TestInFlightKeepsEachListWhole(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	mt := time.Date(2026, 11, 23, 18, 5, 1, 0, time.UTC)
	var routes []Route
	for _, name := range []string{"a.bak", "b.bak", "c.bak", "d.bak", "e.bak"} {
		routes = append(routes, Route{Version: ver(name, name, mt), Destinations: []string{"usb"}})
	}
	if _, err := s.Enqueue(ctx, routes); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Claim(ctx, Hold{}, 5)
	if err != nil || len(jobs) != 5 {
		t.Fatalf("claim: %d, %v", len(jobs), err)
	}
	for _, j := range jobs[:3] {
		if _, err := s.Fail(ctx, j.ID, "network", "reset", time.Now().Add(time.Hour), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Kill(ctx, jobs[3].ID, "refused", "name refused"); err != nil {
		t.Fatal(err)
	}
	up, failing, err := s.InFlight(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(up) != 1 || up[0].ID != jobs[4].ID || up[0].State != Uploading {
		t.Errorf("uploading = %+v, want only %s", up, jobs[4].Version.Rel)
	}
	if len(failing) != 2 {
		t.Errorf("failing = %d jobs, want the limit of 2", len(failing))
	}
	for _, j := range failing {
		if j.State != Failed && j.State != Dead {
			t.Errorf("%s in the failing list is %s", j.Version.Rel, j.State)
		}
	}
}
