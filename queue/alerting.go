package queue

import (
	"context"
	"fmt"
)

// FailingPast counts, per destination, the unfinished jobs that have been
// tried at least attempts times: the uploads a failure alert went out for,
// which keep the green light off until they succeed. A job being tried
// again (uploading, or made due by `offsite retry`) still counts: the light
// must not flicker green between two failures.
func (s *Store) FailingPast(ctx context.Context, attempts int) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT destination, COUNT(*) FROM jobs WHERE state IN (?, ?, ?) AND attempts>=? GROUP BY destination`,
		Failed, Uploading, Pending, attempts)
	if err != nil {
		return nil, fmt.Errorf("count failing uploads: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var dest string
		var n int
		if err := rows.Scan(&dest, &n); err != nil {
			return nil, fmt.Errorf("count failing uploads: %w", err)
		}
		out[dest] = n
	}
	return out, rows.Err()
}

// Redo puts a done job back in the queue, due now, because its stored copy
// was found missing or changed (`offsite verify --repair`). It reports
// whether the job was done.
func (s *Store) Redo(ctx context.Context, id int64, why string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE jobs SET state=?, attempts=0, next_attempt_at=0, last_error=?, error_kind='',
		session=NULL, acked=0, remote_hash='', alerted=0, updated_at=? WHERE id=? AND state=?`,
		Pending, why, s.now().UnixNano(), id, Done)
	if err != nil {
		return false, fmt.Errorf("re-queue job %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("re-queue job %d: %w", id, err)
	}
	return n > 0, nil
}
