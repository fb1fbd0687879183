package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/daemon"
	"github.com/offsite-backup/offsite/expect"
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

// health sends the health-check pings of upload runs: URL/start when a
// run begins, URL or URL/fail when it ends. Pings go out in order on their
// own goroutine so the uploads never wait for a monitor; Wait lets `once`
// finish them before the process exits.
type health struct {
	pinger *notify.Pinger
	log    *slog.Logger
	mu     sync.Mutex
	last   chan struct{} // closed when the previous ping is done
	wg     sync.WaitGroup
}

func (a *App) newHealth() *health {
	if len(a.Cfg.Healthcheck) == 0 {
		return nil
	}
	return &health{pinger: notify.NewPinger(a.Cfg.Healthcheck, nil), log: a.Log}
}

// send queues one ping; ok (called on the ping's goroutine) decides
// success or failure for an end ping, nil means the start ping.
func (h *health) send(ok func(context.Context) bool) {
	if h == nil {
		return
	}
	h.mu.Lock()
	prev, done := h.last, make(chan struct{})
	h.last = done
	h.mu.Unlock()
	h.wg.Go(func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var err error
		switch {
		case ok == nil:
			err = h.pinger.Start(ctx)
		case ok(ctx):
			err = h.pinger.Success(ctx)
		default:
			err = h.pinger.Fail(ctx)
		}
		if err != nil {
			h.log.Warn("health-check ping failed", "err", err)
		}
	})
}

// Wait waits up to d for the pings sent so far.
func (h *health) Wait(d time.Duration) {
	if h == nil {
		return
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		h.log.Warn("health-check ping still unanswered; not waiting for it any longer", "waited", d)
	}
}

// runHealthy says whether a finished run deserves a success ping: its
// uploads went through, no destination is paused and every producer is on
// time, so a dead-man's switch also catches a POS that stopped writing.
func (a *App) runHealthy(ctx context.Context, failed bool) bool {
	if failed || !a.producersFresh(ctx, time.Now()) {
		return false
	}
	ps, err := a.Store.Pauses(ctx)
	return err == nil && len(ps) == 0
}

// producersFresh is false when any watch is missing its backup.
func (a *App) producersFresh(ctx context.Context, now time.Time) bool {
	for _, w := range a.Cfg.Watches {
		c, err := expect.New(expect.Rule{Every: time.Duration(w.ExpectEvery), Cron: w.ExpectCron, Location: w.Location()})
		if err != nil {
			continue
		}
		last, _ := a.Store.LastArrival(ctx, w.Name)
		if last.IsZero() {
			last = a.watchingSince(ctx, w.Name, now)
		}
		if missed, _ := c.Missed(now, last, a.silence(ctx, w.Name)); missed {
			return false
		}
	}
	return true
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
	health   *health // nil without healthcheck URLs
	once     bool    // `offsite once`: one run, ended by Once itself
}

func (a *App) pipeline(ctx context.Context) (*pipeline, error) {
	n, err := a.Notifier()
	if err != nil {
		return nil, err
	}
	routes, wcfgs := a.Watches()
	dests := a.Destinations(ctx)
	if err := a.reserveNames(ctx, dests); err != nil {
		return nil, err
	}
	p := &pipeline{notifier: n, watchers: wcfgs}
	o := daemon.Options{
		Store:        a.Store,
		Watches:      routes,
		Destinations: dests,
		Workers:      a.Cfg.Workers,
		Retry:        retry.Policy{Initial: time.Duration(a.Cfg.Retry.Initial), Max: time.Duration(a.Cfg.Retry.Max)},
		AlertAfter:   a.Cfg.Retry.AlertAfter,
		Notifier:     reports{n: n, mode: a.Cfg.Report},
		Log:          a.Log,
		Held:         a.held,
		Spool:        a.spool(),
	}
	if h := a.newHealth(); h != nil {
		p.health = h
		o.OnRunStart = func() { h.send(nil) }
		o.AfterRun = func(r notify.RunReport) {
			if p.once {
				return // Once sends the end ping with the whole outcome
			}
			failed := len(r.Failures) > 0 || len(r.Removed) > 0
			h.send(func(ctx context.Context) bool { return a.runHealthy(ctx, failed) })
		}
	}
	p.daemon = daemon.New(o)
	return p, nil
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
	a.intake = p.daemon.IntakeFailing
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
	wg.Go(func() { a.monitor(ctx, p) })
	wg.Go(func() { a.drillLoop(ctx, p) })
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
	// The whole of `once` is one run: a scheduled task that finds nothing
	// new still tells the dead-man's switch it ran.
	p.daemon.BeginRun()
	files, missing := a.scanOnce(ctx, p.watchers)
	for _, m := range missing {
		p.daemon.Missing(m, nil)
	}
	if err := p.daemon.Ingest(ctx, files); err != nil {
		// The start ping went out: end it, so the monitor need not wait.
		p.health.send(func(context.Context) bool { return false })
		p.health.Wait(35 * time.Second)
		return err
	}
	drainErr := p.daemon.Drain(ctx)
	// A shop that runs `once` from a task scheduler gets the missed-backup,
	// small-backup and weekly checks too; their state is in the database.
	a.producerChecks(ctx, p, a.checkers(), time.Now())
	if len(missing) > 0 {
		drainErr = errors.Join(drainErr, fmt.Errorf("watched folder(s) missing: %v", missing))
	}
	if e, ok := p.daemon.FinishRun(); ok {
		if err := (reports{p.notifier, a.Cfg.Report}).Notify(context.WithoutCancel(ctx), e); err != nil {
			a.Log.Error("could not store the run report", "err", err)
		}
	}
	p.health.send(func(ctx context.Context) bool { return a.runHealthy(ctx, drainErr != nil) })
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

func (c *collector) Back(string) {}
