package queue

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestLivenessRecordsBeatsAndCleanStop(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if l, err := s.Liveness(ctx); err != nil || !l.Started.IsZero() {
		t.Fatalf("before any daemon: %+v, %v", l, err)
	}
	start := time.Unix(1000, 0)
	for i := range 3 {
		if err := s.Beat(ctx, 42, start, start.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.Liveness(ctx)
	if err != nil || l.PID != 42 || !l.Started.Equal(start) || !l.Beat.Equal(start.Add(2*time.Minute)) || !l.Stopped.IsZero() {
		t.Fatalf("running: %+v, %v", l, err)
	}
	if err := s.Stopped(ctx, start.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Liveness(ctx); !l.Stopped.Equal(start.Add(3 * time.Minute)) {
		t.Fatalf("stopped: %+v", l)
	}
	// A new run clears the stop.
	if err := s.Beat(ctx, 43, start.Add(time.Hour), start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Liveness(ctx); !l.Stopped.IsZero() || l.PID != 43 {
		t.Fatalf("restarted: %+v", l)
	}
}
