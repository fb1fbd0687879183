package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Liveness is what the daemon last said of itself.
type Liveness struct {
	PID     int
	Started time.Time // when it started; zero if no daemon ever ran
	Beat    time.Time // its last heartbeat
	Stopped time.Time // when it stopped cleanly; zero while running or after a crash
}

// Beat records that the daemon started at started is alive at at.
func (s *Store) Beat(ctx context.Context, pid int, started, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO daemon(id, pid, started, beat, stopped) VALUES(1,?,?,?,0)
		ON CONFLICT(id) DO UPDATE SET pid=excluded.pid, started=excluded.started, beat=excluded.beat, stopped=0`,
		pid, started.UnixNano(), at.UnixNano())
	if err != nil {
		return fmt.Errorf("record that offsite runs: %w", err)
	}
	return nil
}

// Stopped records a clean stop at at.
func (s *Store) Stopped(ctx context.Context, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE daemon SET stopped=? WHERE id=1`, at.UnixNano()); err != nil {
		return fmt.Errorf("record that offsite stopped: %w", err)
	}
	return nil
}

// Liveness reads the daemon's last word.
func (s *Store) Liveness(ctx context.Context) (Liveness, error) {
	var l Liveness
	var started, beat, stopped int64
	err := s.db.QueryRowContext(ctx, `SELECT pid, started, beat, stopped FROM daemon WHERE id=1`).Scan(&l.PID, &started, &beat, &stopped)
	if errors.Is(err, sql.ErrNoRows) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("read whether offsite runs: %w", err)
	}
	l.Started, l.Beat, l.Stopped = unixOrZero(started), unixOrZero(beat), unixOrZero(stopped)
	return l, nil
}
