package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
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
	downgrade(t, s, 1, `ALTER TABLE jobs DROP COLUMN acknowledged`, `DROP INDEX jobs_remote_key`, `ALTER TABLE jobs DROP COLUMN remote_key`)
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

// undoPurposes undoes the migration that gave jobs a purpose.
func undoPurposes(t *testing.T, s *Store) {
	t.Helper()
	tx, err := s.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := replaceJobsKey(context.Background(), tx, jobKeyPurpose, jobKeyRoutine); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE jobs DROP COLUMN purpose`, `ALTER TABLE jobs DROP COLUMN schedule`, `DROP TABLE schedule_runs`} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// downgrade undoes later migrations by hand (drop, in reverse order) and
// records the database as of schema version v.
// Migrations after v and after the third are undone first, from
// undoLater, so appending a migration keeps the upgrade tests valid; drop
// undoes the first three by hand.
func downgrade(t *testing.T, s *Store, v int, drop ...string) {
	t.Helper()
	for i := len(migrations); i > max(v, 3); i-- {
		undo, ok := undoLater[i]
		if !ok {
			t.Fatalf("migration %d has no entry in undoLater", i)
		}
		undo(t, s)
	}
	for _, q := range append(drop, fmt.Sprintf(`UPDATE meta SET value='%d' WHERE key='schema_version'`, v)) {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// undoLater reverses each migration after the third, by its number.
var undoLater = map[int]func(t *testing.T, s *Store){
	4:  undoSQL(`DROP TABLE refusals`),
	5:  undoSQL(`ALTER TABLE versions DROP COLUMN digests`),
	6:  undoPurposes,
	7:  undoSQL(`DROP TABLE watch_state`, `DROP TABLE failing`, `DROP TABLE marks`),
	8:  undoSQL(dropStoredForm...),
	9:  undoSQL(`DROP TABLE drills`, `DROP TABLE restore_failures`),
	10: undoSQL(`DROP TABLE daemon`),
}

func undoSQL(stmts ...string) func(t *testing.T, s *Store) {
	return func(t *testing.T, s *Store) {
		t.Helper()
		for _, q := range stmts {
			if _, err := s.db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
}

// Every Go step is named by exactly one migration, and every name a
// migration gives is a step.
func TestMigrationStepsAreNamedOnce(t *testing.T) {
	named := map[string]int{}
	for i, m := range migrations {
		step, err := stepOf(m)
		if err != nil {
			t.Errorf("migration %d: %v", i+1, err)
		}
		if step != nil {
			first, _, _ := strings.Cut(m, "\n")
			named[strings.TrimPrefix(first, "-- then: ")]++
		}
	}
	for name := range steps {
		if named[name] != 1 {
			t.Errorf("step %q is named by %d migrations, want 1", name, named[name])
		}
	}
}
