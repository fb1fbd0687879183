package schedule

import (
	"testing"
	"time"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDue(t *testing.T) {
	loc := berlin(t)
	weekly := Schedule{Name: "weekly", Cron: "0 18 * * FRI", Location: loc}
	at := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, loc) } // 2026-03-06 is a Friday
	cases := []struct {
		name          string
		last, now     time.Time
		due, late     bool
		wantScheduled time.Time
	}{
		{"first seen on Wednesday, Wednesday evening", at(4, 9, 0), at(4, 20, 0), false, false, time.Time{}},
		{"first seen on Wednesday, Friday just before", at(4, 9, 0), at(6, 17, 59), false, false, time.Time{}},
		{"first seen on Wednesday, Friday on time", at(4, 9, 0), at(6, 18, 0), true, false, at(6, 18, 0)},
		{"a minute late is on time", at(4, 9, 0), at(6, 18, 1), true, false, at(6, 18, 0)},
		{"ran at 18:00, checked again", at(6, 18, 0), at(6, 18, 30), false, false, at(6, 18, 0)},
		{"PC off Friday evening, on Saturday", at(4, 9, 0), at(7, 8, 0), true, true, at(6, 18, 0)},
		{"two Fridays missed: one run, for the newest", at(4, 9, 0), at(16, 8, 0), true, true, at(13, 18, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			due, late, sched := Due(weekly, c.last, c.now)
			if due != c.due || late != c.late {
				t.Fatalf("Due = %v, late %v; want %v, %v", due, late, c.due, c.late)
			}
			if c.due && !sched.Equal(c.wantScheduled) {
				t.Errorf("scheduledAt = %v, want %v", sched, c.wantScheduled)
			}
		})
	}
}

// TestCatchUpLoop drives Due the way the daemon does, every 2 minutes (the
// daemon's 30 s, coarser to keep the test quick) on an injected clock, across five weeks in which the PC is off over two
// Fridays: each Friday gives exactly one run, and only the missed ones are
// late.
func TestCatchUpLoop(t *testing.T) {
	loc := berlin(t)
	s := Schedule{Name: "weekly", Cron: "0 18 * * FRI", Location: loc}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, loc) // Monday
	end := start.AddDate(0, 0, 35)
	off := func(t time.Time) bool {
		// Off from Friday 13 March 17:00 to Monday 16 March 08:00, and
		// from Thursday 26 March to Tuesday 31 March (Friday 27 missed).
		return (t.After(time.Date(2026, 3, 13, 17, 0, 0, 0, loc)) && t.Before(time.Date(2026, 3, 16, 8, 0, 0, 0, loc))) ||
			(t.After(time.Date(2026, 3, 26, 0, 0, 0, 0, loc)) && t.Before(time.Date(2026, 3, 31, 9, 0, 0, 0, loc)))
	}
	last := start // first seen
	type run struct {
		at, scheduled time.Time
		late          bool
	}
	var runs []run
	for now := start; now.Before(end); now = now.Add(2 * time.Minute) {
		if off(now) {
			continue
		}
		if due, late, sched := Due(s, last, now); due {
			runs = append(runs, run{now, sched, late})
			last = now
		}
	}
	want := []run{
		{time.Date(2026, 3, 6, 18, 0, 0, 0, loc), time.Date(2026, 3, 6, 18, 0, 0, 0, loc), false},
		{time.Date(2026, 3, 16, 8, 0, 0, 0, loc), time.Date(2026, 3, 13, 18, 0, 0, 0, loc), true},
		{time.Date(2026, 3, 20, 18, 0, 0, 0, loc), time.Date(2026, 3, 20, 18, 0, 0, 0, loc), false},
		// 27 March missed; the PC is back on Tuesday 31 March at 09:00.
		{time.Date(2026, 3, 31, 9, 0, 0, 0, loc), time.Date(2026, 3, 27, 18, 0, 0, 0, loc), true},
		{time.Date(2026, 4, 3, 18, 0, 0, 0, loc), time.Date(2026, 4, 3, 18, 0, 0, 0, loc), false},
	}
	if len(runs) != len(want) {
		t.Fatalf("%d runs, want %d: %v", len(runs), len(want), runs)
	}
	for i := range want {
		if !runs[i].at.Equal(want[i].at) || !runs[i].scheduled.Equal(want[i].scheduled) || runs[i].late != want[i].late {
			t.Errorf("run %d = %+v, want %+v", i, runs[i], want[i])
		}
	}
}

func TestTimezone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 7, 3, 20, 0, 0, 0, time.UTC) // Friday 16:00 in New York
	inNY := Schedule{Cron: "0 18 * * FRI", Location: ny}
	inUTC := Schedule{Cron: "0 18 * * FRI", Location: time.UTC}
	last := now.Add(-24 * time.Hour)
	if due, _, _ := Due(inNY, last, now); due {
		t.Error("18:00 in New York is still two hours away, yet due")
	}
	if due, late, _ := Due(inUTC, last, now); !due || !late {
		t.Errorf("18:00 UTC passed two hours ago: due %v late %v, want both", due, late)
	}
	if got, want := Next(inNY, now), time.Date(2026, 7, 3, 22, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next = %v, want %v", got, want)
	}
}

func TestNext(t *testing.T) {
	loc := berlin(t)
	s := Schedule{Cron: "0 18 * * FRI", Location: loc}
	fri := time.Date(2026, 3, 6, 18, 0, 0, 0, loc)
	if got := Next(s, fri); !got.Equal(fri.AddDate(0, 0, 7)) {
		t.Errorf("Next(at a cron time) = %v, want the following week", got)
	}
	if got := Next(s, fri.Add(-time.Second)); !got.Equal(fri) {
		t.Errorf("Next(just before) = %v, want %v", got, fri)
	}
}

func TestInvalidCronNeverDue(t *testing.T) {
	s := Schedule{Cron: "not a cron"}
	now := time.Date(2026, 3, 6, 18, 0, 0, 0, time.UTC)
	if due, _, _ := Due(s, time.Time{}, now); due {
		t.Error("invalid cron is due")
	}
	if got := Next(s, now); !got.IsZero() {
		t.Errorf("Next = %v, want zero", got)
	}
}
