package queue

import (
	"context"
	"database/sql"
	"time"
)

// NextDueOf is NextDue for one destination's jobs, so each destination's
// uploads can wait for their own next job.
func (s *Store) NextDueOf(ctx context.Context, destination string) (time.Time, error) {
	var t sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MIN(MAX(j.next_attempt_at, COALESCE(p.retry_at,0))) FROM jobs j LEFT JOIN pauses p ON p.destination=j.destination
		WHERE j.state IN ('pending','failed') AND j.destination=?`, destination).Scan(&t)
	if err != nil || !t.Valid {
		return time.Time{}, err
	}
	return time.Unix(0, t.Int64), nil
}
