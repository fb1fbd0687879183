package app

import (
	"context"
	"io"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/schedule"
)

// RunSchedules runs due schedules until ctx ends, looking every 30 s, and
// once a day applies the destinations' keep rules. A run queues its copies
// as jobs, which the daemon's lanes upload like any other; it ends when
// they are done. Runs, late runs, failures and deletions go into the run
// report through the daemon.
func (a *App) RunSchedules(ctx context.Context, p *pipeline, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	note, wake := func(string) {}, func() {}
	var settled chan struct{}
	if p != nil && p.daemon != nil {
		note, wake, settled = p.daemon.AddNote, p.daemon.Wake, p.settled
	}
	var asked chan struct{} // "back up now" from the status page
	if p != nil {
		asked = p.schedulesNow
	}
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		if a.schedules().StartDue(ctx, now(), note) {
			wake()
		}
		a.schedules().Finish(ctx, now(), note)
		a.pruner().MaybePrune(ctx, now(), note)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-settled:
		case <-asked:
			// A person asked: a schedule that failed may try again now.
			if err := a.Store.ClearScheduleRetries(ctx); err != nil {
				a.Log.Warn("cannot let failed schedules try again at once; they wait for their retry time", "err", err)
			}
		}
	}
}

// schedules runs the schedules through the queue and each destination's
// one stack.
func (a *App) schedules() *schedule.Runner {
	return &schedule.Runner{Cfg: a.Cfg, Store: a.Store, Log: a.Log, Provider: a.providerByName,
		Keep: func(ctx context.Context, s *config.Schedule, dest string, note func(string)) ([]string, error) {
			return a.pruner().Schedule(ctx, s, dest, false, io.Discard, note)
		},
		WriteOnly: func(dest string) bool { return a.cannot(dest, "read") != nil }}
}
