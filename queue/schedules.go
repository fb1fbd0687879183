package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ScheduleRun is what the queue keeps of one schedule: when it was first
// seen and last ran, and the run in progress, whose copies are jobs.
type ScheduleRun struct {
	Schedule  string
	FirstSeen time.Time // a schedule never run counts from here
	LastRun   time.Time // when the last complete run started
	// The open run: its copies are queued. Version is 0 when none is open.
	Version int64
	Started time.Time
	Due     time.Time // the schedule time it is for
	Late    bool      // it started after a missed time (offsite was off)
	// RetryAt: a run that failed is planned again no sooner.
	RetryAt time.Time
}

// Open reports whether a run is in progress.
func (r ScheduleRun) Open() bool { return r.Version != 0 }

// ScheduleRunOf returns a schedule's record; a schedule never seen has a
// zero one.
func (s *Store) ScheduleRunOf(ctx context.Context, name string) (ScheduleRun, error) {
	r := ScheduleRun{Schedule: name}
	var first, last, started, due, retry int64
	var late int
	err := s.db.QueryRowContext(ctx, `SELECT first_seen, last_run, run_version, run_started, run_due, run_late, retry_at
		FROM schedule_runs WHERE schedule=?`, name).Scan(&first, &last, &r.Version, &started, &due, &late, &retry)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("read schedule %s: %w", name, err)
	}
	r.FirstSeen, r.LastRun, r.Started, r.Due, r.RetryAt = unixOrZero(first), unixOrZero(last), unixOrZero(started), unixOrZero(due), unixOrZero(retry)
	r.Late = late != 0
	return r, nil
}

// SeeSchedule records when a schedule was first seen (once).
func (s *Store) SeeSchedule(ctx context.Context, name string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO schedule_runs(schedule, first_seen) VALUES(?,?)
		ON CONFLICT(schedule) DO UPDATE SET first_seen=excluded.first_seen WHERE first_seen=0`, name, at.UnixNano())
	if err != nil {
		return fmt.Errorf("record schedule %s: %w", name, err)
	}
	return nil
}

// SetLastRun records when a schedule last ran (tests, and runs that
// need no copy).
func (s *Store) SetLastRun(ctx context.Context, name string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO schedule_runs(schedule, last_run) VALUES(?,?)
		ON CONFLICT(schedule) DO UPDATE SET last_run=excluded.last_run`, name, at.UnixNano())
	if err != nil {
		return fmt.Errorf("record schedule %s's run: %w", name, err)
	}
	return nil
}

// Copy is one destination of a schedule run: the version goes to Base at
// Destination, or, when a job of another version holds that name, to Base
// with the version's UTC time before the extension.
type Copy struct {
	Destination string
	Base        string // <folder>/<watch>/<file name>
}

// StartScheduleRun opens a run of schedule that copies v to each of
// copies, in one transaction: the copy jobs are queued (or, when the run
// copies what an earlier one did, that job is reused; one given up is made
// due again) and the run recorded as open. v must be a queued version.
func (s *Store) StartScheduleRun(ctx context.Context, schedule string, v Version, copies []Copy, started, due time.Time, late bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("start schedule %s: %w", schedule, err)
	}
	defer tx.Rollback()
	var vid int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM versions WHERE watch=? AND rel_path=? AND sha256=?`, v.Watch, v.Rel, v.SHA256).Scan(&vid); err != nil {
		return fmt.Errorf("start schedule %s: version %s/%s: %w", schedule, v.Watch, v.Rel, err)
	}
	st, err := prepare(ctx, tx,
		`SELECT COUNT(*) FROM jobs WHERE destination=? AND (remote_key=? OR remote_path=?)`,
		`UPDATE jobs SET state='pending', next_attempt_at=0, updated_at=? WHERE version_id=? AND destination=? AND purpose=? AND schedule=?
			AND state IN ('dead','superseded','removed') RETURNING id`,
		`SELECT COUNT(*) FROM jobs WHERE version_id=? AND destination=? AND purpose=? AND schedule=?`,
		`INSERT INTO jobs(version_id,destination,remote_path,remote_key,state,created_at,updated_at,purpose,schedule,form) VALUES(?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("start schedule %s: %w", schedule, err)
	}
	nameTaken, revive, exists, insert := st[0], st[1], st[2], st[3]
	now := s.now().UnixNano()
	for _, c := range copies {
		var id int64
		err := revive.QueryRowContext(ctx, now, vid, c.Destination, ScheduleCopy, schedule).Scan(&id)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("start schedule %s: %w", schedule, err)
		}
		var n int
		if err := exists.QueryRowContext(ctx, vid, c.Destination, ScheduleCopy, schedule).Scan(&n); err != nil {
			return fmt.Errorf("start schedule %s: %w", schedule, err)
		}
		if n > 0 {
			continue // copied (or being copied) already
		}
		// A copy is stored in its destination's form, as a routine upload is.
		key, form := s.nameKey(c.Destination), s.form(c.Destination)
		remote, err := remotePath(ctx, nameTaken, c.Destination, key, c.Base, form, v.ModTime)
		if err != nil {
			return fmt.Errorf("start schedule %s at %s: %w", schedule, c.Destination, err)
		}
		if _, err := insert.ExecContext(ctx, vid, c.Destination, remote, key(remote), Pending, now, now, ScheduleCopy, schedule, form); err != nil {
			return fmt.Errorf("start schedule %s at %s: %w", schedule, c.Destination, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schedule_runs(schedule, run_version, run_started, run_due, run_late, retry_at) VALUES(?,?,?,?,?,0)
		ON CONFLICT(schedule) DO UPDATE SET run_version=excluded.run_version, run_started=excluded.run_started,
		run_due=excluded.run_due, run_late=excluded.run_late, retry_at=0`,
		schedule, vid, started.UnixNano(), due.UnixNano(), boolInt(late)); err != nil {
		return fmt.Errorf("start schedule %s: %w", schedule, err)
	}
	return tx.Commit()
}

// EndScheduleRun closes a schedule's open run. A complete run becomes its
// last run; one that failed (or could not start) is planned again at
// retryAt.
func (s *Store) EndScheduleRun(ctx context.Context, schedule string, complete bool, retryAt time.Time) error {
	q := `INSERT INTO schedule_runs(schedule, retry_at) VALUES(?, ?) ON CONFLICT(schedule) DO UPDATE SET retry_at=excluded.retry_at,
		run_version=0, run_started=0, run_due=0, run_late=0`
	args := []any{schedule, nsOf(retryAt)}
	if complete {
		q += `, last_run=run_started`
		args[1] = 0
	}
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("end schedule %s's run: %w", schedule, err)
	}
	return nil
}

// nsOf is t in Unix nanoseconds, 0 for the zero time.
func nsOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// DropUnsentCopies deletes a run's copies that never reached their
// destination because the source was rewritten or removed first, so the
// next run of the schedule may use their names.
func (s *Store) DropUnsentCopies(ctx context.Context, schedule string, version int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM jobs WHERE purpose=? AND schedule=? AND version_id=? AND state IN (?,?)`,
		ScheduleCopy, schedule, version, Superseded, Removed)
	if err != nil {
		return fmt.Errorf("forget schedule %s's unsent copies: %w", schedule, err)
	}
	return nil
}

// ClearScheduleRetries lets every schedule whose run failed try again at
// once, when a person asks for a backup now.
func (s *Store) ClearScheduleRetries(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE schedule_runs SET retry_at=0`); err != nil {
		return fmt.Errorf("clear the schedules' retry times: %w", err)
	}
	return nil
}
