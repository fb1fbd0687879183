package queue

import (
	"context"
	"testing"
	"time"
)

func TestTestRestoresKeepFailuresUntilAPass(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	d, err := s.Drills(ctx)
	if err != nil || !d.LastRun.IsZero() || d.Newest != nil || d.Result != "" {
		t.Fatalf("fresh: %+v %v", d, err)
	}
	at := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	if err := s.SetDrillRun(ctx, at); err != nil {
		t.Fatal(err)
	}
	err = s.RecordTestRestores(ctx, []TestRestore{
		{At: at, Destination: "cloud", Remote: "pos/a.bak.age", Watch: "pos", File: "a.bak"},
		{At: at, Destination: "usb", Remote: "pos/b.bak", Watch: "pos", File: "b.bak", Error: "the copy differs"},
		{At: at, Destination: "usb", Remote: "pos/c.bak", Watch: "pos", File: "c.bak"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetDrillResult(ctx, "1 FAILED.", time.Time{}); err != nil {
		t.Fatal(err)
	}
	d, _ = s.Drills(ctx)
	if !d.LastRun.Equal(at) || !d.FullOK.IsZero() || d.Result != "1 FAILED." || d.Newest == nil ||
		d.Newest.Remote != "pos/b.bak" || d.Newest.Error != "the copy differs" || !d.Newest.At.Equal(at) {
		t.Fatalf("after a failed drill: %+v %+v", d, d.Newest)
	}
	f, err := s.RestoreFailures(ctx)
	if err != nil || len(f) != 1 || f["usb"]["pos/b.bak"] != "the copy differs" {
		t.Fatalf("failures %v %v", f, err)
	}
	// A later pass clears it, and becomes the newest test restore.
	later := at.Add(7 * 24 * time.Hour)
	s.RecordTestRestores(ctx, []TestRestore{{At: later, Destination: "usb", Remote: "pos/b.bak", Watch: "pos", File: "b.bak"}})
	s.SetDrillResult(ctx, "all good.", later)
	d, _ = s.Drills(ctx)
	if f, _ := s.RestoreFailures(ctx); len(f) != 0 {
		t.Fatalf("failures after a pass: %v", f)
	}
	if !d.FullOK.Equal(later) || d.Newest.Error != "" || !d.Newest.At.Equal(later) || !d.LastRun.Equal(at) {
		t.Fatalf("after a pass: %+v %+v", d, d.Newest)
	}
	// A failure cleared for a new upload is gone too.
	s.RecordTestRestores(ctx, []TestRestore{{At: later, Destination: "usb", Remote: "pos/c.bak", Error: "bad"}})
	if err := s.ClearRestoreFailure(ctx, "usb", "pos/c.bak"); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.RestoreFailures(ctx); len(f) != 0 {
		t.Fatalf("failures after clear: %v", f)
	}
}
