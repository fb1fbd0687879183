package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/queue"
)

// outbox keeps notifications in the queue database, so they survive a
// crash and are sent once per channel and cause.
type outbox struct{ s *queue.Store }

var _ notify.Outbox = outbox{}

func (o outbox) Add(ctx context.Context, channels []string, e notify.Event) (int, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	return o.s.AddOutbox(ctx, channels, e.Key, payload)
}

func (o outbox) Due(ctx context.Context, now time.Time, limit int) ([]notify.Message, error) {
	rows, err := o.s.DueOutbox(ctx, now, limit)
	if err != nil {
		return nil, err
	}
	out := make([]notify.Message, 0, len(rows))
	for _, r := range rows {
		var e notify.Event
		if err := json.Unmarshal(r.Payload, &e); err != nil {
			// Unreadable (written by a different version): drop it rather than block the outbox.
			if err := o.s.SentOutbox(ctx, r.ID, now); err != nil {
				return nil, fmt.Errorf("drop unreadable notification %d: %w", r.ID, err)
			}
			continue
		}
		out = append(out, notify.Message{ID: r.ID, Channel: r.Channel, Event: e, Attempts: r.Attempts})
	}
	return out, nil
}

func (o outbox) Sent(ctx context.Context, id int64, at time.Time) error {
	return o.s.SentOutbox(ctx, id, at)
}

func (o outbox) Retry(ctx context.Context, id int64, next time.Time, lastErr string) error {
	return o.s.RetryOutbox(ctx, id, next, lastErr)
}
