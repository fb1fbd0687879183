package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TestRestore is the outcome of test-restoring one stored copy.
type TestRestore struct {
	At          time.Time
	Destination string
	Remote      string
	Watch       string
	File        string
	Error       string // what went wrong; "" when the copy restored
}

// Drills is what the test restores left behind.
type Drills struct {
	LastRun time.Time // when the last drill ran (or the clock started)
	FullOK  time.Time // when a drill last restored every copy it picked in full
	Result  string    // the last drill's outcome, one line for the weekly report
	// Newest is the copy tested last (a failed one first when several
	// were tested at once); nil before any.
	Newest *TestRestore
}

// Drills reads the test restores' record.
func (s *Store) Drills(ctx context.Context) (Drills, error) {
	var d Drills
	var last, full, at int64
	var t TestRestore
	err := s.db.QueryRowContext(ctx, `SELECT last_run, full_ok, result, tested_at, tested_destination, tested_remote,
		tested_watch, tested_file, tested_error FROM drills WHERE id=1`).
		Scan(&last, &full, &d.Result, &at, &t.Destination, &t.Remote, &t.Watch, &t.File, &t.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("read the test restores' record: %w", err)
	}
	d.LastRun, d.FullOK = unixOrZero(last), unixOrZero(full)
	if at != 0 {
		t.At = time.Unix(0, at)
		d.Newest = &t
	}
	return d, nil
}

// SetDrillRun records when the last drill ran.
func (s *Store) SetDrillRun(ctx context.Context, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO drills(id, last_run) VALUES(1, ?)
		ON CONFLICT(id) DO UPDATE SET last_run=excluded.last_run`, at.UnixNano())
	if err != nil {
		return fmt.Errorf("record when the test restore ran: %w", err)
	}
	return nil
}

// SetDrillResult records a drill's outcome line; full (when not zero) is
// when it restored every copy it picked in full.
func (s *Store) SetDrillResult(ctx context.Context, result string, full time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO drills(id, result, full_ok) VALUES(1, ?, ?)
		ON CONFLICT(id) DO UPDATE SET result=excluded.result,
		full_ok=CASE WHEN excluded.full_ok<>0 THEN excluded.full_ok ELSE full_ok END`, result, nsOf(full))
	if err != nil {
		return fmt.Errorf("record the test restore's outcome: %w", err)
	}
	return nil
}

// RecordTestRestores notes each copy tested: a failure is kept until a
// later test passes (or ClearRestoreFailure), a pass clears it. The first
// failure, or else the last copy, becomes the newest test restore.
func (s *Store) RecordTestRestores(ctx context.Context, tested []TestRestore) error {
	if len(tested) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record the test restores: %w", err)
	}
	defer tx.Rollback()
	newest := tested[len(tested)-1]
	failed := false
	for _, t := range tested {
		q, args := `DELETE FROM restore_failures WHERE destination=? AND remote_path=?`, []any{t.Destination, t.Remote}
		if t.Error != "" {
			q = `INSERT INTO restore_failures(destination, remote_path, error, at) VALUES(?,?,?,?)
				ON CONFLICT(destination, remote_path) DO UPDATE SET error=excluded.error, at=excluded.at`
			args = append(args, t.Error, t.At.UnixNano())
			if !failed {
				newest, failed = t, true
			}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("record the test restore of %s at %s: %w", t.Remote, t.Destination, err)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO drills(id, tested_at, tested_destination, tested_remote, tested_watch, tested_file, tested_error)
		VALUES(1,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET tested_at=excluded.tested_at, tested_destination=excluded.tested_destination,
		tested_remote=excluded.tested_remote, tested_watch=excluded.tested_watch, tested_file=excluded.tested_file,
		tested_error=excluded.tested_error`,
		newest.At.UnixNano(), newest.Destination, newest.Remote, newest.Watch, newest.File, newest.Error)
	if err != nil {
		return fmt.Errorf("record the test restores: %w", err)
	}
	return tx.Commit()
}

// RecordLost notes copies found gone from their destination for good
// (deleted there, and no longer in the watched folder to send again) as
// failed checks, kept like a failed test restore: status shows them and
// retention waits, until a newer copy of the file is there or a test
// passes. The newest test restore is left as it was.
func (s *Store) RecordLost(ctx context.Context, lost []TestRestore) error {
	for _, t := range lost {
		_, err := s.db.ExecContext(ctx, `INSERT INTO restore_failures(destination, remote_path, error, at) VALUES(?,?,?,?)
			ON CONFLICT(destination, remote_path) DO UPDATE SET error=excluded.error, at=excluded.at`,
			t.Destination, t.Remote, t.Error, t.At.UnixNano())
		if err != nil {
			return fmt.Errorf("record the lost copy %s at %s: %w", t.Remote, t.Destination, err)
		}
	}
	return nil
}

// RestoreFailures returns the copies whose last test restore failed:
// destination → remote path → error.
func (s *Store) RestoreFailures(ctx context.Context) (map[string]map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT destination, remote_path, error FROM restore_failures`)
	if err != nil {
		return nil, fmt.Errorf("read the failed test restores: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var dest, remote, msg string
		if err := rows.Scan(&dest, &remote, &msg); err != nil {
			return nil, err
		}
		if out[dest] == nil {
			out[dest] = map[string]string{}
		}
		out[dest][remote] = msg
	}
	return out, rows.Err()
}

// ClearRestoreFailure forgets a failed test restore: the copy is being
// uploaded again.
func (s *Store) ClearRestoreFailure(ctx context.Context, dest, remote string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM restore_failures WHERE destination=? AND remote_path=?`, dest, remote); err != nil {
		return fmt.Errorf("clear the failed test restore of %s at %s: %w", remote, dest, err)
	}
	return nil
}
