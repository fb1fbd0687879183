package service

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// SignalContext ends the context on the first SIGINT or SIGTERM, so the
// daemon finishes or checkpoints the chunk under way, and tells out so; a
// second signal quits at once (interrupted uploads resume on the next
// start). stop undoes it.
func SignalContext(out io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-ch; !ok {
			return
		}
		fmt.Fprintln(out, "offsite: stopping after the current chunk (press Ctrl+C again to quit at once)")
		cancel()
		if _, ok := <-ch; !ok {
			return
		}
		fmt.Fprintln(out, "offsite: quitting now; interrupted uploads resume on the next start")
		os.Exit(130)
	}()
	// Once Stop returns no signal is sent on ch, so closing it ends the
	// goroutine.
	return ctx, func() { signal.Stop(ch); close(ch); cancel() }
}
