package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestSupersededAndRemovedAreNotGivenUp: neither counts as dead, retry does
// not revive them, and removed ones stay listed until acknowledged.
func TestSupersededAndRemovedAreNotGivenUp(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	s.Enqueue(ctx, []Route{
		{Version: ver("a.bak", "a", now), Destinations: []string{"usb"}},
		{Version: ver("b.bak", "b", now), Destinations: []string{"usb"}},
	})
	jobs, err := s.Claim(ctx, Hold{}, 2)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("claim = %d, %v", len(jobs), err)
	}
	if err := s.Supersede(ctx, jobs[0].ID, "rewritten"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, jobs[1].ID, "deleted"); err != nil {
		t.Fatal(err)
	}
	sum, _ := s.Summary(ctx)
	if c := sum[0].Counts; c[Dead] != 0 || c[Superseded] != 1 || c[Removed] != 1 {
		t.Fatalf("counts %v, want one superseded, one removed, none dead", c)
	}
	if n, _ := s.Retry(ctx, ""); n != 0 {
		t.Fatalf("retry revived %d superseded/removed jobs", n)
	}
	if d, _ := s.Depth(ctx); d != 0 {
		t.Fatalf("depth %d", d)
	}
	unacked, _ := s.Jobs(ctx, Filter{States: []State{Removed}, Unacked: true})
	if len(unacked) != 1 {
		t.Fatalf("%d unacknowledged removed jobs, want 1", len(unacked))
	}
	if n, err := s.Acknowledge(ctx, ""); err != nil || n != 1 {
		t.Fatalf("acknowledge = %d, %v", n, err)
	}
	if unacked, _ := s.Jobs(ctx, Filter{States: []State{Removed}, Unacked: true}); len(unacked) != 0 {
		t.Fatalf("still listed after acknowledging: %d", len(unacked))
	}
}

// TestMigrationMovesOldSupersededOutOfDead: a database written before the
// states existed keeps its history without counting it as given up.
func TestMigrationMovesOldSupersededOutOfDead(t *testing.T) {
	file := filepath.Join(t.TempDir(), "queue.db")
	s, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	s.Enqueue(ctx, []Route{
		{Version: ver("a.bak", "a", now), Destinations: []string{"usb"}},
		{Version: ver("b.bak", "b", now), Destinations: []string{"usb"}},
		{Version: ver("c.bak", "c", now), Destinations: []string{"usb"}},
	})
	jobs, _ := s.Claim(ctx, Hold{}, 3)
	s.Kill(ctx, jobs[0].ID, "superseded", "the source file changed after it was queued")
	s.Kill(ctx, jobs[1].ID, "superseded", "/srv/pos/b.bak was removed before it was sent")
	s.Kill(ctx, jobs[2].ID, "permanent", "name refused")
	// Back to the first schema, as a database written before the states
	// (and the later remote_key) existed; opening it again migrates it.
	downgrade(t, s, 1, append(dropStoredForm, `ALTER TABLE jobs DROP COLUMN acknowledged`, `DROP INDEX jobs_remote_key`, `ALTER TABLE jobs DROP COLUMN remote_key`)...)
	s.Close()

	s, err = Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sum, _ := s.Summary(ctx)
	if c := sum[0].Counts; c[Dead] != 1 || c[Superseded] != 1 || c[Removed] != 1 {
		t.Fatalf("counts after migration %v, want 1 dead, 1 superseded, 1 removed", c)
	}
	if unacked, _ := s.Jobs(ctx, Filter{States: []State{Removed}, Unacked: true}); len(unacked) != 0 {
		t.Fatalf("old removals reappear as unacknowledged: %d", len(unacked))
	}
}

// downgrade undoes later migrations by hand (drop, in reverse order) and
// records the database as of schema version v.
func downgrade(t *testing.T, s *Store, v int, drop ...string) {
	t.Helper()
	for _, q := range append(drop, fmt.Sprintf(`UPDATE meta SET value='%d' WHERE key='schema_version'`, v)) {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
