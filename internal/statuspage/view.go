package statuspage

import (
	"fmt"
	"time"

	"github.com/offsite-backup/offsite/status"
)

// destState is a destination's state in one word for the page.
func destState(d status.Destination) string {
	switch {
	case d.Paused != nil:
		return "paused"
	case d.Alerting > 0:
		return "failing"
	case d.GivenUp > 0:
		return "gave up on some"
	}
	return "ok"
}

// depth is how many uploads wait to go to the destination.
func depth(d status.Destination) int { return d.Waiting + d.Failing }

// ago says how long ago t was in words: "just now", "5 minutes ago",
// "2 hours ago", "3 days ago"; a future t reads "in 5 minutes".
func ago(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	default:
		s = plural(int(d/(24*time.Hour)), "day")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
