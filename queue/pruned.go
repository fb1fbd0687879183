package queue

import (
	"context"
	"fmt"
)

// Pruned marks a done job whose remote copy retention deleted on purpose.
// The job stays, so the version is never queued again and verify does not
// look for the copy.
const Pruned State = "pruned"

// MarkPruned records that a done job's remote copy was deleted by retention.
func (s *Store) MarkPruned(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE jobs SET state=?, updated_at=? WHERE id=? AND state=?`, Pruned, s.now().UnixNano(), id, Done)
	if err != nil {
		return fmt.Errorf("mark job %d pruned: %w", id, err)
	}
	return nil
}
