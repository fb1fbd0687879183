package daemon

import (
	"context"
	"strings"
	"testing"

	"github.com/offsite-backup/offsite/providers"
)

// TestGivenUpAlertDoesNotPromiseRetries: the alert for an upload that was
// given up must not tell the shop that offsite keeps trying.
func TestGivenUpAlertDoesNotPromiseRetries(t *testing.T) {
	f := newFixture(t, func(int) error {
		return providers.Errorf(providers.Permanent, providers.ReasonName, "", "name refused")
	})
	f.add(t, "bad.bak", []byte("x"))
	f.d.Drain(context.Background())
	f.events.mu.Lock()
	defer f.events.mu.Unlock()
	if len(f.events.list) != 1 {
		t.Fatalf("%d events, want 1", len(f.events.list))
	}
	e := f.events.list[0]
	for _, bad := range []string{"keeps trying", "stays in the queue", "not reached"} {
		if strings.Contains(e.Text, bad) || strings.Contains(e.Subject, bad) {
			t.Errorf("given-up alert says %q:\n%s\n%s", bad, e.Subject, e.Text)
		}
	}
	for _, want := range []string{"given up", "name refused", "offsite retry --to"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("given-up alert lacks %q:\n%s", want, e.Text)
		}
	}
}
