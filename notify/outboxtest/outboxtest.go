// Package outboxtest checks that an implementation of notify.Outbox keeps
// the contract the Notifier relies on: one message per (channel, key) for
// ever, oldest first, retries not due before their time, sent never again.
// The daemon's SQLite outbox calls Run from its own test.
package outboxtest

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/notify"
)

// Options configures Run.
type Options struct {
	// New returns an empty outbox.
	New func(t *testing.T) notify.Outbox
	// Reopen, if set, closes box and opens the same store again, to check
	// that messages and their state survive a restart.
	Reopen func(t *testing.T, box notify.Outbox) notify.Outbox
}

var t0 = time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)

func event(key string) notify.Event {
	return notify.Event{
		Kind: notify.KindFailure, Key: key, Subject: "subject " + key, Text: "text\nwith lines",
		Fields: map[string]string{"watch": "pos", "destination": "cloud"}, Time: t0,
	}
}

// Run runs the contract checks.
func Run(t *testing.T, o Options) {
	ctx := context.Background()
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	add := func(t *testing.T, box notify.Outbox, chs []string, e notify.Event) int {
		t.Helper()
		n, err := box.Add(ctx, chs, e)
		must(t, err)
		return n
	}
	due := func(t *testing.T, box notify.Outbox, now time.Time, limit int) []notify.Message {
		t.Helper()
		ms, err := box.Due(ctx, now, limit)
		must(t, err)
		return ms
	}

	t.Run("OncePerChannelAndKey", func(t *testing.T) {
		box := o.New(t)
		if n := add(t, box, []string{"a", "b"}, event("k1")); n != 2 {
			t.Errorf("first Add: %d new, want 2", n)
		}
		if n := add(t, box, []string{"a", "b"}, event("k1")); n != 0 {
			t.Errorf("same key again: %d new, want 0", n)
		}
		if n := add(t, box, []string{"a", "c"}, event("k1")); n != 1 {
			t.Errorf("one new channel: %d new, want 1", n)
		}
		if got := due(t, box, t0.Add(time.Second), 100); len(got) != 3 {
			t.Errorf("due: %d messages, want 3", len(got))
		}
	})

	t.Run("DueOldestFirstWithLimitAndRoundTrip", func(t *testing.T) {
		box := o.New(t)
		for _, k := range []string{"k1", "k2", "k3"} {
			add(t, box, []string{"a"}, event(k))
		}
		got := due(t, box, t0.Add(time.Second), 2)
		if len(got) != 2 || got[0].Event.Key != "k1" || got[1].Event.Key != "k2" {
			t.Fatalf("due = %+v, want k1, k2", got)
		}
		m, want := got[0], event("k1")
		if m.Channel != "a" || m.Attempts != 0 || m.Event.Kind != want.Kind || m.Event.Subject != want.Subject ||
			m.Event.Text != want.Text || !m.Event.Time.Equal(want.Time) || !maps.Equal(m.Event.Fields, want.Fields) {
			t.Errorf("stored %+v, want %+v", m, want)
		}
	})

	t.Run("RetryAndSent", func(t *testing.T) {
		box := o.New(t)
		add(t, box, []string{"a"}, event("k1"))
		add(t, box, []string{"a"}, event("k2"))
		ms := due(t, box, t0.Add(time.Second), 10)
		if len(ms) != 2 {
			t.Fatalf("due: %d", len(ms))
		}
		next := t0.Add(time.Minute)
		must(t, box.Retry(ctx, ms[0].ID, next, "webhook answered 500"))
		must(t, box.Sent(ctx, ms[1].ID, t0.Add(2*time.Second)))
		if got := due(t, box, next.Add(-time.Second), 10); len(got) != 0 {
			t.Errorf("due before retry time: %+v", got)
		}
		if o.Reopen != nil {
			box = o.Reopen(t, box)
		}
		got := due(t, box, next, 10)
		if len(got) != 1 || got[0].ID != ms[0].ID || got[0].Attempts != 1 {
			t.Fatalf("due at retry time: %+v, want message %d with 1 attempt", got, ms[0].ID)
		}
		must(t, box.Sent(ctx, got[0].ID, next))
		if got := due(t, box, next.Add(24*time.Hour), 10); len(got) != 0 {
			t.Errorf("sent messages due again: %+v", got)
		}
		if n := add(t, box, []string{"a"}, event("k1")); n != 0 {
			t.Errorf("a sent key was stored again")
		}
	})
}
