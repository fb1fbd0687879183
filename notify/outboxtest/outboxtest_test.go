package outboxtest_test

import (
	"testing"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/notify/outboxtest"
)

func TestMemoryOutbox(t *testing.T) {
	outboxtest.Run(t, outboxtest.Options{
		New:    func(*testing.T) notify.Outbox { return notify.NewMemoryOutbox() },
		Reopen: func(_ *testing.T, box notify.Outbox) notify.Outbox { return box }, // nothing to reopen; exercises the path
	})
}
