// Package daemon is the pipeline: ready files from the watcher are hashed
// and queued, workers upload due jobs through the providers, and outcomes
// become queue transitions and notifications. It owns the policy (slow
// retries, pauses, alerts); the queue owns the state.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/spool"
	"github.com/offsite-backup/offsite/watcher"
)

// Destination is one configured remote, ready to use.
type Destination struct {
	Name string
	Type string
	// Service is what alerts call its type; a zero Service names Type.
	Service  notify.Service
	Provider providers.Provider // wrapped once with retry.New
	// Open reports whether uploads may start now (the upload window); nil = always.
	Open func(now time.Time) bool
	// Body, when set, wraps the source on its way to the provider: bandwidth
	// limits, and holding a running upload at its next read while the
	// window is closed.
	Body func(ctx context.Context, r io.ReadSeeker) io.ReadSeeker
	// Codec is how files are stored there (compressed, encrypted); the
	// zero Spec sends them as they are. A queued job keeps the form it was
	// created with (queue.Job.Form); Codec supplies today's keys.
	Codec codec.Spec
}

// service is what alerts say about d's type.
func (d *Destination) service() notify.Service {
	s := d.Service
	if s.Type == "" {
		s.Type = d.Type
	}
	return s
}

// Watch routes one watched folder's files to destinations.
type Watch struct {
	Name         string
	Path         string
	Destinations []string
}

// Notifier is where events go; *notify.Notifier implements it.
type Notifier interface {
	Notify(ctx context.Context, e notify.Event) error
}

// Rechecker sends a file back through the completeness gate; *watcher.Watcher implements it.
type Rechecker interface {
	Recheck(watch, rel string)
}

// Options wire a Daemon.
type Options struct {
	Store        *queue.Store
	Watches      []Watch
	Destinations []*Destination
	Workers      int          // concurrent uploads (default 2)
	Retry        retry.Policy // slow, queue-held retries: Initial (2s) and Max (1h)
	AlertAfter   int          // failed attempts before a failure alert (default 5)
	Notifier     Notifier     // nil: events are only logged
	Gate         Rechecker    // nil: changed files wait for the watcher's next look
	Log          *slog.Logger
	Now          func() time.Time
	// OnRunStart, when set, is called when an upload run begins (the start
	// health ping); AfterRun with each run that began, when it ends. Both
	// are called with the daemon's lock held or on a worker: they must not block.
	OnRunStart func()
	AfterRun   func(r notify.RunReport)
	// Held, when set, names the watches whose uploads wait for now
	// (`offsite pause --hold`).
	Held func(now time.Time) []string
	// Spool keeps the stored form of uploads to destinations that
	// compress or encrypt; required when any does.
	Spool *spool.Dir
}

// Daemon runs the pipeline. Create it with New.
type Daemon struct {
	o       Options
	store   *queue.Store
	log     *slog.Logger
	now     func() time.Time
	watches map[string]Watch
	dests   map[string]*Destination

	intake chan watcher.File
	lanes  []*lane
	others map[string][]string // destination → every other destination, for per-destination claims

	mu       sync.Mutex
	run      *runStats // the current upload run, for the report
	missing  map[string]bool
	progress map[int64]int64     // job → bytes acknowledged, for status
	known    map[string][]string // queue.KnownKey → destinations with a job; nil until loaded
	done     chan finished       // uploads waiting for their synced Done; set while workers run
	wake     chan struct{}       // closed (and replaced) to wake every idle lane
	stranded map[int64]time.Time // jobs whose state change could not be written → when to hand them back
	in       intakeTrouble       // files the queue could not take yet

	inflight atomic.Int64 // uploads running or waiting for their Done, for the run report
}

// New builds a Daemon.
func New(o Options) *Daemon {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Retry.Initial <= 0 {
		o.Retry.Initial = 2 * time.Second
	}
	if o.Retry.Max <= 0 {
		o.Retry.Max = time.Hour
	}
	if o.AlertAfter <= 0 {
		o.AlertAfter = 5
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &Daemon{
		o:        o,
		store:    o.Store,
		log:      o.Log,
		now:      o.Now,
		watches:  map[string]Watch{},
		dests:    map[string]*Destination{},
		intake:   make(chan watcher.File, 4096),
		wake:     make(chan struct{}),
		missing:  map[string]bool{},
		progress: map[int64]int64{},
		stranded: map[int64]time.Time{},
		others:   map[string][]string{},
	}
	for _, w := range o.Watches {
		d.watches[w.Name] = w
	}
	for _, dst := range o.Destinations {
		d.dests[dst.Name] = dst
		d.lanes = append(d.lanes, &lane{name: dst.Name, dst: dst})
	}
	for _, a := range o.Destinations {
		for _, b := range o.Destinations {
			if a.Name != b.Name {
				d.others[a.Name] = append(d.others[a.Name], b.Name)
			}
		}
	}
	return d
}

// SetGate connects the watcher once both exist.
func (d *Daemon) SetGate(g Rechecker) { d.o.Gate = g }

// Ready is the watcher's report of a complete file. It never blocks for
// long: hashing and queueing happen in the intake loop.
func (d *Daemon) Ready(f watcher.File) {
	d.intake <- f
}

// Missing is the watcher's report that a watched folder vanished.
func (d *Daemon) Missing(watch string, err error) {
	d.mu.Lock()
	already := d.missing[watch]
	d.missing[watch] = true
	d.mu.Unlock()
	if already {
		return
	}
	path := d.watches[watch].Path
	d.log.Warn("watched folder is missing", "watch", watch, "path", path, "err", err)
	d.notify(notify.FolderMissing(watch, path))
}

// Back is the watcher's report that a missing folder returned.
func (d *Daemon) Back(watch string) {
	d.mu.Lock()
	was := d.missing[watch]
	delete(d.missing, watch)
	d.mu.Unlock()
	if !was {
		return
	}
	path := d.watches[watch].Path
	d.log.Info("watched folder is back", "watch", watch, "path", path)
	d.notify(notify.FolderBack(watch, path))
}

// Stuck is the watcher's report of a file that has not become complete
// for a long time: it is not on its way offsite, so status turns red and
// people hear of it, until it settles (and is queued) or is deleted.
func (d *Daemon) Stuck(f watcher.File, since time.Time, why string) {
	ctx := context.Background()
	r := queue.Refusal{Watch: f.Watch, Rel: f.Rel, Reason: "unsettled", Message: why, Since: since}
	if err := d.store.Refuse(ctx, r); err != nil {
		d.log.Error("cannot record a backup that never became complete; only its alert tells of it", "watch", f.Watch, "file", f.Rel, "err", err)
	}
	d.notify(neverSettles(f, since, why))
}

// Unstuck is the watcher's report that a stuck file is gone.
func (d *Daemon) Unstuck(watch, rel string) {
	if err := d.store.Unrefuse(context.Background(), watch, rel, "unsettled"); err != nil {
		d.log.Error("cannot forget a stuck backup that was deleted", "watch", watch, "file", rel, "err", err)
	}
}

func (d *Daemon) notify(e notify.Event) {
	if e.Time.IsZero() {
		e.Time = d.now()
	}
	if d.o.Notifier == nil {
		return
	}
	// Notify only stores the event; delivery happens elsewhere. Use a
	// fresh context so an event raised during shutdown is still kept.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.o.Notifier.Notify(ctx, e); err != nil {
		d.log.Error("could not store notification", "kind", e.Kind, "err", err)
	}
}

// kick wakes every idle lane: new jobs may be for any destination.
func (d *Daemon) kick() {
	d.mu.Lock()
	close(d.wake)
	d.wake = make(chan struct{})
	d.mu.Unlock()
}

// Wake tells idle lanes that jobs were queued outside intake (a
// schedule's copies).
func (d *Daemon) Wake() { d.kick() }

func (d *Daemon) wakeCh() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.wake
}

// Run recovers interrupted jobs, then runs intake and workers until ctx
// ends. On return no job is left claimed.
func (d *Daemon) Run(ctx context.Context) error {
	if n, err := d.store.Recover(ctx); err != nil {
		return err
	} else if n > 0 {
		d.log.Info("resuming uploads interrupted by a stop or crash", "jobs", n)
	}
	var wg sync.WaitGroup
	wg.Go(func() { d.intakeLoop(ctx) })
	d.workers(ctx, false)
	wg.Wait()
	return nil
}

// workers runs each destination's lane of uploads and the committer that
// records their successes, and returns when all of them have stopped.
// Every lane has Workers slots; the first always runs, the others share a
// budget of Workers, so a stalled destination holds at most its own slots.
func (d *Daemon) workers(ctx context.Context, drain bool) {
	d.sweepSpool(ctx)
	done := make(chan finished, 256)
	d.mu.Lock()
	d.done = done
	d.mu.Unlock()
	committed := make(chan struct{})
	go func() { d.committer(done); close(committed) }()
	budget := make(chan struct{}, d.o.Workers)
	var wg sync.WaitGroup
	for _, l := range d.lanes {
		for i := range d.o.Workers {
			wg.Go(func() { d.laneLoop(ctx, l, i == 0, budget, drain) })
		}
	}
	wg.Wait()
	close(done)
	<-committed
}

// Drain uploads every due job and returns when none is left due, for
// `offsite once`. It reports an error when any job failed or is held back.
func (d *Daemon) Drain(ctx context.Context) error {
	if _, err := d.store.Recover(ctx); err != nil {
		return err
	}
	d.workers(ctx, true)
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.outstanding(ctx)
}

// outstanding describes jobs that are not done, if any.
func (d *Daemon) outstanding(ctx context.Context) error {
	jobs, err := d.store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Pending, queue.Failed, queue.Dead, queue.Uploading}, Limit: 1000})
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range d.removedInRun() {
		errs = append(errs, fmt.Errorf("%s → %s: removed from the folder before it was sent", r.Watch+"/"+r.File, r.Dest))
	}
	for _, j := range jobs {
		msg := j.LastError
		if msg == "" {
			msg = "not uploaded yet"
		}
		errs = append(errs, fmt.Errorf("%s → %s: %s", filepath.ToSlash(j.Version.Watch+"/"+j.Version.Rel), j.Destination, msg))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%d upload(s) not done:\n%w", len(errs), errors.Join(errs...))
}

// notifyStored is notify for an alert that must not be lost: it reports
// whether the event was stored, so the caller can try again later.
func (d *Daemon) notifyStored(e notify.Event) bool {
	if e.Time.IsZero() {
		e.Time = d.now()
	}
	if d.o.Notifier == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.o.Notifier.Notify(ctx, e); err != nil {
		d.log.Error("could not store notification; trying again later", "kind", e.Kind, "err", err)
		return false
	}
	return true
}
