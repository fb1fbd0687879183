package daemon

import (
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
)

// runStats collects one upload run (from the first upload after an idle
// queue until it is idle again) for the report.
type runStats struct {
	start    time.Time
	uploads  []notify.Upload
	failures []notify.Failure
	notes    []string
}

// AddNote puts a line into the next run report (a pause that ended, a
// schedule that ran late).
func (d *Daemon) AddNote(note string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.currentRun()
	r.notes = append(r.notes, note)
}

func (d *Daemon) currentRun() *runStats {
	if d.run == nil {
		d.run = &runStats{start: d.now()}
	}
	return d.run
}

func (d *Daemon) recordUpload(j *queue.Job, dst *Destination, rf providers.RemoteFile) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.currentRun()
	r.uploads = append(r.uploads, notify.Upload{
		Watch: j.Version.Watch, File: j.Version.Rel, Dest: j.Destination,
		Size: j.Version.Size, Hash: rf.Hash, HashKind: string(dst.Provider.HashKind()),
	})
}

func (d *Daemon) recordFailure(j *queue.Job, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.currentRun()
	r.failures = append(r.failures, notify.Failure{Watch: j.Version.Watch, File: j.Version.Rel, Dest: j.Destination, Error: err.Error()})
}

// FinishRun closes the current run and returns its report event, or false
// when nothing happened since the last one.
func (d *Daemon) FinishRun() (notify.Event, bool) {
	d.mu.Lock()
	r := d.run
	d.run = nil
	d.mu.Unlock()
	if r == nil {
		return notify.Event{}, false
	}
	rep := notify.RunReport{Start: r.start, End: d.now(), Uploads: r.uploads, Failures: r.failures, Notes: r.notes}
	if d.o.AfterRun != nil {
		d.o.AfterRun(rep)
	}
	return notify.Report(rep), true
}
