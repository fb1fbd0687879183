package queue

import (
	"context"
	"testing"
	"time"
)

// A job a failure alert went out for keeps counting while it is tried
// again, so the green light cannot flicker on between two failures; it
// stops counting only once the upload is done.
func TestFailingPastCountsAJobBeingRetried(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	if _, err := s.Enqueue(ctx, []Route{{Version: ver("day.bak", "a", time.Now()), Destinations: []string{"cloud"}}}); err != nil {
		t.Fatal(err)
	}
	failing := func() int {
		t.Helper()
		m, err := s.FailingPast(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		return m["cloud"]
	}
	var id int64
	for range 3 {
		jobs, err := s.Claim(ctx, Hold{}, 1)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim: %v %v", jobs, err)
		}
		id = jobs[0].ID
		if _, err := s.Fail(ctx, id, "temporary", "500", time.Time{}, false); err != nil {
			t.Fatal(err)
		}
	}
	if n := failing(); n != 1 {
		t.Fatalf("after 3 failures: %d failing, want 1", n)
	}
	if jobs, err := s.Claim(ctx, Hold{}, 1); err != nil || len(jobs) != 1 {
		t.Fatalf("claim for the 4th try: %v %v", jobs, err)
	}
	if n := failing(); n != 1 {
		t.Fatalf("while the 4th try runs: %d failing, want 1 (the light would flicker green)", n)
	}
	if err := s.Done(ctx, Finished{ID: id, RemoteHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if n := failing(); n != 0 {
		t.Fatalf("after it went through: %d failing, want 0", n)
	}
}
