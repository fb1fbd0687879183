package queue

import (
	"context"
	"fmt"
	"strings"
)

// SetForm sets the stored-form suffix (".zst.age") of the jobs enqueued
// for dest from now on; "" stores files as they are. Jobs already queued
// keep the form and remote path they were created with.
func (s *Store) SetForm(dest, suffix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forms == nil {
		s.forms = map[string]string{}
	}
	s.forms[dest] = suffix
}

func (s *Store) form(dest string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forms[dest]
}

// SetStored records the stored form made for job id: its size and SHA-256
// and the recipients it was encrypted to.
func (s *Store) SetStored(ctx context.Context, id int64, size int64, sha256 string, recipients []string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE jobs SET stored_size=?, stored_sha256=?, recipients=?, updated_at=? WHERE id=?`,
		size, sha256, strings.Join(recipients, "\n"), s.now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("record stored form of job %d: %w", id, err)
	}
	return nil
}

// StoredByRecipients counts the done (stored, not pruned) jobs per destination that
// only the given recipient set opens, keyed by destination and then by
// the recipients (joined by ","). Callers compare with the keys the config
// lists now to find copies that depend on a retired key.
func (s *Store) StoredByRecipients(ctx context.Context) (map[string]map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT destination, recipients, COUNT(*) FROM jobs
		WHERE state='done' AND recipients != '' GROUP BY destination, recipients`)
	if err != nil {
		return nil, fmt.Errorf("count stored copies by key: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var dest, recips string
		var n int
		if err := rows.Scan(&dest, &recips, &n); err != nil {
			return nil, err
		}
		if out[dest] == nil {
			out[dest] = map[string]int{}
		}
		out[dest][strings.ReplaceAll(recips, "\n", ",")] += n
	}
	return out, rows.Err()
}
