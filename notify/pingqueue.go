package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// PingQueue sends the health-check pings of upload runs: URL/start when a
// run begins, URL or URL/fail when it ends. Pings go out in order on their
// own goroutine so the uploads never wait for a monitor; Wait lets `once`
// finish them before the process exits.
type PingQueue struct {
	pinger *Pinger
	log    *slog.Logger
	mu     sync.Mutex
	last   chan struct{} // closed when the previous ping is done
	wg     sync.WaitGroup
}

// NewPingQueue sends pinger's pings in order, logging failures to log.
func NewPingQueue(pinger *Pinger, log *slog.Logger) *PingQueue {
	return &PingQueue{pinger: pinger, log: log}
}

// Send queues one ping; ok (called on the ping's goroutine) decides
// success or failure for an end ping, nil means the start ping.
func (h *PingQueue) Send(ok func(context.Context) bool) {
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
func (h *PingQueue) Wait(d time.Duration) {
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
