package queue

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// A database from before the typed state: every fact kept in meta moves
// to its table and reads back through its accessor; meta keeps only the
// schema version.
func TestUpgradeMovesMetaIntoTables(t *testing.T) {
	file := filepath.Join(t.TempDir(), "queue.db")
	s, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	downgrade(t, s, 6,
		`INSERT INTO meta(key,value) VALUES
			('failing/cloud','2026-03-02T10:00:00.5Z'),
			('watching_since/pos','2026-01-01T08:00:00Z'),
			('small_judged/pos','abc'),
			('silence/*','2026-04-01T00:00:00+02:00'),
			('silence/pos','2026-05-01T00:00:00+02:00'),
			('hold/pos','2026-05-01T00:00:00+02:00'),
			('silence_ended/pos/2026-02-01T00:00:00Z','2026-02-01T00:00:30Z'),
			('report/daily/2026-03-02','2026-03-02T07:00:10Z'),
			('prune/last_run','2026-03-02T09:00:00Z'),
			('weekly/since','2026-01-05T09:00:00Z')`)
	s.Close()
	s, err = Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	may := time.Date(2026, 4, 30, 22, 0, 0, 0, time.UTC)
	if got, _ := s.SilencedUntil(ctx, "pos"); !got.Equal(may) {
		t.Errorf("pos silenced until %v, want %v", got, may)
	}
	if got, _ := s.SilencedUntil(ctx, "other"); !got.Equal(time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC)) {
		t.Errorf("every watch silenced until %v", got)
	}
	if got, _ := s.HeldUntil(ctx, "pos"); !got.Equal(may) {
		t.Errorf("pos held until %v", got)
	}
	if got, _ := s.HeldUntil(ctx, "other"); !got.IsZero() {
		t.Errorf("other held until %v", got)
	}
	if got, _ := s.WatchedSince(ctx, "pos"); !got.Equal(time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("watching pos since %v", got)
	}
	if sum, ok, _ := s.SmallJudged(ctx, "pos"); !ok || sum != "abc" {
		t.Errorf("small judged %q %v", sum, ok)
	}
	if done, _ := s.SilenceEndNoted(ctx, "pos", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)); !done {
		t.Error("the told end of a silence is forgotten")
	}
	if sent, _ := s.DailyReportSent(ctx, time.Date(2026, 3, 2, 12, 0, 0, 0, time.Local)); !sent {
		t.Error("the daily report of 2 March is forgotten")
	}
	if got, _ := s.LastPrune(ctx); !got.Equal(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("last prune %v", got)
	}
	if got, _ := s.WeeklySince(ctx, time.Now()); !got.Equal(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("weekly since %v", got)
	}
	if isNew, _ := s.StartFailing(ctx, "cloud", time.Now()); isNew {
		t.Error("the failing episode of cloud is forgotten: it would alert again")
	}
	since, was, _ := s.StopFailing(ctx, "cloud")
	if !was || !since.Equal(time.Date(2026, 3, 2, 10, 0, 0, 5e8, time.UTC)) {
		t.Errorf("failing since %v, %v", since, was)
	}
	var left int
	s.db.QueryRow(`SELECT COUNT(*) FROM meta WHERE key <> 'schema_version'`).Scan(&left)
	if left != 0 {
		t.Errorf("%d meta rows left", left)
	}
}

// Pause and resume: a silence of every watch and a hold of one, ended by
// resume of all.
func TestSilenceAndHold(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	t1 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s.Silence(ctx, "", t1, false)
	s.Silence(ctx, "pos", t1.Add(time.Hour), true)
	if got, _ := s.SilencedUntil(ctx, "pos"); !got.Equal(t1.Add(time.Hour)) {
		t.Errorf("pos silenced until %v", got)
	}
	if got, _ := s.HeldUntil(ctx, "office"); !got.IsZero() {
		t.Errorf("office held until %v (only silenced)", got)
	}
	s.Silence(ctx, "pos", t1, false) // a silence alone leaves the hold
	if got, _ := s.HeldUntil(ctx, "pos"); !got.Equal(t1.Add(time.Hour)) {
		t.Errorf("pos held until %v", got)
	}
	s.EndSilence(ctx, "")
	for _, w := range []string{"pos", "office"} {
		si, _ := s.SilencedUntil(ctx, w)
		h, _ := s.HeldUntil(ctx, w)
		if !si.IsZero() || !h.IsZero() {
			t.Errorf("%s after resume: silenced %v, held %v", w, si, h)
		}
	}
	first, _ := s.WatchingSince(ctx, "pos", t1)
	again, _ := s.WatchingSince(ctx, "pos", t1.Add(time.Hour))
	if !first.Equal(t1) || !again.Equal(t1) {
		t.Errorf("watching since %v then %v, want %v both", first, again, t1)
	}
}
