package expect

import (
	"testing"
	"time"
)

var cet = time.FixedZone("CET", 3600)

// d builds a time in CET: the shop's clock in these tests.
func d(day, hour, min int) time.Time { return time.Date(2026, 11, day, hour, min, 0, 0, cet) }

func mustNew(t *testing.T, r Rule) *Checker {
	t.Helper()
	c, err := New(r)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMissedEvery(t *testing.T) {
	c := mustNew(t, Rule{Every: 26 * time.Hour})
	last := d(23, 18, 0) // Mon 18:00
	var never time.Time
	for _, tc := range []struct {
		name      string
		now       time.Time
		paused    time.Time
		missed    bool
		wantSince time.Time
	}{
		{"within window", d(24, 19, 0), never, false, d(24, 20, 0)},
		{"exactly at the limit", d(24, 20, 0), never, false, d(24, 20, 0)},
		{"just past", d(24, 20, 1), never, true, d(24, 20, 0)},
		{"days later, same since", d(27, 9, 0), never, true, d(24, 20, 0)},
		{"paused", d(27, 9, 0), d(28, 0, 0), false, time.Time{}},
		{"pause over, window restarts", d(28, 12, 0), d(28, 0, 0), false, d(29, 2, 0)},
		{"pause over, still nothing", d(29, 3, 0), d(28, 0, 0), true, d(29, 2, 0)},
		{"pause in the past changes nothing", d(24, 20, 1), d(20, 0, 0), true, d(24, 20, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			missed, since := c.Missed(tc.now, last, tc.paused)
			if missed != tc.missed || (tc.missed || !tc.wantSince.IsZero()) && !since.Equal(tc.wantSince) {
				t.Errorf("Missed = %v, %v; want %v, %v", missed, since, tc.missed, tc.wantSince)
			}
		})
	}
}

// "30 0 * * MON-SAT": the day-end backup must be there by 00:30, Monday to
// Saturday. Nov 2026: the 22nd is a Sunday.
func TestMissedCron(t *testing.T) {
	c := mustNew(t, Rule{Cron: "30 0 * * MON-SAT", Location: cet})
	var never time.Time
	for _, tc := range []struct {
		name      string
		now, last time.Time
		paused    time.Time
		missed    bool
		wantSince time.Time
	}{
		{"arrived before the deadline", d(24, 9, 0), d(23, 23, 0), never, false, never},
		{"arrived exactly at the deadline", d(24, 9, 0), d(24, 0, 30), never, false, never},
		{"before the first deadline after the file", d(24, 0, 29), d(22, 23, 0), never, false, never},
		{"Saturday night's file covers Monday 00:30 (no Sunday deadline)", d(23, 1, 0), d(21, 23, 0), never, false, never},
		{"Tuesday 00:30 passed without a file", d(24, 0, 31), d(22, 23, 0), never, true, d(24, 0, 30)},
		{"still missing Thursday: since stays Tuesday", d(26, 9, 0), d(22, 23, 0), never, true, d(24, 0, 30)},
		{"late file after the deadline ends it", d(24, 9, 0), d(24, 8, 0), never, false, never},
		{"paused over the deadline", d(24, 9, 0), d(22, 23, 0), d(24, 12, 0), false, never},
		{"deadline fell inside the pause", d(24, 13, 0), d(22, 23, 0), d(24, 12, 0), false, never},
		{"first deadline after the pause missed", d(25, 1, 0), d(22, 23, 0), d(24, 12, 0), true, d(25, 0, 30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			missed, since := c.Missed(tc.now, tc.last, tc.paused)
			if missed != tc.missed || tc.missed && !since.Equal(tc.wantSince) {
				t.Errorf("Missed = %v, %v; want %v, %v", missed, since, tc.missed, tc.wantSince)
			}
		})
	}
}

// The cron fields are read in the rule's zone: the same instants give
// different answers in Berlin and in UTC.
func TestCronTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	now := time.Date(2026, 11, 23, 23, 45, 0, 0, time.UTC) // Tue 00:45 in Berlin
	last := time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC) // Mon 00:00 in Berlin, before Mon 00:30
	inBerlin := mustNew(t, Rule{Cron: "30 0 * * MON-SAT", Location: berlin})
	inUTC := mustNew(t, Rule{Cron: "30 0 * * MON-SAT", Location: time.UTC})
	// Berlin: deadlines Mon 00:30 and Tue 00:30 local; the file (Mon 00:00
	// local) met Monday's, nothing came for Tuesday's.
	if missed, since := inBerlin.Missed(now, last, time.Time{}); !missed || !since.Equal(time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC)) {
		t.Errorf("Berlin: %v %v", missed, since)
	}
	// UTC: the newest deadline is Mon 00:30 UTC, and the file (Sun 23:00 UTC)
	// came after Saturday's.
	if missed, _ := inUTC.Missed(now, last, time.Time{}); missed {
		t.Error("UTC: missed")
	}
}

func TestNext(t *testing.T) {
	every := mustNew(t, Rule{Every: 26 * time.Hour})
	if got, want := every.Next(d(24, 9, 0), d(23, 18, 0), time.Time{}), d(24, 20, 0).Add(time.Second); !got.Equal(want) {
		t.Errorf("every: %v, want %v", got, want)
	}
	if got := every.Next(d(26, 9, 0), d(23, 18, 0), time.Time{}); !got.Equal(d(26, 9, 0)) {
		t.Errorf("every, overdue: %v", got)
	}
	cron := mustNew(t, Rule{Cron: "30 0 * * MON-SAT", Location: cet})
	if got := cron.Next(d(21, 9, 0), time.Time{}, time.Time{}); !got.Equal(d(23, 0, 30)) { // Sat → Mon
		t.Errorf("cron: %v", got)
	}
	if got := cron.Next(d(21, 9, 0), time.Time{}, d(25, 12, 0)); !got.Equal(d(26, 0, 30)) {
		t.Errorf("cron, paused: %v", got)
	}
}

func TestNewRejects(t *testing.T) {
	for _, r := range []Rule{
		{Every: -time.Hour},
		{Every: time.Hour, Cron: "0 1 * * *"},
		{Cron: "every day at one"},
		{Cron: "61 1 * * *"},
	} {
		if _, err := New(r); err == nil {
			t.Errorf("New(%+v) accepted", r)
		}
	}
	c := mustNew(t, Rule{})
	if missed, _ := c.Missed(d(30, 0, 0), d(1, 0, 0), time.Time{}); missed {
		t.Error("a rule that expects nothing reported a miss")
	}
}
