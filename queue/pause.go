package queue

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Pause is a destination held back after a Fatal error (login revoked,
// storage full, disk missing). Its jobs stay queued; one probe job is let
// through at RetryAt to find out whether it works again.
type Pause struct {
	Destination string
	Reason      string
	Message     string
	Since       time.Time
	RetryAt     time.Time
	Probes      int
}

// PauseDestination holds a destination until retryAt. It reports whether
// the pause is new (so the caller alerts once per cause).
func (s *Store) PauseDestination(ctx context.Context, dest, reason, msg string, retryAt time.Time) (bool, error) {
	now := s.now().UnixNano()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var existed int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pauses WHERE destination=? AND reason=?`, dest, reason).Scan(&existed); err != nil {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO pauses(destination,reason,message,since,retry_at) VALUES(?,?,?,?,?)
		ON CONFLICT(destination) DO UPDATE SET message=excluded.message, retry_at=excluded.retry_at, probes=pauses.probes+1,
		reason=excluded.reason, since=CASE WHEN pauses.reason=excluded.reason THEN pauses.since ELSE excluded.since END`,
		dest, reason, msg, now, retryAt.UnixNano())
	if err != nil {
		return false, err
	}
	return existed == 0, tx.Commit()
}

// Unpause clears a destination's pause and returns it; ok is false when
// none was set.
func (s *Store) Unpause(ctx context.Context, dest string) (p Pause, ok bool, err error) {
	var since int64
	err = s.db.QueryRowContext(ctx, `DELETE FROM pauses WHERE destination=? RETURNING reason, message, since`, dest).Scan(&p.Reason, &p.Message, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return Pause{}, false, nil
	}
	if err != nil {
		return Pause{}, false, err
	}
	p.Destination, p.Since = dest, time.Unix(0, since)
	return p, true, nil
}

// PauseOf returns a destination's pause, if any.
func (s *Store) PauseOf(ctx context.Context, dest string) (Pause, bool, error) {
	ps, err := s.Pauses(ctx)
	for _, p := range ps {
		if p.Destination == dest {
			return p, true, err
		}
	}
	return Pause{}, false, err
}

// Pauses lists paused destinations.
func (s *Store) Pauses(ctx context.Context) ([]Pause, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT destination, reason, message, since, retry_at, probes FROM pauses ORDER BY destination`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Pause
	for rows.Next() {
		var p Pause
		var since, retry int64
		if err := rows.Scan(&p.Destination, &p.Reason, &p.Message, &since, &retry, &p.Probes); err != nil {
			return nil, err
		}
		p.Since, p.RetryAt = time.Unix(0, since), time.Unix(0, retry)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ProbeNow makes a paused destination's probe due at once (after a fix such
// as a new login); the daemon lifts the pause when the probe succeeds.
func (s *Store) ProbeNow(ctx context.Context, dest string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE pauses SET retry_at=0, probes=0 WHERE destination=?`, dest)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
