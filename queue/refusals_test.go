package queue

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestRefusalKeepsItsFirstTimeAndClearsWhenQueued(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)
	for i, r := range []Refusal{
		{Watch: "pos", Rel: "day.bak", Reason: "unreadable", Message: "permission denied", Since: t0},
		{Watch: "pos", Rel: "day.bak", Reason: "unreadable", Message: "still denied", Since: t0.Add(time.Hour)},
		{Watch: "xl", Rel: "book.xlsx", Reason: "linked", Message: "link", Since: t0},
	} {
		if err := s.Refuse(ctx, r); err != nil {
			t.Fatalf("refusal %d: %v", i, err)
		}
	}
	rs, err := s.Refusals(ctx)
	if err != nil || len(rs) != 2 {
		t.Fatalf("refusals %+v, %v", rs, err)
	}
	for _, r := range rs {
		if r.Watch == "pos" && (!r.Since.Equal(t0) || r.Message != "still denied") {
			t.Fatalf("a repeated refusal: %+v, want since %v and the newest message", r, t0)
		}
	}
	// Another reason starts a new episode.
	s.Refuse(ctx, Refusal{Watch: "pos", Rel: "day.bak", Reason: "linked", Message: "link", Since: t0.Add(2 * time.Hour)})
	if rs, _ := s.Refusals(ctx); rs[len(rs)-1].Watch != "pos" || !rs[len(rs)-1].Since.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("refusals %+v", rs)
	}
	if _, err := s.Enqueue(ctx, []Route{{Version: ver("day.bak", "a", t0), Destinations: []string{"usb"}}}); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.Refusals(ctx); len(rs) != 1 || rs[0].Watch != "xl" {
		t.Fatalf("after pos/day.bak was queued: %+v", rs)
	}
	if n, err := s.ClearRefusals(ctx, "other"); err != nil || n != 0 {
		t.Fatalf("clear another watch: %d, %v", n, err)
	}
	if n, err := s.ClearRefusals(ctx, "xl"); err != nil || n != 1 {
		t.Fatalf("clear xl: %d, %v", n, err)
	}
}
