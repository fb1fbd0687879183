package drill

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/queue"
)

// Notifier stores events for delivery; *notify.Notifier implements it.
type Notifier interface {
	Notify(ctx context.Context, e notify.Event) error
}

// Runner is the daemon's test restore: one whenever Every has passed since
// the last (kept in the queue across restarts), a failure alert per
// damaged copy, and a line for the weekly report.
type Runner struct {
	Store  *queue.Store
	Every  time.Duration
	Sample int // older backups tested beside each watch's newest
	// Readable says whether dest is still configured and can be read back
	// (a mailbox cannot).
	Readable func(dest string) bool
	Open     Opener // with the keys this PC holds
	Notifier Notifier
	Log      *slog.Logger
}

// Loop runs a test restore whenever one is due, looking once an hour,
// until ctx ends. Every <= 0 turns test restores off.
func (r *Runner) Loop(ctx context.Context) {
	if r.Every <= 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	// Not at once: a PC that was just switched on has uploads to do first.
	first := time.NewTimer(10 * time.Minute)
	defer first.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-first.C:
		case <-t.C:
		}
		r.RunIfDue(ctx, time.Now())
	}
}

// RunIfDue runs one test restore when it is due at now and reports it.
func (r *Runner) RunIfDue(ctx context.Context, now time.Time) {
	rec, err := r.Store.Drills(ctx)
	if err != nil {
		r.Log.Warn("cannot read when the last test restore ran", "err", err)
		return
	}
	if rec.LastRun.IsZero() {
		// A new install has its first uploads to make: the clock starts now.
		r.setRun(ctx, now)
		return
	}
	if now.Sub(rec.LastRun) < r.Every {
		return
	}
	all, err := Targets(ctx, r.Store, "", r.Readable)
	if err != nil || len(all) == 0 {
		return
	}
	picked := Pick(all, r.Sample, rand.New(rand.NewPCG(uint64(now.UnixNano()), 2)))
	outcomes := Run(ctx, picked, r.Open)
	if ctx.Err() != nil {
		return // cut short by a shutdown: it runs again after the restart
	}
	r.setRun(ctx, now)
	if err := Record(ctx, r.Store, now, outcomes); err != nil {
		r.Log.Warn("cannot record test restore results", "err", err)
	}
	tally := Count(outcomes)
	for _, o := range outcomes {
		if o.Err != nil {
			r.Log.Error("test restore failed", "destination", o.Dest, "remote", o.Remote, "err", o.Err)
			e := notify.DrillFailed(o.Watch, o.File, o.Dest, o.Remote, now, o.Err)
			if err := r.Notifier.Notify(ctx, e); err != nil {
				r.Log.Error("could not store notification", "kind", e.Kind, "key", e.Key, "err", err)
			}
		}
	}
	line := fmt.Sprintf("Test restore on %s: %d backup(s) restored and checked against the original", now.Format("Mon 2 Jan 2006"), tally.Full)
	if tally.StoredOnly > 0 {
		line += fmt.Sprintf(", %d encrypted one(s) checked without the key", tally.StoredOnly)
	}
	if tally.Failed > 0 {
		line += fmt.Sprintf(", %d FAILED (see the alerts)", tally.Failed)
	}
	var full time.Time
	if tally.Failed == 0 && tally.StoredOnly == 0 {
		full = now
	}
	if err := r.Store.SetDrillResult(ctx, line+".", full); err != nil {
		r.Log.Warn("cannot record the test restore for the weekly report", "err", err)
	}
	r.Log.Info("test restore done", "restored", tally.Full, "checked_without_key", tally.StoredOnly, "failed", tally.Failed)
}

func (r *Runner) setRun(ctx context.Context, at time.Time) {
	if err := r.Store.SetDrillRun(ctx, at); err != nil {
		r.Log.Warn("cannot record when the test restore ran; it may run again early", "err", err)
	}
}

// Targets lists the stored backups at dest ("" = every destination) that
// a test restore can pick from: the done uploads to a readable destination.
func Targets(ctx context.Context, s *queue.Store, dest string, readable func(dest string) bool) ([]Target, error) {
	jobs, err := s.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Destination: dest})
	if err != nil {
		return nil, fmt.Errorf("read the queue: %w", err)
	}
	var out []Target
	for _, j := range jobs {
		if !readable(j.Destination) {
			continue // no longer configured, or a mailbox: nothing to download it with
		}
		_, encrypted, _ := codec.Layers("x" + j.Form)
		t := Target{
			ID: j.ID, Dest: j.Destination, Remote: j.RemotePath, Watch: j.Version.Watch, File: j.Version.Rel,
			Uploaded: j.DoneAt, Modified: j.Version.ModTime,
			Original:  codec.Sum{Size: j.Version.Size, SHA256: j.Version.SHA256},
			Encrypted: encrypted, Recipients: j.Recipients,
		}
		if j.Form != "" {
			t.Stored = codec.Sum{Size: j.StoredSize, SHA256: j.StoredSHA256}
		}
		out = append(out, t)
	}
	return out, nil
}

// Record notes each outcome in the queue: a failure is kept (status shows
// it, the light is not green), a pass clears an earlier failure.
func Record(ctx context.Context, s *queue.Store, at time.Time, outcomes []Outcome) error {
	tested := make([]queue.TestRestore, 0, len(outcomes))
	for _, o := range outcomes {
		t := queue.TestRestore{At: at, Destination: o.Dest, Remote: o.Remote, Watch: o.Watch, File: o.File}
		if o.Err != nil {
			t.Error = o.Err.Error()
		}
		tested = append(tested, t)
	}
	return s.RecordTestRestores(ctx, tested)
}

// Notes are the weekly report's lines about test restores: the last one,
// and a reminder when no full one ran for a month because the key is not
// on this PC.
func Notes(ctx context.Context, s *queue.Store, now time.Time) ([]string, error) {
	rec, err := s.Drills(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the test restores: %w", err)
	}
	var notes []string
	if rec.Result != "" {
		notes = append(notes, rec.Result)
	}
	if !rec.LastRun.IsZero() && (rec.FullOK.IsZero() || now.Sub(rec.FullOK) > 30*24*time.Hour) && strings.Contains(rec.Result, "without the key") {
		notes = append(notes, "The encrypted backups' private key is not on this PC, so only a person holding it can test them in full: "+
			"run `offsite verify --restore --identity KEYFILE` this month.")
	}
	return notes, nil
}
