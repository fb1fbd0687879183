// Package schedule decides when a cron-timed job is due, anacron style: a
// run missed while the computer was off happens once at the next start,
// and is flagged late. Its Runner runs the config's schedules: each run
// queues its copies as queue jobs and ends when they are done.
package schedule

import (
	"time"

	"github.com/adhocore/gronx"
)

// LateAfter is how far past its cron time a run may start and still count
// as on time; the daemon checks every 30 s, so anything beyond a few
// minutes means the computer was off or asleep.
const LateAfter = 5 * time.Minute

// Schedule is one cron timetable.
type Schedule struct {
	Name     string
	Cron     string         // minute hour day month weekday, or a tag such as @weekly
	Location *time.Location // the zone Cron is read in; nil: the computer's
}

func (s Schedule) loc() *time.Location {
	if s.Location == nil {
		return time.Local
	}
	return s.Location
}

// Next is the first cron time strictly after after, or the zero time when
// the expression is invalid or never fires.
func Next(s Schedule, after time.Time) time.Time {
	t, err := gronx.NextTickAfter(s.Cron, after.In(s.loc()), false)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Due reports whether s should run at now, given its last run (for a
// schedule that never ran, pass when it was first seen, so a new schedule
// does not fire at once for the past). It is due when a cron time passed
// after lastRun; several missed times give one run, for the newest of them,
// returned as scheduledAt. late is true when now is more than LateAfter
// past scheduledAt.
func Due(s Schedule, lastRun, now time.Time) (due, late bool, scheduledAt time.Time) {
	prev, err := gronx.PrevTickBefore(s.Cron, now.In(s.loc()), true)
	if err != nil || prev.IsZero() || prev.After(now) {
		return false, false, time.Time{}
	}
	if !prev.After(lastRun) {
		return false, false, prev
	}
	return true, now.Sub(prev) > LateAfter, prev
}
