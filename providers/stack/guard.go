package stack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"golang.org/x/time/rate"

	"github.com/offsite-backup/offsite/internal/units"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/throttle"
)

// QuotaCheckMin: uploads at least this large first compare their size with
// the free space, so a full account is reported before hours of upload
// rather than after.
const QuotaCheckMin = 8 << 20

// quotaWarnAt is the share of the account in use that earns a warning.
const quotaWarnAt = 0.9

// windowPoll is how often a paused upload looks whether its window opened.
const windowPoll = 30 * time.Second

// Limits are what Guard applies to a destination's uploads.
type Limits struct {
	// Limiters are the bandwidth buckets an upload waits on, each shared
	// by every upload it caps.
	Limiters []*rate.Limiter
	// Window returns the window check of an upload starting now, or nil
	// when the upload may run at any time. Asked per upload.
	Window func() func(time.Time) bool
	Log    *slog.Logger
}

// CheckQuota fails with a Fatal quota error when size does not fit in the
// free space p reports, so the destination is paused and the shop told
// before an upload fails half-way, and warns on log once the account is
// 90% used counting this file. A destination that cannot tell its space
// passes.
func CheckQuota(ctx context.Context, log *slog.Logger, p providers.Provider, size int64) error {
	q, ok := p.(providers.Quotaer)
	if !ok {
		return nil
	}
	used, total, err := q.Quota(ctx)
	if err != nil {
		if providers.KindOf(err) == providers.Fatal || providers.KindOf(err) == providers.Canceled {
			return err
		}
		log.Debug("free space unknown; uploading anyway", "err", err)
		return nil
	}
	if total <= 0 {
		return nil
	}
	free := total - used
	if size > free {
		return providers.Errorf(providers.Fatal, providers.ReasonQuota,
			"free space at the destination or enlarge its storage; held uploads resume by themselves",
			"the destination is full: the upload needs %s but only %s of %s is free", units.Bytes(size), units.Bytes(max(free, 0)), units.Bytes(total))
	}
	if float64(used+size) >= quotaWarnAt*float64(total) {
		log.Warn("destination almost full", "used", units.Bytes(used), "total", units.Bytes(total),
			"after_upload_percent", fmt.Sprintf("%.0f", 100*float64(used+size)/float64(total)))
	}
	return nil
}

// Guarded applies a destination's limits to every upload: the quota check
// before a large one, its upload window (an upload pauses at the next read
// while it is closed) and the bandwidth buckets.
type Guarded struct {
	// The adapter; what the guard does not limit passes straight to it.
	providers.Provider
	l Limits
}

var _ providers.Provider = (*Guarded)(nil)

// Guard wraps p with l; wrap it inside retry.New so every attempt is
// limited alike.
func Guard(p providers.Provider, l Limits) *Guarded {
	if l.Log == nil {
		l.Log = slog.New(slog.DiscardHandler)
	}
	return &Guarded{Provider: p, l: l}
}

// open is the window check of an upload starting now, or nil.
func (g *Guarded) open() func(time.Time) bool {
	if g.l.Window == nil {
		return nil
	}
	return g.l.Window()
}

func (g *Guarded) Unwrap() providers.Provider { return g.Provider }

func (g *Guarded) Put(ctx context.Context, path string, r io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	if size >= QuotaCheckMin {
		if err := CheckQuota(ctx, g.l.Log, g.Provider, size); err != nil {
			return providers.RemoteFile{}, fmt.Errorf("upload %s: %w", path, err)
		}
	}
	body := throttle.GateReader(ctx, throttle.NewReader(ctx, r, g.l.Limiters...), g.open(), windowPoll)
	return g.Provider.Put(ctx, path, body, size, o)
}

var _ providers.Streamer = (*Guarded)(nil)

// PutStream applies the window and the bandwidth limits to a stream. Its
// size is known only at its end, so there is no quota check before it: a
// destination that fills up fails the write (Fatal, quota) instead.
func (g *Guarded) PutStream(ctx context.Context, path string, r io.Reader, o providers.PutOptions) (providers.RemoteFile, error) {
	s, ok := providers.StreamerOf(g.Provider)
	if !ok {
		return providers.RemoteFile{}, providers.ErrNoStream
	}
	body := throttle.GateReader(ctx, throttle.NewReader(ctx, providers.Unseekable(r), g.l.Limiters...), g.open(), windowPoll)
	return s.PutStream(ctx, path, body, o)
}

// Quota and Close pass through: embedding does not promote the optional
// interfaces, and the retry decorator above looks for them.
func (g *Guarded) Quota(ctx context.Context) (used, total int64, err error) {
	return providers.QuotaOf(ctx, g.Provider)
}

func (g *Guarded) Close() error { return providers.CloseOf(g.Provider) }
