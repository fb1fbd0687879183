package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/internal/units"
)

// HumanBytes uses 1024-based units labelled as `offsite status` labels
// them (KiB, MiB, ...), so a report and the status agree.
func HumanBytes(n int64) string { return units.Bytes(n) }

// humanDuration says "2 days 3 hours", "26 hours", "45 minutes", "12 seconds":
// the two largest units, which is all a person wants to know.
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	if d < time.Second {
		return "0 seconds"
	}
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	var parts []string
	for _, u := range units {
		if v := int(d / u.d); v > 0 && len(parts) < 2 {
			parts = append(parts, plural(v, u.name))
			d -= time.Duration(v) * u.d
		} else if len(parts) > 0 {
			break
		}
	}
	return strings.Join(parts, " ")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// when formats a time for people, in the time's own zone.
func when(t time.Time) string { return t.Format("Mon 2 Jan 2006 15:04 MST") }

// shortHash keeps alerts readable; the full hash is in Fields.
func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
