package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"golang.org/x/time/rate"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/throttle"
)

// Uploads at least this large first compare their size with the free space,
// so a full account is reported before hours of upload rather than after.
const quotaCheckMin = 8 << 20

// quotaWarnAt is the share of the account in use that earns a warning.
const quotaWarnAt = 0.9

// windowPoll is how often a paused upload looks whether its window opened.
const windowPoll = 30 * time.Second

// bandwidth holds the upload token buckets of one App: the global one and
// one per destination, each shared by every upload it caps, so two workers
// sending to one destination together stay under its rate. Build it once
// (newBandwidth) and keep it for the App's life.
type bandwidth struct {
	global *rate.Limiter
	per    map[string]*rate.Limiter
}

func newBandwidth(c *config.Config) *bandwidth {
	b := &bandwidth{global: throttle.NewLimiter(int64(c.Bandwidth)), per: map[string]*rate.Limiter{}}
	for _, d := range c.Destinations {
		if l := throttle.NewLimiter(int64(d.Bandwidth)); l != nil {
			b.per[d.Name] = l
		}
	}
	return b
}

// limiters returns the buckets an upload to d waits on; nil b means none.
func (b *bandwidth) limiters(d *config.Destination) []*rate.Limiter {
	if b == nil {
		return nil
	}
	var out []*rate.Limiter
	if l := b.per[d.Name]; l != nil {
		out = append(out, l)
	}
	if b.global != nil {
		out = append(out, b.global)
	}
	return out
}

// limiters is the per-destination and global buckets for d from b, the
// App's one bandwidth (see newBandwidth).
func (a *App) limiters(d *config.Destination, b *bandwidth) []*rate.Limiter {
	return b.limiters(d)
}

// checkQuota fails with a Fatal quota error when size does not fit in the
// free space p reports, so the destination is paused and the shop told
// before an upload fails half-way, and warns once the account is 90% used
// counting this file. A destination that cannot tell its space passes.
func (a *App) checkQuota(ctx context.Context, p providers.Provider, size int64) error {
	q, ok := p.(providers.Quotaer)
	if !ok {
		return nil
	}
	used, total, err := q.Quota(ctx)
	if err != nil {
		if providers.KindOf(err) == providers.Fatal || providers.KindOf(err) == providers.Canceled {
			return err
		}
		a.Log.Debug("free space unknown; uploading anyway", "err", err)
		return nil
	}
	if total <= 0 {
		return nil
	}
	free := total - used
	if size > free {
		return providers.Errorf(providers.Fatal, providers.ReasonQuota,
			"free space at the destination or enlarge its storage; held uploads resume by themselves",
			"the destination is full: the upload needs %s but only %s of %s is free", notify.HumanBytes(size), notify.HumanBytes(max(free, 0)), notify.HumanBytes(total))
	}
	if float64(used+size) >= quotaWarnAt*float64(total) {
		a.Log.Warn("destination almost full", "used", notify.HumanBytes(used), "total", notify.HumanBytes(total),
			"after_upload_percent", fmt.Sprintf("%.0f", 100*float64(used+size)/float64(total)))
	}
	return nil
}

// guarded applies a destination's limits to every upload: the quota check
// before a large one, its upload window (an upload pauses at the next read
// while it is closed) and the bandwidth buckets.
type guarded struct {
	// The adapter; what the guard does not limit passes straight to it.
	providers.Provider
	limiters []*rate.Limiter
	// open returns the window check of an upload starting now, or nil.
	open  func() func(time.Time) bool
	quota func(context.Context, providers.Provider, int64) error
}

var _ providers.Provider = (*guarded)(nil)

// guard wraps p with d's limits; wrap it inside retry.New so every
// attempt is limited alike. b is the App's one bandwidth.
func (a *App) guard(p providers.Provider, d *config.Destination, b *bandwidth) providers.Provider {
	window := windowFunc(d)
	open := func() func(time.Time) bool {
		// Only the daemon keeps to upload windows: `check`, `push` and
		// `restore` are a person acting now. Asked per upload, because
		// the stack is built when the App opens, before Run says so.
		if a.daemon.Load() {
			return window
		}
		return nil
	}
	return &guarded{Provider: p, limiters: a.limiters(d, b), open: open, quota: a.checkQuota}
}

func (g *guarded) Unwrap() providers.Provider { return g.Provider }

func (g *guarded) Put(ctx context.Context, path string, r io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	if size >= quotaCheckMin && g.quota != nil {
		if err := g.quota(ctx, g.Provider, size); err != nil {
			return providers.RemoteFile{}, fmt.Errorf("upload %s: %w", path, err)
		}
	}
	body := throttle.GateReader(ctx, throttle.NewReader(ctx, r, g.limiters...), g.open(), windowPoll)
	return g.Provider.Put(ctx, path, body, size, o)
}

var _ providers.Streamer = (*guarded)(nil)

// PutStream applies the window and the bandwidth limits to a stream. Its
// size is known only at its end, so there is no quota check before it: a
// destination that fills up fails the write (Fatal, quota) instead.
func (g *guarded) PutStream(ctx context.Context, path string, r io.Reader, o providers.PutOptions) (providers.RemoteFile, error) {
	s, ok := providers.StreamerOf(g.Provider)
	if !ok {
		return providers.RemoteFile{}, providers.ErrNoStream
	}
	body := throttle.GateReader(ctx, throttle.NewReader(ctx, providers.Unseekable(r), g.limiters...), g.open(), windowPoll)
	return s.PutStream(ctx, path, body, o)
}

// Quota and Close pass through: embedding does not promote the optional
// interfaces, and the retry decorator above looks for them.
func (g *guarded) Quota(ctx context.Context) (used, total int64, err error) {
	return providers.QuotaOf(ctx, g.Provider)
}

func (g *guarded) Close() error { return providers.CloseOf(g.Provider) }
