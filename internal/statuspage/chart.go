package statuspage

import (
	"fmt"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/status"
)

// chart is the 30-day bar chart of uploaded bytes, laid out on the server
// so the page needs no script: one bar per day, a red mark on days when an
// upload failed.
type chart struct {
	Width, Height float64
	Left, Base    float64 // x of the plot's left edge, y of its baseline
	Right, Top    float64
	Mid           float64 // y of the half-way grid line
	MaxLabel      string
	MidLabel      string
	Days          []chartDay
	Summary       string // the whole chart in one sentence, for screen readers
}

type chartDay struct {
	X, W         float64 // the day's slot
	BarX, BarW   float64 // the bar, narrower than the slot so bars stand apart
	BarY, BarH   float64 // (height 0 on a day without uploads)
	MarkX, MarkY float64 // the failure mark's centre
	Failed       bool
	Label        string // an x-axis label under some days ("2 Nov"), else ""
	Title        string // the day in words, shown on hover
}

const (
	chartW    = 720.0
	chartH    = 210.0
	chartL    = 70.0 // room for the y labels
	chartR    = 10.0
	chartTop  = 26.0 // room for the failure marks
	chartBase = 180.0
)

func newChart(days []status.Day) chart {
	c := chart{Width: chartW, Height: chartH, Left: chartL, Base: chartBase, Right: chartW - chartR, Top: chartTop}
	c.Mid = (c.Top + c.Base) / 2
	var top, total int64
	failDays := 0
	for _, d := range days {
		top = max(top, d.Bytes)
		total += d.Bytes
		if d.Failing+d.Retried > 0 {
			failDays++
		}
	}
	c.MaxLabel, c.MidLabel = notify.HumanBytes(top), notify.HumanBytes(top/2)
	if len(days) == 0 {
		c.Summary = "no upload history yet"
		return c
	}
	slot := (c.Right - c.Left) / float64(len(days))
	for i, d := range days {
		x := c.Left + float64(i)*slot
		cd := chartDay{X: x, W: slot, BarX: x + slot*0.12, BarW: slot * 0.76, MarkX: x + slot/2, MarkY: c.Top - 12, Failed: d.Failing+d.Retried > 0, Title: dayTitle(d)}
		if top > 0 && d.Bytes > 0 {
			// At least 2 units tall, so a small day still shows.
			cd.BarH = max(2, float64(d.Bytes)/float64(top)*(c.Base-c.Top))
		}
		cd.BarY = c.Base - cd.BarH
		if back := len(days) - 1 - i; back%7 == 0 {
			cd.Label = "today"
			if back > 0 {
				cd.Label = dayDate(d.Date, "2 Jan")
			}
		}
		c.Days = append(c.Days, cd)
	}
	c.Summary = fmt.Sprintf("uploads over the last %d days: %s in all", len(days), notify.HumanBytes(total))
	if failDays > 0 {
		c.Summary += fmt.Sprintf("; uploads failed on %s", plural(failDays, "day"))
	}
	return c
}

// dayTitle is one day in words: "Mon 2 Nov: 3 files, 12 MiB uploaded; 1
// failed at first and went through later".
func dayTitle(d status.Day) string {
	var b strings.Builder
	b.WriteString(dayDate(d.Date, "Mon 2 Jan") + ": ")
	if d.Files == 0 {
		b.WriteString("nothing uploaded")
	} else {
		fmt.Fprintf(&b, "%s, %s uploaded", plural(d.Files, "file"), notify.HumanBytes(d.Bytes))
	}
	if d.Retried > 0 {
		fmt.Fprintf(&b, "; %d failed at first and went through later", d.Retried)
	}
	if d.Failing > 0 {
		fmt.Fprintf(&b, "; %d failed and did not go through yet", d.Failing)
	}
	return b.String()
}

func dayDate(date, layout string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return t.Format(layout)
}
