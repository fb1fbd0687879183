package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/expect"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/status"
)

// utc returns t in UTC; a time stored as 0 (1970) means "not set" and
// becomes the zero time, which JSON leaves out.
func utc(t time.Time) time.Time {
	if t.IsZero() || t.UnixNano() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}

func utcPtr(t time.Time) *time.Time {
	if t = utc(t); t.IsZero() {
		return nil
	}
	return &t
}

// Status reads the queue and looks at the watched folders.
func (a *App) Status(ctx context.Context) (*status.Status, error) {
	st := &status.Status{Time: time.Now().UTC(), StateDir: a.Cfg.StateDir,
		Concerns: []status.Concern{}, Destinations: []status.Destination{}, Watches: []status.Watch{},
		Uploading: []status.Job{}, Problems: []status.Job{}, Recent: []status.Job{}}
	sum, err := a.Store.Summary(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the queue: %w", err)
	}
	pauses, err := a.Store.Pauses(ctx)
	if err != nil {
		return nil, fmt.Errorf("read paused destinations: %w", err)
	}
	alerting, err := a.Store.FailingPast(ctx, a.Cfg.Retry.AlertAfter)
	if err != nil {
		return nil, err
	}
	retired, err := a.RetiredKeyCopies(ctx)
	if err != nil {
		return nil, err
	}
	drilled := a.drillFailures(ctx)
	checked, err := a.Store.CopiesChecked(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]queue.DestinationStatus{}
	for _, s := range sum {
		byName[s.Destination] = s
	}
	for _, d := range a.Cfg.Destinations {
		s := byName[d.Name]
		local, login := a.isLocal(d.Name), a.logsIn(d.Name)
		ds := status.Destination{Name: d.Name, Type: d.Type, Done: s.Counts[queue.Done], BytesDone: s.Bytes,
			Waiting: s.Counts[queue.Pending] + s.Counts[queue.Uploading], Failing: s.Counts[queue.Failed],
			Alerting: alerting[d.Name], GivenUp: s.Counts[queue.Dead], LastSuccess: utcPtr(s.LastSuccess),
			StoredAs: d.Codec().Suffix(), RetiredKey: retired[d.Name], RestoreFailed: len(drilled[d.Name]),
			CopiesChecked: utcPtr(checked[d.Name])}
		for remote, e := range drilled[d.Name] {
			if ds.RestoreError == "" || remote+": " < ds.RestoreError {
				ds.RestoreError = remote + ": " + e // the first by name, so the message is stable
			}
		}
		for _, p := range pauses {
			if p.Destination == d.Name {
				ds.Paused = &status.Pause{Reason: p.Reason, Message: p.Message, Since: utc(p.Since), NextTry: utc(p.RetryAt),
					Problem: status.PauseProblem(local, p.Reason), Fix: status.PauseFix(d.Name, local, login, p.Reason)}
			}
		}
		st.Destinations = append(st.Destinations, ds)
	}
	for i := range a.Cfg.Watches {
		ws, err := a.watchStatus(ctx, &a.Cfg.Watches[i], st.Time)
		if err != nil {
			return nil, err
		}
		st.Watches = append(st.Watches, ws)
	}
	uploading, problems, err := a.Store.InFlight(ctx, 50)
	if err != nil {
		return nil, fmt.Errorf("read uploads in progress and failing: %w", err)
	}
	for _, j := range uploading {
		st.Uploading = append(st.Uploading, jobStatus(j))
	}
	for _, j := range problems {
		st.Problems = append(st.Problems, jobStatus(j))
	}
	removed, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Removed}, Unacked: true, Limit: 50})
	if err != nil {
		return nil, err
	}
	st.Removed = []status.Job{}
	for _, j := range removed {
		st.Removed = append(st.Removed, jobStatus(j))
	}
	if st.Refused, err = a.refused(ctx); err != nil {
		return nil, err
	}
	recent, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Limit: 10})
	if err != nil {
		return nil, fmt.Errorf("read recent uploads: %w", err)
	}
	for _, j := range recent {
		st.Recent = append(st.Recent, jobStatus(j))
	}
	var dests []string
	for _, d := range a.Cfg.Destinations {
		dests = append(dests, d.Name)
	}
	days, err := a.Store.Daily(ctx, dests, 30, st.Time, time.Local)
	if err != nil {
		return nil, err
	}
	st.Days = make([]status.Day, 0, len(days))
	for _, d := range days {
		st.Days = append(st.Days, status.Day{Date: d.Date.Format(time.DateOnly), Files: d.Files, Bytes: d.Bytes, Retried: d.Retried, Failing: d.Failing})
	}
	drills, err := a.Store.Drills(ctx)
	if err != nil {
		return nil, err
	}
	if t := drills.Newest; t != nil {
		st.TestRestore = &status.TestRestore{At: utc(t.At), Destination: t.Destination, Watch: t.Watch, File: t.File,
			OK: t.Error == "", Message: t.Error}
	}
	if a.intake != nil {
		if t, failing := a.intake(); failing {
			st.Intake = &status.Intake{Files: t.Files, Error: t.Err.Error(), Since: t.Since,
				Problem: fmt.Sprintf("%d backups could not be queued: %v; free space on the state folder's disk", t.Files, t.Err)}
		}
	}
	if st.Daemon, err = a.running(ctx, st.Time); err != nil {
		return nil, err
	}
	// Last, once every field is filled: the verdict is a function of them.
	st.Concerns = st.Health()
	st.OK = len(st.Concerns) == 0
	return st, nil
}

// refused lists the refusals whose file is still where it was refused: one
// that was since deleted is no backup waiting to leave.
func (a *App) refused(ctx context.Context) ([]status.Refused, error) {
	rs, err := a.Store.Refusals(ctx)
	if err != nil {
		return nil, err
	}
	out := []status.Refused{}
	for _, r := range rs {
		w := a.Cfg.Watch(r.Watch)
		if w == nil {
			continue
		}
		if _, err := os.Lstat(filepath.Join(w.Path, filepath.FromSlash(r.Rel))); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		out = append(out, status.Refused{Watch: r.Watch, File: r.Rel, Reason: r.Reason, Error: r.Message, Since: r.Since.UTC()})
	}
	return out, nil
}

// watchStatus looks at a watched folder and its expected backups, as the
// daemon's alerts do: a folder that is gone, or a backup that did not come.
func (a *App) watchStatus(ctx context.Context, w *config.Watch, now time.Time) (status.Watch, error) {
	ws := status.Watch{Name: w.Name, Path: w.Path, State: status.WatchOK}
	last, err := a.Store.LastArrival(ctx, w.Name)
	if err != nil {
		return ws, fmt.Errorf("read the newest backup of %s: %w", w.Name, err)
	}
	ws.LastArrival = utcPtr(last)
	if n, ok, err := a.Store.NewestVersion(ctx, w.Name); err != nil {
		return ws, err
	} else if ok {
		ns := &status.Newest{File: n.Rel, Size: n.Size, Seen: utc(n.FirstSeen), Verified: n.Verified(), Copies: []status.Copy{}}
		for _, j := range n.Jobs {
			ns.Copies = append(ns.Copies, status.Copy{Destination: j.Destination, State: string(j.State)})
		}
		ws.Newest = ns
	}
	silence := a.silence(ctx, w.Name)
	ws.SilencedTo = utcPtr(until(silence, now))
	ws.HeldTo = utcPtr(a.heldUntil(ctx, w.Name, now))
	switch fi, err := os.Stat(w.Path); {
	case errors.Is(err, fs.ErrNotExist):
		ws.State, ws.Error = status.WatchMissing, "the folder does not exist"
		return ws, nil
	case err != nil:
		ws.State, ws.Error = status.WatchUnreadable, err.Error()
		return ws, nil
	case !fi.IsDir():
		ws.State, ws.Error = status.WatchUnreadable, "it is a file, not a folder"
		return ws, nil
	}
	c, err := expect.New(expect.Rule{Every: time.Duration(w.ExpectEvery), Cron: w.ExpectCron, Location: w.Location()})
	if err != nil || (w.ExpectEvery == 0 && w.ExpectCron == "") {
		return ws, nil
	}
	ref := last
	if ref.IsZero() {
		// Before the first backup, count from when watching began, as the
		// monitor does; status only reads it.
		t, err := a.Store.WatchedSince(ctx, w.Name)
		if err != nil {
			return ws, err
		}
		if t.IsZero() {
			return ws, nil
		}
		ref = t
	}
	if missed, since := c.Missed(now, ref, silence); missed {
		ws.State, ws.OverdueSince = status.WatchOverdue, utcPtr(since)
		if w.ExpectCron != "" {
			ws.Expect = "by the schedule " + w.ExpectCron
		} else {
			ws.Expect = "at least every " + time.Duration(w.ExpectEvery).String()
		}
	}
	return ws, nil
}

func jobStatus(j *queue.Job) status.Job {
	js := status.Job{Watch: j.Version.Watch, File: j.Version.Rel, Destination: j.Destination, Remote: j.RemotePath,
		State: string(j.State), Size: j.Version.Size, Attempts: j.Attempts, Error: j.LastError, Hash: j.RemoteHash, At: utc(j.UpdatedAt),
		Acked: j.Acked}
	if j.State == queue.Failed {
		js.NextTry = utc(j.NextAttempt)
	}
	return js
}
