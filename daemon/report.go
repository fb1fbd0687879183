package daemon

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
)

// runStats collects one upload run (from the first claim after an idle
// queue until it is idle again) for the report and the health pings.
type runStats struct {
	start    time.Time
	last     time.Time // the last upload, failure or note: the run's real end
	uploads  []notify.Upload
	done     map[int64]bool // jobs uploaded in this run
	failures map[int64]notify.Failure
	order    []int64 // failures in the order they happened
	removed  []notify.Failure
	notes    []string
}

// BeginRun starts an upload run unless one is running; a worker calls it
// when it claims jobs, `offsite once` when it starts.
func (d *Daemon) BeginRun() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.currentRun()
}

// AddNote puts a line into the next run report (a pause that ended, a
// schedule that ran late).
func (d *Daemon) AddNote(note string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.currentRun()
	r.notes = append(r.notes, note)
	r.last = d.now()
}

// currentRun returns the run, starting one (and telling OnRunStart) when
// none is running. Call with d.mu held.
func (d *Daemon) currentRun() *runStats {
	if d.run == nil {
		d.run = &runStats{start: d.now(), done: map[int64]bool{}, failures: map[int64]notify.Failure{}}
		if d.o.OnRunStart != nil {
			d.o.OnRunStart()
		}
	}
	return d.run
}

func (d *Daemon) recordUpload(j *queue.Job, dst *Destination, rf providers.RemoteFile, took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.currentRun()
	now := d.now()
	if began := now.Add(-took); began.Before(r.start) {
		r.start = began
	}
	r.last = now
	r.done[j.ID] = true
	r.uploads = append(r.uploads, notify.Upload{
		Watch: j.Version.Watch, File: j.Version.Rel, Dest: j.Destination, Version: j.Version.SHA256,
		Size: j.Version.Size, Hash: rf.Hash, HashKind: string(dst.Provider.HashKind()),
	})
}

func (d *Daemon) recordFailure(j *queue.Job, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.currentRun()
	r.last = d.now()
	if _, seen := r.failures[j.ID]; !seen {
		r.order = append(r.order, j.ID)
	}
	r.failures[j.ID] = notify.Failure{Watch: j.Version.Watch, File: j.Version.Rel, Dest: j.Destination,
		Attempts: j.Attempts + 1, Error: err.Error(), Hint: providers.HintOf(err),
		GivenUp: providers.KindOf(err) == providers.Permanent}
}

// recordRemoved notes a job whose file was deleted before it was sent.
func (d *Daemon) recordRemoved(j *queue.Job) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.currentRun()
	r.last = d.now()
	r.removed = append(r.removed, notify.Failure{Watch: j.Version.Watch, File: j.Version.Rel, Dest: j.Destination})
}

// removedInRun lists, for `offsite once`'s exit status, the files of the
// current run deleted before they were sent.
func (d *Daemon) removedInRun() []notify.Failure {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.run == nil {
		return nil
	}
	return slices.Clone(d.run.removed)
}

// FinishRun closes the current run and returns its report event, or false
// when there is nothing to report. It first alerts, once per file, the
// backups deleted before they were sent. OnRunEnd hears of every run that
// began, reported or not, so each start ping gets its end.
func (d *Daemon) FinishRun() (notify.Event, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.alertRemoved(ctx)
	d.mu.Lock()
	r := d.run
	d.run = nil
	d.mu.Unlock()
	if r == nil {
		return notify.Event{}, false
	}
	end := r.last
	if end.IsZero() {
		end = d.now()
	}
	rep := notify.RunReport{Start: r.start, End: end, Uploads: r.uploads, Removed: r.removed, Notes: r.notes}
	for _, id := range r.order {
		// A job that failed and then went through in the same run is done.
		if !r.done[id] {
			rep.Failures = append(rep.Failures, r.failures[id])
		}
	}
	if d.o.AfterRun != nil {
		d.o.AfterRun(rep)
	}
	if rep.Empty() {
		return notify.Event{}, false
	}
	return notify.Report(rep), true
}

// alertRemoved sends one failure alert for every removed job not yet
// alerted, grouped into one message. The alerted flag in the queue makes
// it once per file and destination, across restarts.
func (d *Daemon) alertRemoved(ctx context.Context) {
	jobs, err := d.store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Removed}, Unalerted: true, Limit: 1000})
	if err != nil {
		d.log.Error("cannot read removed backups to alert them", "err", err)
		return
	}
	if len(jobs) == 0 {
		return
	}
	slices.SortFunc(jobs, func(a, b *queue.Job) int { return int(a.ID - b.ID) })
	lost := make([]notify.Failure, len(jobs))
	for i, j := range jobs {
		lost[i] = notify.Failure{Watch: j.Version.Watch, File: j.Version.Rel, Dest: j.Destination}
	}
	e := notify.BackupsRemoved(fmt.Sprintf("removed/%d+%d", jobs[0].ID, len(jobs)), lost)
	e.Time = d.now()
	if d.o.Notifier != nil {
		if err := d.o.Notifier.Notify(ctx, e); err != nil {
			d.log.Error("could not store the alert about removed backups; it is tried again after the next run", "err", err)
			return
		}
	}
	for _, j := range jobs {
		if err := d.store.MarkAlerted(ctx, j.ID); err != nil {
			d.log.Error("cannot record that a removed backup was alerted; it may be alerted again", "err", err)
		}
	}
}
