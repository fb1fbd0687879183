package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/daemon"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/watcher"
)

// Notifier builds the notifier over the queue's outbox.
func (a *App) Notifier() (*notify.Notifier, error) {
	var urls []string
	var on [][]notify.Kind
	for _, n := range a.Cfg.Notify {
		urls = append(urls, n.URL)
		var kinds []notify.Kind
		for _, k := range n.On {
			kinds = append(kinds, notify.Kind(k))
		}
		on = append(on, kinds)
	}
	chs, err := notify.ParseChannels(urls, on)
	if err != nil {
		return nil, err
	}
	return notify.New(chs, outbox{a.Store}, a.Log), nil
}

// newHealth queues the health-check pings of upload runs, or nil without
// healthcheck URLs.
func (a *App) newHealth() *notify.PingQueue {
	if len(a.Cfg.Healthcheck) == 0 {
		return nil
	}
	return notify.NewPingQueue(notify.NewPinger(a.Cfg.Healthcheck, nil), a.Log)
}

// runHealthy says whether a finished run deserves a success ping: its
// uploads went through, no destination is paused and every producer is on
// time, so a dead-man's switch also catches a POS that stopped writing.
func (a *App) runHealthy(ctx context.Context, failed bool) bool {
	if failed || !a.monitorFor(nil).Fresh(ctx, time.Now()) {
		return false
	}
	ps, err := a.Store.Pauses(ctx)
	return err == nil && len(ps) == 0
}

// reports passes the daemon's events on, keeping run reports back unless
// the config asks for one after each run (`report: run`, the default);
// `report: daily` sends a digest instead (see dailyDigest).
type reports struct {
	n    *notify.Notifier
	mode string
}

func (r reports) Notify(ctx context.Context, e notify.Event) error {
	if e.Kind == notify.KindReport && r.mode != "" && r.mode != config.ReportRun {
		return nil
	}
	return r.n.Notify(ctx, e)
}

// pipeline is everything `run` and `once` share.
type pipeline struct {
	daemon   *daemon.Daemon
	notifier *notify.Notifier
	watchers []watcher.Config
	health   *notify.PingQueue // nil without healthcheck URLs
	once     bool              // `offsite once`: one run, ended by Once itself
	// settled is signalled when an upload run ends, so schedules look at
	// their runs' copies then rather than at their next tick.
	settled chan struct{}
	// schedulesNow wakes RunSchedules at once ("back up now").
	schedulesNow chan struct{}
	// backupNow is set by Run once the watcher exists: rescan every watch
	// and run the schedules that are due. Nil in `once`.
	backupNow func() error
}

func (p *pipeline) runEnded() {
	select {
	case p.settled <- struct{}{}:
	default:
	}
}

func (a *App) pipeline(ctx context.Context) (*pipeline, error) {
	n, err := a.Notifier()
	if err != nil {
		return nil, err
	}
	_, wcfgs := a.Watches()
	o, err := a.daemonOptions(ctx)
	if err != nil {
		return nil, err
	}
	o.Notifier = reports{n: n, mode: a.Cfg.Report}
	p := &pipeline{notifier: n, watchers: wcfgs, settled: make(chan struct{}, 1), schedulesNow: make(chan struct{}, 1)}
	o.AfterRun = func(notify.RunReport) { p.runEnded() }
	if h := a.newHealth(); h != nil {
		p.health = h
		o.OnRunStart = func() { h.Send(nil) }
		o.AfterRun = func(r notify.RunReport) {
			p.runEnded()
			if p.once {
				return // Once sends the end ping with the whole outcome
			}
			failed := len(r.Failures) > 0 || len(r.Removed) > 0
			h.Send(func(ctx context.Context) bool { return a.runHealthy(ctx, failed) })
		}
	}
	p.daemon = daemon.New(o)
	return p, nil
}

// daemonOptions wires the daemon to the queue, the watches and every
// destination's one provider stack; the caller adds where events go.
func (a *App) daemonOptions(ctx context.Context) (daemon.Options, error) {
	routes, _ := a.Watches()
	dests := a.Destinations(ctx)
	if err := a.reserveNames(ctx, dests); err != nil {
		return daemon.Options{}, err
	}
	return daemon.Options{
		Store:        a.Store,
		Watches:      routes,
		Destinations: dests,
		Workers:      a.Cfg.Workers,
		Retry:        retry.Policy{Initial: time.Duration(a.Cfg.Retry.Initial), Max: time.Duration(a.Cfg.Retry.Max)},
		AlertAfter:   a.Cfg.Retry.AlertAfter,
		Log:          a.Log,
		Held:         a.held,
		Spool:        a.spool(),
	}, nil
}

// Run is the daemon: watch, queue, upload and notify until ctx ends.
func (a *App) Run(ctx context.Context) error {
	a.daemon.Store(true)
	p, err := a.pipeline(ctx)
	if err != nil {
		return err
	}
	w, err := watcher.New(p.watchers, p.daemon, a.Log)
	if err != nil {
		return err
	}
	p.daemon.SetGate(w)
	p.backupNow = func() error {
		w.Rescan("")
		select {
		case p.schedulesNow <- struct{}{}:
		default: // a wake-up is already pending
		}
		return nil
	}
	a.intake = p.daemon.IntakeFailing
	defer a.heartbeat(ctx)()
	a.Log.Info("offsite running", "watches", len(a.Cfg.Watches), "destinations", len(a.Cfg.Destinations), "state", a.Cfg.StateDir)

	var wg sync.WaitGroup
	errc := make(chan error, 4)
	wg.Go(func() {
		if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("watcher: %w", err)
		}
	})
	wg.Go(func() {
		if err := p.daemon.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("uploads: %w", err)
		}
	})
	// Notifications keep a moment after shutdown to deliver what is due.
	nctx, ncancel := context.WithCancel(context.WithoutCancel(ctx))
	var nwg sync.WaitGroup
	nwg.Go(func() {
		if err := p.notifier.Run(nctx); err != nil && !errors.Is(err, context.Canceled) {
			a.Log.Error("notifications stopped", "err", err)
		}
	})
	wg.Go(func() { a.monitorFor(p).Run(ctx) })
	wg.Go(func() { a.drillRunner(p).Loop(ctx) })
	wg.Go(func() { a.presence(p).Loop(ctx) })
	wg.Go(func() { a.RunSchedules(ctx, p, time.Now) })
	if a.Cfg.HTTP != "" {
		srv := &http.Server{Addr: a.Cfg.HTTP, Handler: a.httpHandler(p), ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.Log.Error("status listener stopped", "addr", a.Cfg.HTTP, "err", err)
			}
		})
		wg.Go(func() {
			<-ctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
			defer c()
			_ = srv.Shutdown(sctx) // at worst a status request is cut short
		})
	}
	wg.Wait()
	if e, ok := p.daemon.FinishRun(); ok {
		if err := (reports{p.notifier, a.Cfg.Report}).Notify(context.Background(), e); err != nil {
			a.Log.Error("could not store the run report", "err", err)
		}
	}
	time.AfterFunc(3*time.Second, ncancel)
	p.health.Wait(5 * time.Second)
	nwg.Wait()
	ncancel()
	a.Log.Info("offsite stopped")
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// Once scans every watch, uploads everything due, sends what notifications
// are due, and returns an error naming every upload not done.
func (a *App) Once(ctx context.Context) error {
	p, err := a.pipeline(ctx)
	if err != nil {
		return err
	}
	p.once = true
	defer a.heartbeat(ctx)()
	// The whole of `once` is one run: a scheduled task that finds nothing
	// new still tells the dead-man's switch it ran.
	p.daemon.BeginRun()
	files, missing := a.scanOnce(ctx, p.watchers)
	for _, m := range missing {
		p.daemon.Missing(m, nil)
	}
	if err := p.daemon.Ingest(ctx, files); err != nil {
		// The start ping went out: end it, so the monitor need not wait.
		p.health.Send(func(context.Context) bool { return false })
		p.health.Wait(35 * time.Second)
		return err
	}
	// Due schedules queue their copies first, so this run uploads them too.
	if a.schedules().StartDue(ctx, time.Now(), p.daemon.AddNote) {
		p.daemon.Wake()
	}
	drainErr := p.daemon.Drain(ctx)
	a.schedules().Finish(ctx, time.Now(), p.daemon.AddNote)
	// A shop that runs `once` from a task scheduler gets the missed-backup,
	// small-backup and weekly checks too; their state is in the database.
	a.monitorFor(p).Check(ctx, time.Now())
	if len(missing) > 0 {
		drainErr = errors.Join(drainErr, fmt.Errorf("watched folder(s) missing: %v", missing))
	}
	if e, ok := p.daemon.FinishRun(); ok {
		if err := (reports{p.notifier, a.Cfg.Report}).Notify(context.WithoutCancel(ctx), e); err != nil {
			a.Log.Error("could not store the run report", "err", err)
		}
	}
	p.health.Send(func(ctx context.Context) bool { return a.runHealthy(ctx, drainErr != nil) })
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := p.notifier.Flush(fctx); err != nil {
		a.Log.Warn("some notifications could not be sent yet; they are kept and retried", "err", err)
	}
	// The process exits next: a ping still in flight would be lost.
	p.health.Wait(35 * time.Second)
	return drainErr
}

// scanOnce runs the watchers just long enough for every file already
// complete to pass the gate, and collects them.
func (a *App) scanOnce(ctx context.Context, cfgs []watcher.Config) ([]watcher.File, []string) {
	c := &collector{}
	w, err := watcher.New(cfgs, c, a.Log)
	if err != nil {
		return nil, nil
	}
	wait := time.Second
	for _, cfg := range cfgs {
		wait = max(wait, cfg.Settle*3/2+500*time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := w.Run(sctx); err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		a.Log.Warn("scan did not finish", "err", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.files, c.missing
}

type collector struct {
	mu      sync.Mutex
	files   []watcher.File
	missing []string
}

func (c *collector) Ready(f watcher.File) {
	c.mu.Lock()
	c.files = append(c.files, f)
	c.mu.Unlock()
}

func (c *collector) Missing(watch string, err error) {
	c.mu.Lock()
	c.missing = append(c.missing, watch)
	c.mu.Unlock()
}

func (c *collector) Back(string)                           {}
func (c *collector) Stuck(watcher.File, time.Time, string) {}
func (c *collector) Unstuck(string, string)                {}
