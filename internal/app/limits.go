package app

import (
	"time"

	"golang.org/x/time/rate"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/throttle"
)

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

// uploadWindow is d's upload window as the guard asks for it, per upload:
// only the daemon keeps to it, as `check`, `push` and `restore` are a
// person acting now. Asked per upload, because the stack is built when
// the App opens, before Run says it is the daemon.
func (a *App) uploadWindow(d *config.Destination) func() func(time.Time) bool {
	window := windowFunc(d)
	return func() func(time.Time) bool {
		if a.daemon.Load() {
			return window
		}
		return nil
	}
}
