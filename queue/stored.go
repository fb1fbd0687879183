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

// Encrypt gives dest's waiting jobs that would be sent unencrypted the
// stored form suffix (which must encrypt): a destination that just got
// encrypt: sends nothing in plaintext from then on, whatever was queued
// before. Their remote paths change to match; a started session is
// dropped (it held plaintext). Call it holding the state lock, before
// Recover: a job a crash left uploading is converted too. It returns how
// many jobs changed.
func (s *Store) Encrypt(ctx context.Context, dest, suffix string) (int, error) {
	if !strings.HasSuffix(suffix, ".age") {
		return 0, fmt.Errorf("encrypt %s: %q is not an encrypted form", dest, suffix)
	}
	key := s.nameKey(dest)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, remote_path, form FROM jobs
		WHERE destination=? AND state IN ('pending','failed','uploading') AND form NOT LIKE '%.age'`, dest)
	if err != nil {
		return 0, fmt.Errorf("encrypt waiting uploads of %s: %w", dest, err)
	}
	type change struct {
		id   int64
		path string
	}
	var todo []change
	for rows.Next() {
		var id int64
		var p, form string
		if err := rows.Scan(&id, &p, &form); err != nil {
			rows.Close()
			return 0, err
		}
		todo = append(todo, change{id, strings.TrimSuffix(p, form) + suffix})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, c := range todo {
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET form=?, remote_path=?, remote_key=?, session=NULL, acked=0,
			stored_size=0, stored_sha256='', recipients='', updated_at=? WHERE id=?`,
			suffix, c.path, key(c.path), s.now().UnixNano(), c.id)
		if err != nil {
			return 0, fmt.Errorf("encrypt the waiting upload %s: %w", c.path, err)
		}
	}
	return len(todo), tx.Commit()
}
