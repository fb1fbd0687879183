// Package throttle slows an upload's source: token buckets for bandwidth
// caps (per destination and global) and a gate that holds reads while a
// destination's upload window is closed.
package throttle

import (
	"context"
	"io"
	"time"

	"golang.org/x/time/rate"
)

// NewLimiter returns a token bucket for bytesPerSec, or nil (no limit) when
// it is not positive. The burst is a tenth of a second's worth, at least
// 32 KiB, so rates stay smooth without making reads tiny.
func NewLimiter(bytesPerSec int64) *rate.Limiter {
	if bytesPerSec <= 0 {
		return nil
	}
	burst := max(bytesPerSec/10, 32<<10)
	return rate.NewLimiter(rate.Limit(bytesPerSec), int(burst))
}

type limitedReader struct {
	ctx      context.Context
	r        io.ReadSeeker
	limiters []*rate.Limiter
	max      int
}

// NewReader returns r with every Read waiting on each limiter (nil ones are
// skipped) for the bytes it returns. Each Read is capped at the smallest
// burst, since a bucket never holds more. Seek passes through, so
// resumable uploads can still rewind.
func NewReader(ctx context.Context, r io.ReadSeeker, limiters ...*rate.Limiter) io.ReadSeeker {
	lr := &limitedReader{ctx: ctx, r: r}
	for _, l := range limiters {
		if l == nil || l.Limit() == rate.Inf {
			continue
		}
		lr.limiters = append(lr.limiters, l)
		if b := l.Burst(); lr.max == 0 || b < lr.max {
			lr.max = b
		}
	}
	if len(lr.limiters) == 0 {
		return r
	}
	return lr
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) > l.max {
		p = p[:l.max]
	}
	n, err := l.r.Read(p)
	if n > 0 {
		for _, lim := range l.limiters {
			if werr := lim.WaitN(l.ctx, n); werr != nil {
				return n, l.ctx.Err()
			}
		}
	}
	return n, err
}

func (l *limitedReader) Seek(offset int64, whence int) (int64, error) {
	return l.r.Seek(offset, whence)
}

type gateReader struct {
	ctx  context.Context
	r    io.ReadSeeker
	open func(time.Time) bool
	poll time.Duration
}

// GateReader returns r with every Read blocked while open reports false,
// checking again every poll. The adapters read each chunk before sending
// it, so a chunked upload pauses before its next chunk when the window
// closes and goes on from there when it opens; the session stays valid.
// A nil open never blocks. When ctx ends a blocked Read returns its error.
func GateReader(ctx context.Context, r io.ReadSeeker, open func(time.Time) bool, poll time.Duration) io.ReadSeeker {
	if open == nil {
		return r
	}
	if poll <= 0 {
		poll = 30 * time.Second
	}
	return &gateReader{ctx: ctx, r: r, open: open, poll: poll}
}

func (g *gateReader) Read(p []byte) (int, error) {
	if err := g.wait(); err != nil {
		return 0, err
	}
	return g.r.Read(p)
}

func (g *gateReader) wait() error {
	if g.open(time.Now()) {
		return g.ctx.Err()
	}
	t := time.NewTicker(g.poll)
	defer t.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return g.ctx.Err()
		case now := <-t.C:
			if g.open(now) {
				return nil
			}
		}
	}
}

func (g *gateReader) Seek(offset int64, whence int) (int64, error) {
	return g.r.Seek(offset, whence)
}
