package queue

import (
	"context"
	"testing"
	"time"
)

// TestDailyCountsUploadsAndFailuresPerLocalDay: days are the shop's
// calendar days (a 23:30 upload in UTC+2 is the next local day), bytes sum
// the uploads finished that day, an upload that needed a retry is marked on
// the day it went through, and one not through yet on the day of its latest
// attempt, a retry under way included. Days older than the window and days without uploads are zero.
func TestDailyCountsUploadsAndFailuresPerLocalDay(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	loc := time.FixedZone("shop", 2*3600)
	now := time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC) // 24 Nov 01:30 in the shop
	s.SetClock(func() time.Time { return now })
	v := func(rel, sum string, size int64) Route {
		return Route{Version: Version{Watch: "pos", Rel: rel, Size: size, ModTime: now, SHA256: sum}, Destinations: []string{"usb"}}
	}
	upload := func(rel, sum string, size int64, at time.Time, fails int, done bool) {
		t.Helper()
		now = at
		if _, err := s.Enqueue(ctx, []Route{v(rel, sum, size)}); err != nil {
			t.Fatal(err)
		}
		for range fails {
			j, err := claim1(s)
			if err != nil || j == nil {
				t.Fatalf("claim %s: %v %v", rel, j, err)
			}
			if _, err := s.Fail(ctx, j.ID, "temporary", "boom", now, true); err != nil {
				t.Fatal(err)
			}
		}
		if done {
			j, err := claim1(s)
			if err != nil || j == nil {
				t.Fatalf("claim %s: %v %v", rel, j, err)
			}
			if err := s.Done(ctx, Finished{ID: j.ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	today := time.Date(2026, 11, 24, 0, 0, 0, 0, loc)
	upload("old.bak", "o", 1000, today.AddDate(0, 0, -40), 0, true) // outside the window
	upload("a.bak", "a", 100, today.AddDate(0, 0, -2).Add(time.Hour), 0, true)
	upload("b.bak", "b", 200, today.AddDate(0, 0, -2).Add(5*time.Hour), 2, true) // retried
	upload("c.bak", "c", 300, time.Date(2026, 11, 23, 22, 30, 0, 0, time.UTC), 0, true)
	upload("d.bak", "d", 400, today.Add(time.Hour), 3, false) // still failing today
	upload("e.bak", "e", 500, today.AddDate(0, 0, -1), 1, false)
	// e.bak's next try is under way: it still counts, on the day of that try.
	now = today.Add(2 * time.Hour)
	if j, err := claim1(s); err != nil || j == nil || j.Version.Rel != "e.bak" {
		t.Fatalf("claim e.bak: %v %v", j, err)
	}

	now = time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC)
	days, err := s.Daily(ctx, []string{"usb"}, 30, now, loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 30 {
		t.Fatalf("%d days, want 30", len(days))
	}
	if first, last := days[0].Date, days[29].Date; !last.Equal(today) || !first.Equal(today.AddDate(0, 0, -29)) {
		t.Fatalf("window %s … %s, want it to end on %s", first, last, today)
	}
	got := map[string]Day{}
	for _, d := range days {
		if d.Files != 0 || d.Failing != 0 {
			got[d.Date.Format(time.DateOnly)] = d
		}
	}
	// c.bak finished at 22:30 UTC on 23 Nov: 00:30 on 24 Nov in the shop.
	want := map[string]Day{
		"2026-11-22": {Files: 2, Bytes: 300, Retried: 1},
		"2026-11-24": {Files: 1, Bytes: 300, Failing: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("days with activity: %+v, want %+v", got, want)
	}
	for k, w := range want {
		g := got[k]
		if g.Files != w.Files || g.Bytes != w.Bytes || g.Retried != w.Retried || g.Failing != w.Failing {
			t.Errorf("%s: got %+v, want %+v", k, g, w)
		}
	}
	// Only the destinations asked for count.
	other, err := s.Daily(ctx, []string{"cloud"}, 30, now, loc)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range other {
		if d.Files != 0 || d.Failing != 0 {
			t.Fatalf("another destination's uploads counted: %+v", d)
		}
	}
}

// TestNewestVersionIsVerifiedOnlyWhenDoneEverywhere: the newest backup of a
// watch counts as verified once every destination it was routed to holds a
// checked copy, not before.
func TestNewestVersionIsVerifiedOnlyWhenDoneEverywhere(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	if _, ok, err := s.NewestVersion(ctx, "pos"); ok || err != nil {
		t.Fatalf("empty watch: ok %v, err %v", ok, err)
	}
	s.Enqueue(ctx, []Route{{Version: ver("mon.bak", "m", now), Destinations: []string{"usb"}}})
	now = now.Add(time.Hour)
	s.Enqueue(ctx, []Route{{Version: ver("tue.bak", "t", now), Destinations: []string{"usb", "cloud"}}})
	n, ok, err := s.NewestVersion(ctx, "pos")
	if err != nil || !ok || n.Rel != "tue.bak" || !n.FirstSeen.Equal(now) || len(n.Jobs) != 2 {
		t.Fatalf("newest = %+v, %v, %v", n, ok, err)
	}
	if n.Verified() {
		t.Fatal("verified before any upload")
	}
	for i := 0; i < 3; i++ { // mon.bak to usb, then tue.bak to both
		j, err := claim1(s)
		if err != nil || j == nil {
			t.Fatal(j, err)
		}
		if err := s.Done(ctx, Finished{ID: j.ID}); err != nil {
			t.Fatal(err)
		}
		n, _, _ = s.NewestVersion(ctx, "pos")
		if want := i == 2; n.Verified() != want {
			t.Fatalf("after %d uploads: verified %v, want %v (%+v)", i+1, n.Verified(), want, n.Jobs)
		}
	}
}
