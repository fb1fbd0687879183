package app

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/internal/termsafe"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/watcher"
)

// beatEvery is how often a running daemon says so in the queue; a reader
// that hears nothing for staleAfter takes it for stopped (killed, crashed,
// the PC asleep).
const (
	beatEvery  = 30 * time.Second
	staleAfter = 4 * beatEvery
)

// heartbeat records that this process runs the pipeline until the returned
// stop is called, which records a clean stop.
func (a *App) heartbeat(ctx context.Context) (stop func()) {
	started := time.Now()
	beat := func() {
		if err := a.Store.Beat(context.WithoutCancel(ctx), os.Getpid(), started, time.Now()); err != nil {
			a.Log.Warn("cannot record that offsite runs; status may say it does not", "err", err)
		}
	}
	beat()
	bctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(beatEvery)
		defer t.Stop()
		for {
			select {
			case <-bctx.Done():
				return
			case <-t.C:
				beat()
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
		if err := a.Store.Stopped(context.WithoutCancel(ctx), time.Now()); err != nil {
			a.Log.Warn("cannot record that offsite stopped", "err", err)
		}
	}
}

// RunningStatus says whether a daemon (`run`, or an `once` in progress)
// is sending backups now.
type RunningStatus struct {
	Running  bool       `json:"running"`
	LastSeen *time.Time `json:"last_seen,omitempty"` // its last heartbeat; left out if none ever ran
	Stopped  *time.Time `json:"stopped,omitempty"`   // set when it stopped cleanly
	// Unqueued lists files in the watched folders that no daemon has
	// queued yet; only looked for while none runs (a running one has them
	// in hand).
	Unqueued []UnqueuedFile `json:"unqueued"`
}

// UnqueuedFile is a backup in a watched folder that is not in the queue.
type UnqueuedFile struct {
	Watch string `json:"watch"`
	File  string `json:"file"`
}

// running reads the heartbeat and, when nothing runs, which backups in the
// watched folders are not queued: with no daemon, they are on no way.
func (a *App) running(ctx context.Context, now time.Time) (*RunningStatus, error) {
	l, err := a.Store.Liveness(ctx)
	if err != nil {
		return nil, err
	}
	rs := &RunningStatus{Unqueued: []UnqueuedFile{}, LastSeen: utcPtr(l.Beat), Stopped: utcPtr(l.Stopped)}
	rs.Running = l.Stopped.IsZero() && !l.Beat.IsZero() && now.Sub(l.Beat) < staleAfter
	if rs.Running || a.daemon.Load() {
		rs.Running = true
		return rs, nil
	}
	known, err := a.Store.Known(ctx)
	if err != nil {
		return nil, err
	}
	_, cfgs := a.Watches()
	for _, c := range cfgs {
		files, err := watcher.List(c)
		if err != nil {
			continue // the watch's own state says the folder is missing or unreadable
		}
		for _, f := range files {
			if _, ok := known[queue.KnownKey(f.Watch, f.Rel, f.Size, f.ModTime)]; !ok {
				rs.Unqueued = append(rs.Unqueued, UnqueuedFile{Watch: f.Watch, File: f.Rel})
			}
		}
	}
	return rs, nil
}

// notRunning is the concern of backups that wait while no daemon runs to
// send them: queued uploads (waiting or failing) and files not queued.
func (s *Status) notRunning() (Concern, bool) {
	d := s.Daemon
	if d == nil || d.Running {
		return Concern{}, false
	}
	waiting := 0
	for _, ds := range s.Destinations {
		if ds.Paused == nil { // a paused destination has its own concern
			waiting += ds.Waiting + ds.Failing
		}
	}
	if waiting == 0 && len(d.Unqueued) == 0 {
		return Concern{}, false
	}
	var what []string
	if waiting > 0 {
		what = append(what, fmt.Sprintf("%d upload(s) wait", waiting))
	}
	if n := len(d.Unqueued); n > 0 {
		names := make([]string, 0, 3)
		for _, f := range d.Unqueued[:min(n, 3)] {
			names = append(names, termsafe.Quote(f.File)+" in "+f.Watch)
		}
		more := ""
		if n > 3 {
			more = fmt.Sprintf(" and %d more", n-3)
		}
		what = append(what, fmt.Sprintf("%d backup(s) are not queued yet (%s%s)", n, strings.Join(names, ", "), more))
	}
	since := "it has never run here"
	switch {
	case d.Stopped != nil:
		since = "it stopped " + ago(s.Time, *d.Stopped)
	case d.LastSeen != nil:
		since = "it was last seen running " + ago(s.Time, *d.LastSeen) + " and did not stop cleanly"
	}
	return Concern{Subject: "service", Reason: "not_running",
		Message: fmt.Sprintf("offsite is not running (%s), so nothing sends them: %s", since, strings.Join(what, "; ")),
		Fix: "start the service: `offsite service start` (`offsite service status` says whether it runs, the log why it stopped); " +
			"if `offsite once` runs on a schedule instead, they go at its next run, or run it now"}, true
}
