//go:build !windows

package service

import (
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFirstSignalStopsGently: SIGTERM (what a service manager sends) ends
// the context and says that the current chunk finishes first.
func TestFirstSignalStopsGently(t *testing.T) {
	var out lockedBuilder
	ctx, stop := SignalContext(&out)
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not end the context")
	}
	if !strings.Contains(out.String(), "stopping after the current chunk") {
		t.Errorf("output %q does not say what happens", out.String())
	}
}
