package queue

import (
	"context"
	"time"
)

// OutboxMessage is one notification to one channel, stored until sent.
type OutboxMessage struct {
	ID       int64
	Channel  string
	Key      string
	Payload  []byte
	Attempts int
}

// AddOutbox stores payload for each channel unless (channel, key) was
// stored before; it returns how many were new. One cause, one message.
func (s *Store) AddOutbox(ctx context.Context, channels []string, key string, payload []byte) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n := 0
	now := s.now().UnixNano()
	for _, ch := range channels {
		res, err := tx.ExecContext(ctx, `INSERT INTO outbox(channel,dedupe_key,payload,created_at) VALUES(?,?,?,?) ON CONFLICT DO NOTHING`,
			ch, key, payload, now)
		if err != nil {
			return 0, err
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, tx.Commit()
}

// DueOutbox returns up to limit unsent messages due at now.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxMessage, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, channel, dedupe_key, payload, attempts FROM outbox
		WHERE sent_at=0 AND next_attempt_at<=? ORDER BY id LIMIT ?`, now.UnixNano(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		var m OutboxMessage
		if err := rows.Scan(&m.ID, &m.Channel, &m.Key, &m.Payload, &m.Attempts); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SentOutbox marks a message delivered.
func (s *Store) SentOutbox(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET sent_at=?, attempts=attempts+1 WHERE id=?`, at.UnixNano(), id)
	return err
}

// RetryOutbox records a failed delivery, to be tried again at next.
func (s *Store) RetryOutbox(ctx context.Context, id int64, next time.Time, lastErr string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts=attempts+1, next_attempt_at=?, last_error=? WHERE id=?`, next.UnixNano(), lastErr, id)
	return err
}
