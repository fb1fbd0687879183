package statuspage

import (
	"fmt"
	"time"
)

// Status is the part of the status object the page shows, decoded from
// its JSON form: the page reads nothing but that documented contract
// (docs/status.md), so it says exactly what `offsite status --json` and
// /healthz say.
type Status struct {
	Time         time.Time     `json:"time"`
	OK           bool          `json:"ok"`
	Concerns     []Concern     `json:"concerns"`
	Destinations []Destination `json:"destinations"`
	Watches      []Watch       `json:"watches"`
	Uploading    []Job         `json:"uploading"`
	Removed      []Job         `json:"removed"`
	Days         []Day         `json:"uploads_by_day"`
	TestRestore  *TestRestore  `json:"last_test_restore"`
}

type Concern struct {
	Subject string `json:"subject"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

type Destination struct {
	Name        string     `json:"name"`
	Type        string     `json:"type"`
	Done        int        `json:"done"`
	Waiting     int        `json:"waiting"`
	Failing     int        `json:"failing"`
	Alerting    int        `json:"alerting"`
	GivenUp     int        `json:"given_up"`
	BytesDone   int64      `json:"bytes_done"`
	LastSuccess *time.Time `json:"last_success"`
	Paused      *Pause     `json:"paused"`
}

type Pause struct {
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Problem string    `json:"problem"`
	Fix     string    `json:"fix"`
	Since   time.Time `json:"since"`
	NextTry time.Time `json:"next_try"`
}

type Watch struct {
	Name         string     `json:"name"`
	Path         string     `json:"path"`
	State        string     `json:"state"`
	Error        string     `json:"error"`
	LastArrival  *time.Time `json:"last_arrival"`
	OverdueSince *time.Time `json:"overdue_since"`
	SilencedTo   *time.Time `json:"alerts_silenced_until"`
	HeldTo       *time.Time `json:"uploads_held_until"`
	Newest       *Newest    `json:"newest"`
}

type Newest struct {
	File     string    `json:"file"`
	Size     int64     `json:"size"`
	Seen     time.Time `json:"seen"`
	Verified bool      `json:"verified"`
	Copies   []Copy    `json:"copies"`
}

type Copy struct {
	Destination string `json:"destination"`
	State       string `json:"state"`
}

type Job struct {
	Watch       string    `json:"watch"`
	File        string    `json:"file"`
	Destination string    `json:"destination"`
	Size        int64     `json:"size"`
	Acked       int64     `json:"acknowledged_bytes"`
	At          time.Time `json:"at"`
}

type Day struct {
	Date    string `json:"date"`
	Files   int    `json:"files"`
	Bytes   int64  `json:"bytes"`
	Retried int    `json:"retried"`
	Failing int    `json:"failing"`
}

type TestRestore struct {
	At          time.Time `json:"at"`
	Destination string    `json:"destination"`
	Watch       string    `json:"watch"`
	File        string    `json:"file"`
	OK          bool      `json:"ok"`
	Message     string    `json:"message"`
}

// State is a destination's state in one word for the page.
func (d Destination) State() string {
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

// Depth is how many uploads wait to go to the destination.
func (d Destination) Depth() int { return d.Waiting + d.Failing }

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
