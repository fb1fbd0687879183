package queue

import (
	"context"
	"fmt"
	"time"
)

// Refusal is a backup file the daemon saw but would not queue: it was
// replaced by a link, or it could not be read. No job exists for it, so no
// upload can fail and raise the alarm; the record keeps status red until
// the file is queued (Enqueue clears it) or a person acknowledges it.
type Refusal struct {
	Watch   string
	Rel     string
	Reason  string // "linked", "unreadable" or "unsettled" (never became complete)
	Message string
	Since   time.Time
}

// Refuse records (or refreshes) a refusal. Since stays the first time the
// file was refused, so status can say how long it has lasted.
func (s *Store) Refuse(ctx context.Context, r Refusal) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO refusals(watch,rel_path,reason,message,since) VALUES(?,?,?,?,?)
		ON CONFLICT(watch,rel_path) DO UPDATE SET message=excluded.message,
		since=CASE WHEN refusals.reason=excluded.reason THEN refusals.since ELSE excluded.since END,
		reason=excluded.reason`,
		r.Watch, r.Rel, r.Reason, r.Message, r.Since.UnixNano())
	if err != nil {
		return fmt.Errorf("record that %s/%s was not queued: %w", r.Watch, r.Rel, err)
	}
	return nil
}

// Refusals lists the files refused and not queued since, oldest first.
func (s *Store) Refusals(ctx context.Context) ([]Refusal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT watch, rel_path, reason, message, since FROM refusals ORDER BY since, watch, rel_path`)
	if err != nil {
		return nil, fmt.Errorf("read refused backups: %w", err)
	}
	defer rows.Close()
	var out []Refusal
	for rows.Next() {
		var r Refusal
		var since int64
		if err := rows.Scan(&r.Watch, &r.Rel, &r.Reason, &r.Message, &since); err != nil {
			return nil, fmt.Errorf("read refused backups: %w", err)
		}
		r.Since = time.Unix(0, since)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ClearRefusals forgets the refusals of one watch, or of every watch, once
// a person has dealt with them. It returns how many there were.
func (s *Store) ClearRefusals(ctx context.Context, watch string) (int, error) {
	q, args := `DELETE FROM refusals`, []any{}
	if watch != "" {
		q += ` WHERE watch=?`
		args = append(args, watch)
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("clear refused backups: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Unrefuse forgets one file's refusal for reason, when the cause went away
// by itself (the file that never settled was deleted). Other reasons stay.
func (s *Store) Unrefuse(ctx context.Context, watch, rel, reason string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM refusals WHERE watch=? AND rel_path=? AND reason=?`, watch, rel, reason); err != nil {
		return fmt.Errorf("forget that %s/%s was not queued: %w", watch, rel, err)
	}
	return nil
}
