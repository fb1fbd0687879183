package notify

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RunReport summarises one upload run.
type RunReport struct {
	Start, End time.Time
	Uploads    []Upload
	Failures   []Failure
	Pruned     []string // remote paths removed by retention
	Notes      []string // anything else worth a line, in plain words
}

// Upload is one file stored at one destination, with the hash the service
// reported and offsite checked against the local file.
type Upload struct {
	Watch, File, Dest string
	Size              int64
	Hash, HashKind    string
}

// Failure is one file that did not reach one destination in this run.
type Failure struct {
	Watch, File, Dest string
	Attempts          int
	Error             string
	Hint              string // what a person should do, if known
}

// Report summarises a run. Key: "report/<start>".
func Report(r RunReport) Event {
	var b strings.Builder
	var total int64
	watches := map[string]bool{}
	for _, u := range r.Uploads {
		total += u.Size
		watches[u.Watch] = true
	}
	files := plural(len(r.Uploads), "file")
	fmt.Fprintf(&b, "offsite uploaded %s (%s) in %s, finished %s.\n", files, humanBytes(total),
		humanDuration(r.End.Sub(r.Start)), when(r.End))
	if len(r.Failures) > 0 {
		them := "they stay"
		if len(r.Failures) == 1 {
			them = "it stays"
		}
		fmt.Fprintf(&b, "%s could not be uploaded yet; %s in the queue and offsite keeps trying.\n",
			plural(len(r.Failures), "file"), them)
	}
	if len(r.Uploads) > 0 {
		b.WriteString("\nUploaded and checked:\n")
		for _, u := range r.Uploads {
			fmt.Fprintf(&b, "- %s/%s → %s, %s", u.Watch, u.File, u.Dest, humanBytes(u.Size))
			if u.Hash != "" {
				fmt.Fprintf(&b, ", %s %s verified", u.HashKind, shortHash(u.Hash))
			}
			b.WriteString("\n")
		}
	}
	if len(r.Failures) > 0 {
		b.WriteString("\nNot uploaded yet:\n")
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "- %s/%s → %s: %s", f.Watch, f.File, f.Dest, f.Error)
			if f.Hint != "" {
				fmt.Fprintf(&b, " (what to do: %s)", trimDot(f.Hint))
			}
			b.WriteString("\n")
		}
	}
	if len(r.Pruned) > 0 {
		b.WriteString("\nOld copies removed by the retention rules:\n")
		for _, p := range r.Pruned {
			b.WriteString("- " + p + "\n")
		}
	}
	for i, n := range r.Notes {
		if i == 0 {
			b.WriteString("\n")
		}
		b.WriteString(n + "\n")
	}
	subject := fmt.Sprintf("offsite: %s uploaded", files)
	if len(r.Failures) > 0 {
		subject += fmt.Sprintf(", %d not yet", len(r.Failures))
	}
	if len(watches) > 0 {
		subject += " (" + strings.Join(sortedKeys(watches), ", ") + ")"
	}
	return Event{
		Kind:    KindReport,
		Key:     "report/" + r.Start.UTC().Format(time.RFC3339Nano),
		Subject: subject,
		Text:    strings.TrimRight(b.String(), "\n"),
		Fields: map[string]string{
			"uploads": strconv.Itoa(len(r.Uploads)), "failures": strconv.Itoa(len(r.Failures)),
			"bytes": strconv.FormatInt(total, 10), "pruned": strconv.Itoa(len(r.Pruned)),
			"start": timeField(r.Start), "end": timeField(r.End),
			"duration": r.End.Sub(r.Start).String(),
		},
		Time: r.End,
	}
}

// WeeklyProof lists, per watch, the newest copy at each destination.
type WeeklyProof struct {
	Time    time.Time
	Watches []WatchProof
	// Stale is how old a newest copy may be before it is called out; zero
	// means 8 days, a weekly backup plus a day's slack.
	Stale time.Duration
}

// WatchProof is one watch's newest copies.
type WatchProof struct {
	Watch  string
	Copies []Copy // one per destination the watch is routed to
}

// Copy is the newest copy at one destination; File is empty when there is
// none at all.
type Copy struct {
	Dest     string
	File     string
	Time     time.Time // when the copy was verified at the destination
	Size     int64
	Hash     string
	HashKind string
}

// Weekly builds the "proof of backup". Key: "weekly/<ISO year>-W<week>".
func Weekly(w WeeklyProof) Event {
	stale := w.Stale
	if stale == 0 {
		stale = 8 * 24 * time.Hour
	}
	var b strings.Builder
	var problems []string
	for _, wp := range w.Watches {
		fmt.Fprintf(&b, "%s:\n", wp.Watch)
		if len(wp.Copies) == 0 {
			b.WriteString("- no destination\n")
			problems = append(problems, wp.Watch)
		}
		for _, c := range wp.Copies {
			switch {
			case c.File == "":
				fmt.Fprintf(&b, "- %s: NO COPY YET\n", c.Dest)
				problems = append(problems, wp.Watch+"→"+c.Dest)
				continue
			case w.Time.Sub(c.Time) > stale:
				fmt.Fprintf(&b, "- %s: OLD: ", c.Dest)
				problems = append(problems, wp.Watch+"→"+c.Dest)
			default:
				fmt.Fprintf(&b, "- %s: ", c.Dest)
			}
			fmt.Fprintf(&b, "%s, %s, from %s", c.File, humanBytes(c.Size), when(c.Time))
			if c.Hash != "" {
				fmt.Fprintf(&b, ", %s %s verified", c.HashKind, c.Hash)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	year, week := w.Time.ISOWeek()
	subject := "offsite: weekly proof of backup, every backup has a recent copy"
	intro := "Every watched folder has a recent, verified copy at each destination.\n\n"
	if len(problems) > 0 {
		subject = fmt.Sprintf("offsite: weekly proof of backup, %s without a recent copy", plural(len(problems), "destination"))
		intro = fmt.Sprintf("Some backups have no recent copy: %s. Run `offsite status` to see why.\n\n", strings.Join(problems, ", "))
	}
	return Event{
		Kind:    KindWeekly,
		Key:     fmt.Sprintf("weekly/%d-W%02d", year, week),
		Subject: subject,
		Text:    intro + strings.TrimRight(b.String(), "\n"),
		Fields: map[string]string{
			"watches": strconv.Itoa(len(w.Watches)), "problems": strconv.Itoa(len(problems)),
		},
		Time: w.Time,
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
