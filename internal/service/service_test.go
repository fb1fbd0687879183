package service

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestManagedStopEndsTheRun: the service manager's Stop cancels the
// daemon's context and waits for it to return, handing back its error, so
// the manager is told the service stopped only once it did.
func TestManagedStopEndsTheRun(t *testing.T) {
	started := make(chan struct{})
	wantErr := errors.New("flushed and closed")
	m := &managed{cfg: "offsite.yaml", run: func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // the daemon finishing its shutdown
		return wantErr
	}}
	if err := m.Stop(nil); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if err := m.Start(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not run the daemon")
	}
	if err := m.Stop(nil); !errors.Is(err, wantErr) {
		t.Fatalf("Stop = %v, want the daemon's own %v", err, wantErr)
	}
}

func TestServiceConfigRunsTheDaemonWithItsConfig(t *testing.T) {
	c := serviceConfig("/usr/bin/offsite", "/etc/offsite.yaml")
	if c.Name != "offsite" || c.Executable != "/usr/bin/offsite" || len(c.Arguments) != 3 ||
		c.Arguments[0] != "run" || c.Arguments[2] != "/etc/offsite.yaml" || c.Option["OnFailure"] != "restart" {
		t.Errorf("service config %+v", c)
	}
}
