package app

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/status"
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

// running reads the heartbeat and, when nothing runs, which backups in the
// watched folders are not queued: with no daemon, they are on no way.
func (a *App) running(ctx context.Context, now time.Time) (*status.Running, error) {
	l, err := a.Store.Liveness(ctx)
	if err != nil {
		return nil, err
	}
	rs := &status.Running{Unqueued: []status.Unqueued{}, LastSeen: utcPtr(l.Beat), Stopped: utcPtr(l.Stopped)}
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
				rs.Unqueued = append(rs.Unqueued, status.Unqueued{Watch: f.Watch, File: f.Rel})
			}
		}
	}
	return rs, nil
}
