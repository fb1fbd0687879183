// Package expect decides when a watched folder is missing its backup: the
// shop software did not write a new file within expect_every, or by an
// expect_cron deadline, or wrote one suspiciously smaller than usual. It is
// pure logic; the caller passes the clock in.
package expect

import (
	"errors"
	"fmt"
	"time"

	"github.com/adhocore/gronx"
)

// Rule is a watch's expectation. Set Every or Cron, not both.
type Rule struct {
	// Every: a new file must arrive at most this long after the previous one.
	Every time.Duration
	// Cron: "30 0 * * MON-SAT" means a backup must have arrived by each of
	// those times, since the previous one.
	Cron string
	// Location the Cron fields are read in; nil means the computer's zone,
	// which is the shop's.
	Location *time.Location
	// MinSizeRatio: a file smaller than this share of the recent median is
	// suspicious. 0 means DefaultMinSizeRatio; negative turns the check off.
	MinSizeRatio float64
}

// Checker applies one watch's Rule.
type Checker struct {
	rule Rule
	loc  *time.Location
}

// New validates r.
func New(r Rule) (*Checker, error) {
	switch {
	case r.Every < 0:
		return nil, fmt.Errorf("expect_every %v: must not be negative", r.Every)
	case r.Every > 0 && r.Cron != "":
		return nil, errors.New("set expect_every or expect_cron, not both")
	case r.Cron != "" && !gronx.IsValid(r.Cron):
		return nil, fmt.Errorf("expect_cron %q: not a valid cron expression (minute hour day month weekday)", r.Cron)
	}
	loc := r.Location
	if loc == nil {
		loc = time.Local
	}
	return &Checker{rule: r, loc: loc}, nil
}

// Rule returns the rule the Checker applies.
func (c *Checker) Rule() Rule { return c.rule }

// Missed reports whether the watch is missing a backup at now, and since when
// it has been overdue. lastArrival is the newest file's arrival (pass the time
// watching began when there is none yet). Until pausedUntil nothing is
// expected (holidays); after it the rule restarts as if a file had arrived
// then, so a long pause does not raise an alarm the moment it ends.
//
// Every: missed when more than Every has passed since the later of
// lastArrival and pausedUntil; overdue since that time plus Every.
// Cron: missed when the newest deadline at or before now is not in the pause
// and no file arrived after the deadline before it; overdue since the first
// deadline that passed without a file. A file that arrives late, after its
// deadline, still ends it.
func (c *Checker) Missed(now, lastArrival, pausedUntil time.Time) (missed bool, since time.Time) {
	if now.Before(pausedUntil) {
		return false, time.Time{}
	}
	switch {
	case c.rule.Every > 0:
		ref := lastArrival
		if pausedUntil.After(ref) {
			ref = pausedUntil
		}
		due := ref.Add(c.rule.Every)
		return now.After(due), due
	case c.rule.Cron != "":
		deadline, prev, ok := c.deadlines(now)
		if !ok || deadline.Before(pausedUntil) {
			return false, time.Time{}
		}
		if lastArrival.After(prev) {
			return false, time.Time{}
		}
		return true, c.firstMissed(lastArrival, pausedUntil, deadline)
	}
	return false, time.Time{}
}

// deadlines returns the newest cron time at or before now and the one
// before it, in the rule's zone.
func (c *Checker) deadlines(now time.Time) (deadline, prev time.Time, ok bool) {
	d, err := gronx.PrevTickBefore(c.rule.Cron, now.In(c.loc), true)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	p, err := gronx.PrevTickBefore(c.rule.Cron, d, false)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	return d, p, true
}

// firstMissed is the first deadline that passed without a file, so that
// "overdue since" stays put while the backup stays missing instead of
// moving on with every deadline. The deadline a file arrived for is met; the
// one after it is the first that can be missed, or the first after a pause.
func (c *Checker) firstMissed(lastArrival, pausedUntil, current time.Time) time.Time {
	if lastArrival.IsZero() {
		return current
	}
	met, err := gronx.NextTickAfter(c.rule.Cron, lastArrival.In(c.loc), true)
	if err != nil {
		return current
	}
	first, err := gronx.NextTickAfter(c.rule.Cron, met, false)
	if err != nil {
		return current
	}
	if first.Before(pausedUntil) {
		if first, err = gronx.NextTickAfter(c.rule.Cron, pausedUntil.In(c.loc), true); err != nil {
			return current
		}
	}
	if first.After(current) {
		return current
	}
	return first
}

// Next returns when Missed can next change its answer from "not missed": the
// caller's scheduler sleeps until then (or until a file arrives). Zero when
// the rule expects nothing.
func (c *Checker) Next(now, lastArrival, pausedUntil time.Time) time.Time {
	switch {
	case c.rule.Every > 0:
		ref := lastArrival
		if pausedUntil.After(ref) {
			ref = pausedUntil
		}
		// Missed is strict (> Every); one moment later it turns.
		next := ref.Add(c.rule.Every).Add(time.Second)
		if next.Before(now) {
			return now
		}
		return next
	case c.rule.Cron != "":
		from := now
		if pausedUntil.After(from) {
			from = pausedUntil
		}
		t, err := gronx.NextTickAfter(c.rule.Cron, from.In(c.loc), true)
		if err != nil {
			return time.Time{}
		}
		return t
	}
	return time.Time{}
}

// Small reports whether a new file of size is suspiciously small against the
// recent sizes, under the rule's ratio (see Suspicious).
func (c *Checker) Small(size int64, recent []int64) (bool, int64) {
	return Suspicious(size, recent, c.rule.MinSizeRatio)
}
