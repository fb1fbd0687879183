// Package retry is offsite's one retry implementation: exponential backoff
// with full jitter, the server's Retry-After overriding it, and a pacer per
// destination so that one rate-limit answer slows every worker using that
// account. Adapters call Do for chunk retries inside resumable sessions; New
// wraps a whole Provider once, at start-up.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

// Policy bounds the retries of one call. The queue owns slow retries (minutes
// to an hour, persisted); a Policy covers the seconds-scale ones in between.
type Policy struct {
	Initial  time.Duration // cap of the first wait
	Max      time.Duration // cap of any computed wait
	Attempts int           // tries in all, the first included
	// MaxRetryAfter is the longest Retry-After waited for inside a call
	// (default 1h; offsite sets it to the config's retry.max). A longer
	// one is returned at once, so no call stalls for what the service
	// asks (a year, in the wild): the caller pauses the destination.
	MaxRetryAfter time.Duration
	// Report, when set, is told of every retry before its wait.
	Report func(attempt int, err error, wait time.Duration)
}

// DefaultPolicy suits one HTTP call or one chunk.
var DefaultPolicy = Policy{Initial: 500 * time.Millisecond, Max: 30 * time.Second, Attempts: 5, MaxRetryAfter: time.Hour}

func (p Policy) withDefaults() Policy {
	if p.Initial <= 0 {
		p.Initial = DefaultPolicy.Initial
	}
	if p.Max < p.Initial {
		p.Max = max(DefaultPolicy.Max, p.Initial)
	}
	if p.Attempts <= 0 {
		p.Attempts = DefaultPolicy.Attempts
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultPolicy.MaxRetryAfter
	}
	return p
}

// Backoff is the wait before retry number attempt (1 for the first retry):
// full jitter over [0, min(Max, Initial·2^(attempt-1))], never below
// Initial/4 so a burst of failures cannot turn into a busy loop. u is a
// uniform random number in [0,1).
func Backoff(p Policy, attempt int, u float64) time.Duration {
	p = p.withDefaults()
	ceil := p.Initial
	for i := 1; i < attempt && ceil < p.Max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, p.Max)
	return max(time.Duration(u*float64(ceil)), p.Initial/4)
}

// Pacer holds back every call to one destination while the service has
// asked for a pause. The zero value is ready; share one per destination.
type Pacer struct {
	mu    sync.Mutex
	until time.Time
}

// Hold asks that no call start for d from now. Holds only extend.
func (p *Pacer) Hold(d time.Duration) {
	if p == nil || d <= 0 {
		return
	}
	t := time.Now().Add(d)
	p.mu.Lock()
	if t.After(p.until) {
		p.until = t
	}
	p.mu.Unlock()
}

// Until reports the end of the current hold (zero when none).
func (p *Pacer) Until() time.Time {
	if p == nil {
		return time.Time{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !time.Now().Before(p.until) {
		return time.Time{}
	}
	return p.until
}

// Wait blocks until the hold has passed or ctx ends.
func (p *Pacer) Wait(ctx context.Context) error {
	for {
		until := p.Until()
		if until.IsZero() {
			return ctx.Err()
		}
		if err := sleep(ctx, time.Until(until)); err != nil {
			return err
		}
	}
}

// Do runs op until it succeeds, fails with an error that retrying cannot
// fix (Permanent, Fatal, Canceled), the attempts run out, the service asks
// for a wait longer than MaxRetryAfter, or ctx ends. It returns op's last
// error unchanged, so its Kind and Retry-After survive.
func Do(ctx context.Context, p Policy, pacer *Pacer, op func(context.Context) error) error {
	p = p.withDefaults()
	for attempt := 1; ; attempt++ {
		if err := pacer.Wait(ctx); err != nil {
			return err
		}
		err := op(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		kind := providers.KindOf(err)
		if kind != providers.Temporary && kind != providers.RateLimited {
			return err
		}
		// A stall already waited out the whole timeout; trying again here
		// would multiply that wait by every layer's attempts (an upload
		// would hang for half an hour). The queue retries it later, and a
		// person running push is told now.
		if errors.Is(err, providers.ErrStalled) {
			return err
		}
		ra := providers.RetryAfterOf(err)
		if attempt >= p.Attempts || ra > p.MaxRetryAfter {
			return err
		}
		wait := Backoff(p, attempt, rand.Float64())
		if kind == providers.RateLimited {
			if ra > 0 {
				wait = ra
			}
			// Every worker on this account waits, not just this one.
			pacer.Hold(wait)
		}
		if p.Report != nil {
			p.Report(attempt, err, wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
