package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offsite-backup/offsite/internal/termsafe"
	"github.com/offsite-backup/offsite/queue"
)

// Status is what `offsite status` shows; its JSON form is documented in
// docs/status.md and is a contract for scripts and monitoring.
type Status struct {
	Time         time.Time           `json:"time"`
	StateDir     string              `json:"state_dir"`
	Destinations []DestinationStatus `json:"destinations"`
	Watches      []WatchStatus       `json:"watches"`
	Uploading    []JobStatus         `json:"uploading"`
	Problems     []JobStatus         `json:"problems"`
	// Removed lists backups deleted from their folder before they reached a
	// destination, until `offsite ack`. They are alerted, not retried.
	Removed []JobStatus `json:"removed"`
	Recent  []JobStatus `json:"recent"`
	// Intake is set while ready backups cannot be recorded in the queue
	// (state folder's disk full, database unwritable): they are not on
	// their way anywhere yet. Only the running daemon knows it.
	Intake *IntakeStatus `json:"intake,omitempty"`
}

// IntakeStatus is the "intake" problem: backups found but not queued.
type IntakeStatus struct {
	Problem string    `json:"problem"`
	Files   int       `json:"files"`
	Error   string    `json:"error"`
	Since   time.Time `json:"since"`
}

type DestinationStatus struct {
	Name        string       `json:"name"`
	Type        string       `json:"type"`
	Done        int          `json:"done"`
	Waiting     int          `json:"waiting"`
	Failing     int          `json:"failing"`
	GivenUp     int          `json:"given_up"`
	BytesDone   int64        `json:"bytes_done"`
	LastSuccess *time.Time   `json:"last_success,omitempty"`
	Paused      *PauseStatus `json:"paused,omitempty"`
}

type PauseStatus struct {
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Since   time.Time `json:"since"`
	NextTry time.Time `json:"next_try"`
}

type WatchStatus struct {
	Name        string     `json:"name"`
	Path        string     `json:"path"`
	LastArrival *time.Time `json:"last_arrival,omitempty"`
	SilencedTo  *time.Time `json:"alerts_silenced_until,omitempty"`
	HeldTo      *time.Time `json:"uploads_held_until,omitempty"`
}

type JobStatus struct {
	Watch       string    `json:"watch"`
	File        string    `json:"file"`
	Destination string    `json:"destination"`
	Remote      string    `json:"remote"`
	State       string    `json:"state"`
	Size        int64     `json:"size"`
	Attempts    int       `json:"attempts"`
	Acked       int64     `json:"acknowledged_bytes,omitempty"` // of a resumable upload in progress
	Error       string    `json:"error,omitempty"`
	NextTry     time.Time `json:"next_try,omitzero"`
	Hash        string    `json:"hash,omitempty"`
	At          time.Time `json:"at"`
}

// Status reads the queue.
func (a *App) Status(ctx context.Context) (*Status, error) {
	st := &Status{Time: time.Now(), StateDir: a.Cfg.StateDir}
	sum, err := a.Store.Summary(ctx)
	if err != nil {
		return nil, err
	}
	pauses, err := a.Store.Pauses(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]queue.DestinationStatus{}
	for _, s := range sum {
		byName[s.Destination] = s
	}
	for _, d := range a.Cfg.Destinations {
		s := byName[d.Name]
		ds := DestinationStatus{Name: d.Name, Type: d.Type, Done: s.Counts[queue.Done], BytesDone: s.Bytes,
			Waiting: s.Counts[queue.Pending] + s.Counts[queue.Uploading], Failing: s.Counts[queue.Failed], GivenUp: s.Counts[queue.Dead]}
		if !s.LastSuccess.IsZero() {
			t := s.LastSuccess
			ds.LastSuccess = &t
		}
		for _, p := range pauses {
			if p.Destination == d.Name {
				ds.Paused = &PauseStatus{Reason: p.Reason, Message: p.Message, Since: p.Since, NextTry: p.RetryAt}
			}
		}
		st.Destinations = append(st.Destinations, ds)
	}
	for _, w := range a.Cfg.Watches {
		ws := WatchStatus{Name: w.Name, Path: w.Path}
		if t, err := a.Store.LastArrival(ctx, w.Name); err == nil && !t.IsZero() {
			ws.LastArrival = &t
		}
		if t := a.silencedUntil(ctx, w.Name); !t.IsZero() {
			ws.SilencedTo = &t
		}
		if t := a.heldUntil(ctx, w.Name, st.Time); !t.IsZero() {
			ws.HeldTo = &t
		}
		st.Watches = append(st.Watches, ws)
	}
	uploading, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Uploading}, Limit: 50})
	if err != nil {
		return nil, err
	}
	for _, j := range uploading {
		st.Uploading = append(st.Uploading, jobStatus(j))
	}
	problems, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Failed, queue.Dead}, Limit: 50})
	if err != nil {
		return nil, err
	}
	for _, j := range problems {
		st.Problems = append(st.Problems, jobStatus(j))
	}
	removed, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Removed}, Unacked: true, Limit: 50})
	if err != nil {
		return nil, err
	}
	st.Removed = []JobStatus{}
	for _, j := range removed {
		st.Removed = append(st.Removed, jobStatus(j))
	}
	recent, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Limit: 10})
	if err != nil {
		return nil, err
	}
	for _, j := range recent {
		st.Recent = append(st.Recent, jobStatus(j))
	}
	if a.intake != nil {
		if t, failing := a.intake(); failing {
			st.Intake = &IntakeStatus{Files: t.Files, Error: t.Err.Error(), Since: t.Since,
				Problem: fmt.Sprintf("%d backups could not be queued: %v; free space on the state folder's disk", t.Files, t.Err)}
		}
	}
	return st, nil
}

func jobStatus(j *queue.Job) JobStatus {
	js := JobStatus{Watch: j.Version.Watch, File: j.Version.Rel, Destination: j.Destination, Remote: j.RemotePath,
		State: string(j.State), Size: j.Version.Size, Attempts: j.Attempts, Error: j.LastError, Hash: j.RemoteHash, At: j.UpdatedAt,
		Acked: j.Acked}
	if j.State == queue.Failed {
		js.NextTry = j.NextAttempt
	}
	return js
}

// Healthy is false while a destination is paused or uploads keep failing.
func (s *Status) Healthy() bool {
	if s.Intake != nil {
		return false
	}
	for _, d := range s.Destinations {
		if d.Paused != nil || d.GivenUp > 0 {
			return false
		}
	}
	return true
}

// Print writes the human-readable form.
func (s *Status) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "DESTINATION\tTYPE\tUPLOADED\tWAITING\tFAILING\tGIVEN UP\tLAST SUCCESS\tSTATE")
	for _, d := range s.Destinations {
		last := "never"
		if d.LastSuccess != nil {
			last = ago(s.Time, *d.LastSuccess)
		}
		state := "ok"
		if d.Paused != nil {
			state = "PAUSED: " + termsafe.Quote(d.Paused.Message)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d (%s)\t%d\t%d\t%d\t%s\t%s\n", d.Name, d.Type, d.Done, humanBytes(d.BytesDone), d.Waiting, d.Failing, d.GivenUp, last, state)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "WATCH\tFOLDER\tNEWEST BACKUP")
	for _, ws := range s.Watches {
		last := "none yet"
		if ws.LastArrival != nil {
			last = ago(s.Time, *ws.LastArrival)
		}
		if ws.SilencedTo != nil {
			last += " (alerts silenced until " + ws.SilencedTo.Format("2006-01-02") + ")"
		}
		if ws.HeldTo != nil {
			last += " (uploads held until " + ws.HeldTo.Format("2006-01-02") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", ws.Name, termsafe.Quote(ws.Path), last)
	}
	tw.Flush()
	if s.Intake != nil {
		fmt.Fprintf(w, "\nNOT QUEUED\n  %s\n", s.Intake.Problem)
	}
	if len(s.Uploading) > 0 {
		fmt.Fprintln(w, "\nUPLOADING NOW")
		for _, u := range s.Uploading {
			done := ""
			if u.Acked > 0 && u.Size > 0 {
				done = fmt.Sprintf(", %d%% acknowledged", u.Acked*100/u.Size)
			}
			fmt.Fprintf(w, "  %s → %s (%s%s)\n", termsafe.Quote(u.Watch+"/"+u.File), u.Destination, humanBytes(u.Size), done)
		}
	}
	if len(s.Problems) > 0 {
		fmt.Fprintln(w, "\nNEEDS ATTENTION")
		for _, p := range s.Problems {
			next := ""
			if !p.NextTry.IsZero() {
				next = ", next try " + ago(s.Time, p.NextTry)
			}
			fmt.Fprintf(w, "  %s → %s: %s after %d attempt(s)%s\n    %s\n", termsafe.Quote(p.Watch+"/"+p.File), p.Destination, p.State, p.Attempts, next, termsafe.Quote(p.Error))
		}
	}
	if len(s.Removed) > 0 {
		fmt.Fprintln(w, "\nDELETED BEFORE THEY WERE SENT (no copy at the destination; `offsite ack` hides them)")
		for _, r := range s.Removed {
			fmt.Fprintf(w, "  %s  %s/%s → %s\n", r.At.Local().Format("2006-01-02 15:04"), r.Watch, r.File, r.Destination)
		}
	}
	if len(s.Recent) > 0 {
		fmt.Fprintln(w, "\nRECENT UPLOADS")
		for _, r := range s.Recent {
			fmt.Fprintf(w, "  %s  %s → %s:%s (%s)\n", r.At.Local().Format("2006-01-02 15:04"), termsafe.Quote(r.Watch+"/"+r.File), r.Destination, termsafe.Quote(r.Remote), humanBytes(r.Size))
		}
	}
}

func ago(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func humanBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", f), ".0") + " " + units[i]
}
