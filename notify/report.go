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
	Uploads    []Upload  // one per file and destination
	Failures   []Failure // one per file and destination still not there
	Removed    []Failure // files deleted from the folder before they were sent there
	Pruned     []string  // remote paths removed by retention
	Notes      []string  // anything else worth a line, in plain words (schedules, pauses)
}

// Upload is one file stored at one destination, with the hash the service
// reported and offsite checked against the local file.
type Upload struct {
	Watch, File, Dest string
	Version           string // the content's SHA-256: two versions of one name are two files
	Size              int64
	Hash, HashKind    string
}

// Failure is one file that did not reach one destination in this run.
type Failure struct {
	Watch, File, Dest string
	Attempts          int
	Error             string
	Hint              string // what a person should do, if known
	GivenUp           bool   // no retry can help (a permanent error): the job is not retried
}

// fileUploads is one file's uploads in a run, over its destinations.
type fileUploads struct {
	Upload
	copies []Upload
}

// groupUploads counts files as files: a file sent to three destinations is
// one file with three copies.
func groupUploads(us []Upload) []*fileUploads {
	var out []*fileUploads
	idx := map[string]*fileUploads{}
	for _, u := range us {
		k := u.Watch + "\x00" + u.File + "\x00" + u.Version
		if u.Version == "" {
			k += "\x00" + strconv.FormatInt(u.Size, 10)
		}
		g := idx[k]
		if g == nil {
			g = &fileUploads{Upload: u}
			idx[k] = g
			out = append(out, g)
		}
		g.copies = append(g.copies, u)
	}
	return out
}

// countFiles is how many distinct files fs names.
func countFiles(fs []Failure) int {
	seen := map[string]bool{}
	for _, f := range fs {
		seen[f.Watch+"\x00"+f.File] = true
	}
	return len(seen)
}

// Report summarises a run. Key: "report/<start>". Files are counted once
// however many destinations they went to, and a run that only ran a
// schedule says what the schedule did instead of "0 files uploaded".
func Report(r RunReport) Event {
	var b strings.Builder
	var total int64
	watches := map[string]bool{}
	files := groupUploads(r.Uploads)
	for _, f := range files {
		total += f.Size
		watches[f.Watch] = true
	}
	for _, f := range r.Failures {
		watches[f.Watch] = true
	}
	for _, f := range r.Removed {
		watches[f.Watch] = true
	}
	failing, removed := countFiles(r.Failures), countFiles(r.Removed)
	took := humanDuration(r.End.Sub(r.Start))
	uploadRun := len(files) > 0 || failing > 0 || removed > 0
	if uploadRun {
		fmt.Fprintf(&b, "offsite uploaded %s (%s) in %s, finished %s.\n", plural(len(files), "file"), HumanBytes(total),
			took, when(r.End))
	}
	if failing > 0 {
		keeps, given := 0, 0
		for _, f := range r.Failures {
			if f.GivenUp {
				given++
			} else {
				keeps++
			}
		}
		switch {
		case given == 0:
			them := "they stay"
			if failing == 1 {
				them = "it stays"
			}
			fmt.Fprintf(&b, "%s could not be uploaded yet; %s in the queue and offsite keeps trying.\n", plural(failing, "file"), them)
		case keeps == 0:
			fmt.Fprintf(&b, "%s cannot be uploaded as it is; offsite does not retry it (see below for what to do).\n", plural(failing, "file"))
		default:
			fmt.Fprintf(&b, "%s could not be uploaded; some stay in the queue and are retried, others cannot be sent as they are (see below).\n", plural(failing, "file"))
		}
	}
	if removed > 0 {
		fmt.Fprintf(&b, "%s removed from the backup folder before offsite could send it; no copy of it exists at the destinations listed below.\n",
			pluralVerb(removed, "file was", "files were"))
	}
	if len(files) > 0 {
		b.WriteString("\nUploaded and checked:\n")
		for _, f := range files {
			fmt.Fprintf(&b, "- %s/%s, %s → ", f.Watch, f.File, HumanBytes(f.Size))
			for i, c := range f.copies {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(c.Dest)
				if c.Hash != "" {
					fmt.Fprintf(&b, " (%s %s verified)", c.HashKind, shortHash(c.Hash))
				}
			}
			b.WriteString("\n")
		}
	}
	if len(r.Failures) > 0 {
		b.WriteString("\nNot uploaded:\n")
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "- %s/%s → %s: %s", f.Watch, f.File, f.Dest, f.Error)
			if f.Hint != "" {
				fmt.Fprintf(&b, " (what to do: %s)", trimDot(f.Hint))
			}
			b.WriteString("\n")
		}
	}
	if len(r.Removed) > 0 {
		b.WriteString("\nRemoved before they were sent:\n")
		for _, f := range r.Removed {
			fmt.Fprintf(&b, "- %s/%s → %s\n", f.Watch, f.File, f.Dest)
		}
	}
	if len(r.Pruned) > 0 {
		b.WriteString("\nOld copies removed by the retention rules:\n")
		for _, p := range r.Pruned {
			b.WriteString("- " + p + "\n")
		}
	}
	for i, n := range r.Notes {
		if i == 0 && b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(n + "\n")
	}
	var subject string
	switch {
	case uploadRun:
		subject = fmt.Sprintf("offsite: %s uploaded", plural(len(files), "file"))
		if failing > 0 {
			subject += fmt.Sprintf(", %d not yet", failing)
		}
		if removed > 0 {
			subject += fmt.Sprintf(", %d removed before sending", removed)
		}
		if len(watches) > 0 {
			subject += " (" + strings.Join(sortedKeys(watches), ", ") + ")"
		}
	case len(r.Pruned) > 0:
		subject = fmt.Sprintf("offsite: %s removed by the retention rules", plural(len(r.Pruned), "old copy"))
	case len(r.Notes) > 0:
		// A run that only copied a schedule (or only has news): say what happened.
		subject = "offsite: " + firstLine(r.Notes[0])
		if len(r.Notes) > 1 {
			subject += fmt.Sprintf(" (and %d more)", len(r.Notes)-1)
		}
	default:
		subject = "offsite: nothing to upload"
	}
	return Event{
		Kind:    KindReport,
		Key:     "report/" + r.Start.UTC().Format(time.RFC3339Nano),
		Subject: subject,
		Text:    strings.TrimRight(b.String(), "\n"),
		Fields: map[string]string{
			"uploads": strconv.Itoa(len(files)), "copies": strconv.Itoa(len(r.Uploads)),
			"failures": strconv.Itoa(failing), "removed": strconv.Itoa(removed),
			"bytes": strconv.FormatInt(total, 10), "pruned": strconv.Itoa(len(r.Pruned)),
			"notes": strconv.Itoa(len(r.Notes)),
			"start": timeField(r.Start), "end": timeField(r.End),
			"duration": r.End.Sub(r.Start).Round(time.Millisecond).String(),
		},
		Time: r.End,
	}
}

// Empty reports whether nothing happened worth a report.
func (r RunReport) Empty() bool {
	return len(r.Uploads) == 0 && len(r.Failures) == 0 && len(r.Removed) == 0 && len(r.Pruned) == 0 && len(r.Notes) == 0
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return trimDot(s)
}

func pluralVerb(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// WeeklyProof lists, per watch, the newest copy at each destination.
type WeeklyProof struct {
	Time    time.Time
	Watches []WatchProof
	// Stale is how old a newest copy may be before it is called out; zero
	// means 8 days, a weekly backup plus a day's slack.
	Stale time.Duration
	// Notes are lines after the copies: test restores, keys.
	Notes []string
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
			fmt.Fprintf(&b, "%s, %s, from %s", c.File, HumanBytes(c.Size), when(c.Time))
			if c.Hash != "" {
				fmt.Fprintf(&b, ", %s %s verified", c.HashKind, c.Hash)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	for _, n := range w.Notes {
		b.WriteString(n + "\n")
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
