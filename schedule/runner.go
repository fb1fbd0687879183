package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
)

// Retry is how long a schedule whose run failed waits before it is
// planned again (its destination may be down for a while).
const Retry = 10 * time.Minute

// Runner runs a config's schedules through the queue: a due schedule
// queues its copies as jobs, which the daemon uploads like any other, and
// its run ends when they are done.
type Runner struct {
	Cfg      *config.Config
	Store    *queue.Store
	Log      *slog.Logger
	Provider func(ctx context.Context, dest string) (providers.Provider, error) // the destination's one stack, to verify
	// Keep applies a schedule's keep at a destination after a run.
	Keep func(ctx context.Context, s *config.Schedule, dest string, note func(string)) ([]string, error)
	// WriteOnly, when set, reports a destination that cannot be read back
	// (a mailbox): its copies are not verified.
	WriteOnly func(dest string) bool
}

// StartDue starts a run of every schedule due at now that has none
// open: its copies are queued. It reports whether any were.
func (r *Runner) StartDue(ctx context.Context, now time.Time, note func(string)) (queued bool) {
	for i := range r.Cfg.Schedules {
		s := &r.Cfg.Schedules[i]
		if ctx.Err() != nil {
			return queued
		}
		log := r.Log.With("schedule", s.Name)
		run, err := r.Store.ScheduleRunOf(ctx, s.Name)
		if err != nil {
			log.Error("cannot read the schedule's runs; trying again later", "err", err)
			continue
		}
		if run.Open() || now.Before(run.RetryAt) {
			continue
		}
		last := run.LastRun
		if last.IsZero() {
			// A schedule never run counts from when it was first seen, so
			// adding one does not fire it at once for the past.
			if last = run.FirstSeen; last.IsZero() {
				if err := r.Store.SeeSchedule(ctx, s.Name, now); err != nil {
					log.Error("cannot record a new schedule", "err", err)
				}
				continue
			}
		}
		sched := Schedule{Name: s.Name, Cron: s.Cron, Location: s.Location()}
		due, late, at := Due(sched, last, now)
		if !due {
			continue
		}
		if late {
			log.Info("running a schedule missed while offsite was not running", "due", at)
		}
		if err := r.start(ctx, s, now, at, late); err != nil {
			if ctx.Err() != nil {
				return queued
			}
			r.failed(ctx, s, now, err, note)
			continue
		}
		queued = true
		log.Info("schedule started; its copies are queued", "late", late)
	}
	return queued
}

// start queues a copy of the newest complete backup of the
// schedule's watch to each of its destinations, at
// <folder>/<watch>/<file name> (or that name with the version's time, when
// another copy holds it).
func (r *Runner) start(ctx context.Context, s *config.Schedule, now, due time.Time, late bool) error {
	w := r.Cfg.Watch(s.CopyLatest)
	if w == nil {
		return fmt.Errorf("schedule %s: no watch named %q", s.Name, s.CopyLatest)
	}
	src, err := r.latestSource(ctx, w)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", s.Name, err)
	}
	copies := make([]queue.Copy, len(s.Destinations))
	for i, dn := range s.Destinations {
		copies[i] = queue.Copy{Destination: dn, Base: path.Join(s.Folder, w.Name, path.Base(src.Rel))}
	}
	return r.Store.StartScheduleRun(ctx, s.Name, src, copies, now, due, late)
}

// failed ends a schedule's run as failed: it is reported and
// planned again after Retry.
func (r *Runner) failed(ctx context.Context, s *config.Schedule, now time.Time, err error, note func(string)) {
	if eerr := r.Store.EndScheduleRun(ctx, s.Name, false, now.Add(Retry)); eerr != nil {
		r.Log.Error("cannot record a schedule's failed run", "schedule", s.Name, "err", eerr)
	}
	r.Log.Error("schedule failed; trying again later", "schedule", s.Name, "retry_in", Retry, "err", err)
	note(fmt.Sprintf("schedule %s failed (will try again in %s): %v", s.Name, Retry, err))
}

// Finish ends every open run whose copies are all settled.
// All done: the copies are verified (with verify), the schedule's keep is
// applied at each destination, and the run is reported as it ran (late or
// on time). Any copy given up (refused, or its source rewritten or removed
// before it was sent): the run failed and is planned again after
// Retry, with whatever is the newest backup then. Copies still
// queued or retrying keep the run open; they alert like any upload.
func (r *Runner) Finish(ctx context.Context, now time.Time, note func(string)) {
	for i := range r.Cfg.Schedules {
		s := &r.Cfg.Schedules[i]
		if ctx.Err() != nil {
			return
		}
		run, err := r.Store.ScheduleRunOf(ctx, s.Name)
		if err != nil || !run.Open() {
			continue
		}
		jobs, err := r.Store.Jobs(ctx, queue.Filter{Purpose: queue.ScheduleCopy, Schedule: s.Name, VersionID: run.Version})
		if err != nil {
			r.Log.Error("cannot read a schedule's copies; trying again later", "schedule", s.Name, "err", err)
			continue
		}
		jobs = slices.DeleteFunc(jobs, func(j *queue.Job) bool { return !slices.Contains(s.Destinations, j.Destination) })
		slices.SortFunc(jobs, func(x, y *queue.Job) int { return strings.Compare(x.Destination, y.Destination) })
		var failed []error
		busy := false
		for _, j := range jobs {
			switch j.State {
			case queue.Done, queue.Pruned:
			case queue.Dead, queue.Superseded, queue.Removed:
				failed = append(failed, fmt.Errorf("to %s: %s", j.Destination, j.LastError))
			default:
				busy = true
			}
		}
		if busy {
			continue
		}
		if len(jobs) == 0 {
			// The schedule's destinations changed since the run began.
			failed = append(failed, errors.New("none of its copies goes to the destinations it now names"))
		}
		if len(failed) > 0 {
			if err := r.Store.DropUnsentCopies(ctx, s.Name, run.Version); err != nil {
				r.Log.Error("cannot forget copies that were never sent; their names stay taken", "schedule", s.Name, "err", err)
			}
			r.failed(ctx, s, now, errors.Join(failed...), note)
			continue
		}
		if s.Verify {
			again, err := r.verify(ctx, s, run.Started, jobs, note)
			if err != nil {
				r.failed(ctx, s, now, err, note)
				continue
			}
			if again {
				continue // a copy is being sent again
			}
		}
		var copied []string
		var errs []error
		for _, j := range jobs {
			copied = append(copied, j.Destination+":"+j.RemotePath)
			if !s.Keep.IsZero() {
				if _, err := r.Keep(ctx, s, j.Destination, note); err != nil {
					errs = append(errs, fmt.Errorf("schedule %s keep at %s: %w", s.Name, j.Destination, err))
				}
			}
		}
		if err := r.Store.EndScheduleRun(ctx, s.Name, true, time.Time{}); err != nil {
			r.Log.Error("cannot record a schedule's run; it is checked again", "schedule", s.Name, "err", err)
			continue
		}
		msg := fmt.Sprintf("schedule %s copied %s", s.Name, strings.Join(copied, ", "))
		if run.Late {
			msg += fmt.Sprintf(" — ran late: it was due %s (offsite was not running then)", run.Due.In(s.Location()).Format("Mon 2006-01-02 15:04 MST"))
		}
		r.Log.Info("schedule ran", "schedule", s.Name, "copied", copied, "late", run.Late)
		note(msg)
		for _, err := range errs {
			r.Log.Error("schedule's keep could not finish", "schedule", s.Name, "err", err)
			note(fmt.Sprintf("%v", err))
		}
	}
}

// verify downloads each copy the run sent (one an earlier run made is
// not sent again, nor checked again) and compares its hash with the one
// the service reported for it, which the upload checked against the
// source. A copy that differs is queued again (again: the run stays open
// until it is done); one that cannot be read fails the run.
func (r *Runner) verify(ctx context.Context, s *config.Schedule, started time.Time, jobs []*queue.Job, note func(string)) (again bool, err error) {
	for _, j := range jobs {
		if j.State != queue.Done || j.DoneAt.Before(started) || j.RemoteHash == "" ||
			r.WriteOnly != nil && r.WriteOnly(j.Destination) {
			continue
		}
		p, err := r.Provider(ctx, j.Destination)
		if err != nil {
			return again, err
		}
		err = verifyCopy(ctx, p, j.RemotePath, j.RemoteHash)
		if errors.Is(err, errCopyDiffers) {
			if _, rerr := r.Store.Redo(ctx, j.ID, err.Error()); rerr != nil {
				return again, rerr
			}
			note(fmt.Sprintf("schedule %s: %v; sending it again", s.Name, err))
			again = true
			continue
		}
		if err != nil {
			return again, err
		}
	}
	return again, nil
}

// latestSource returns the newest version of a watch whose file is still
// as it was queued, preferring versions already uploaded somewhere (known
// complete and good).
func (r *Runner) latestSource(ctx context.Context, w *config.Watch) (queue.Version, error) {
	jobs, err := r.Store.Jobs(ctx, queue.Filter{Watch: w.Name, States: []queue.State{queue.Done, queue.Pruned}})
	if err != nil {
		return queue.Version{}, err
	}
	var cands []queue.Version
	for _, j := range jobs {
		cands = append(cands, j.Version)
	}
	recent, err := r.Store.RecentVersions(ctx, w.Name, 10)
	if err != nil {
		return queue.Version{}, err
	}
	sortNewest := func(vs []queue.Version) {
		slices.SortStableFunc(vs, func(x, y queue.Version) int { return y.ModTime.Compare(x.ModTime) })
	}
	sortNewest(cands)
	sortNewest(recent)
	for _, v := range append(cands, recent...) {
		st, err := os.Stat(filepath.Join(w.Path, filepath.FromSlash(v.Rel)))
		if err == nil && st.Mode().IsRegular() && st.Size() == v.Size && st.ModTime().Equal(v.ModTime) {
			return v, nil
		}
	}
	return queue.Version{}, fmt.Errorf("watch %s has no backup file to copy yet (none uploaded and still in %s)", w.Name, w.Path)
}

var errCopyDiffers = errors.New("the stored copy differs from the source")

// verifyCopy downloads a copy and compares its hash with want, the
// service's hash of it at upload.
func verifyCopy(ctx context.Context, p providers.Provider, remote, want string) error {
	rc, err := p.Get(ctx, remote)
	if err != nil {
		return fmt.Errorf("verify %s: %w", remote, err)
	}
	defer rc.Close()
	sums, _, err := providers.HashReader(rc, p.HashKind())
	if err != nil {
		return fmt.Errorf("verify %s: %w", remote, err)
	}
	if got := sums[p.HashKind()]; !providers.SameHash(p.HashKind(), got, want) {
		return fmt.Errorf("verify %s: %w: downloaded copy hashes to %s, the source to %s", remote, errCopyDiffers, got, want)
	}
	return nil
}
