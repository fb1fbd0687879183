package queue

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Job is one version's upload to one destination.
type Job struct {
	ID          int64
	Version     Version
	Destination string
	RemotePath  string
	State       State
	Attempts    int
	NextAttempt time.Time
	LastError   string
	ErrorKind   string
	Session     []byte // resumable-upload state; a secret
	Acked       int64  // bytes the service acknowledged in Session
	RemoteHash  string
	UpdatedAt   time.Time
	DoneAt      time.Time
	Alerted     bool // a failure notification went out for this job
	Purpose     Purpose
	Schedule    string // the schedule a ScheduleCopy belongs to
	VersionID   int64

	// Form is the stored form's suffix (".zst", ".age", ".zst.age"), ""
	// for the file as it is; RemotePath already ends with it.
	Form string
	// Stored is the size and SHA-256 of the stored form that was (or is
	// being) sent; zero when Form is "" or before it was made.
	StoredSize   int64
	StoredSHA256 string
	// Recipients are the age public keys the stored form was encrypted
	// to, or ["passphrase"].
	Recipients []string
}

// Purpose is why a job exists. Every upload, whatever its purpose, goes
// through the same lanes, retries, pacing, windows and limits.
type Purpose string

const (
	// Routine uploads a watched file to a destination its watch routes to,
	// at <watch>/<path>.
	Routine Purpose = "routine"
	// ScheduleCopy is a schedule's copy of a watch's newest backup, at
	// <folder>/<watch>/<file name>; its destination need not be routed.
	ScheduleCopy Purpose = "schedule"
)

const jobColumns = `j.id, v.watch, v.rel_path, v.size, v.mtime_ns, v.sha256, v.digests, j.destination, j.remote_path, j.state,
	j.attempts, j.next_attempt_at, j.last_error, j.error_kind, j.session, j.acked, j.remote_hash, j.updated_at, j.done_at, j.alerted,
	j.purpose, j.schedule, v.id, j.form, j.stored_size, j.stored_sha256, j.recipients`

func scanJob(sc interface{ Scan(...any) error }) (*Job, error) {
	var j Job
	var mt, next, upd, done int64
	var state string
	var alerted int
	var digests, recipients string
	if err := sc.Scan(&j.ID, &j.Version.Watch, &j.Version.Rel, &j.Version.Size, &mt, &j.Version.SHA256, &digests, &j.Destination,
		&j.RemotePath, &state, &j.Attempts, &next, &j.LastError, &j.ErrorKind, &j.Session, &j.Acked, &j.RemoteHash, &upd, &done, &alerted,
		&j.Purpose, &j.Schedule, &j.VersionID, &j.Form, &j.StoredSize, &j.StoredSHA256, &recipients); err != nil {
		return nil, err
	}
	j.Version.ModTime = time.Unix(0, mt)
	j.Version.Digests = decodeDigests(digests)
	j.State = State(state)
	j.NextAttempt = unixOrZero(next)
	j.UpdatedAt = unixOrZero(upd)
	j.DoneAt = unixOrZero(done)
	j.Alerted = alerted != 0
	if recipients != "" {
		j.Recipients = strings.Split(recipients, "\n")
	}
	return &j, nil
}

func unixOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Recover puts jobs a crash left in Uploading back to Pending. Call it once
// at start-up, holding the state lock: delivery is at-least-once, and the
// adapters' look-before-create makes the repeat harmless.
func (s *Store) Recover(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE jobs SET state=?, updated_at=? WHERE state=?`, Pending, s.now().UnixNano(), Uploading)
	if err != nil {
		return 0, fmt.Errorf("recover jobs: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Hold names what Claim must leave alone for now.
type Hold struct {
	Destinations []string // outside their upload window
	Watches      []string // held by `offsite pause --hold`
}

// Claim takes up to n of the oldest due jobs that are not held and whose
// destination is not paused, and marks them Uploading. It returns none
// when nothing is due. Taking a few at a time keeps the queue query off the
// per-file path.
func (s *Store) Claim(ctx context.Context, hold Hold, n int) ([]*Job, error) {
	now := s.now().UnixNano()
	q := `SELECT ` + jobColumns + ` FROM jobs j JOIN versions v ON v.id=j.version_id
		WHERE j.state IN ('pending','failed') AND j.next_attempt_at <= ?
		AND j.destination NOT IN (SELECT destination FROM pauses WHERE retry_at > ?)`
	args := []any{now, now}
	if len(hold.Destinations) > 0 {
		q += ` AND j.destination NOT IN (` + strings.TrimSuffix(strings.Repeat("?,", len(hold.Destinations)), ",") + `)`
		for _, d := range hold.Destinations {
			args = append(args, d)
		}
	}
	if len(hold.Watches) > 0 {
		q += ` AND v.watch NOT IN (` + strings.TrimSuffix(strings.Repeat("?,", len(hold.Watches)), ",") + `)`
		for _, w := range hold.Watches {
			args = append(args, w)
		}
	}
	q += fmt.Sprintf(` ORDER BY j.next_attempt_at, j.id LIMIT %d`, max(n, 1))
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim jobs: %w", err)
		}
		j.State = Uploading
		out = append(out, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, j := range out {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state=?, updated_at=? WHERE id=?`, Uploading, now, j.ID); err != nil {
			return nil, err
		}
	}
	return out, tx.Commit()
}

// NextDue returns when the earliest waiting job becomes due (zero if none
// waits), so workers can sleep until then.
func (s *Store) NextDue(ctx context.Context) (time.Time, error) {
	var t sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MIN(MAX(j.next_attempt_at, COALESCE(p.retry_at,0))) FROM jobs j LEFT JOIN pauses p ON p.destination=j.destination
		WHERE j.state IN ('pending','failed')`).Scan(&t)
	if err != nil || !t.Valid {
		return time.Time{}, err
	}
	return time.Unix(0, t.Int64), nil
}

// SaveSession records resumable-upload state after the service acknowledged data.
func (s *Store) SaveSession(ctx context.Context, id int64, session []byte, acked int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE jobs SET session=?, acked=?, updated_at=? WHERE id=?`, session, acked, s.now().UnixNano(), id)
	return err
}

// Finished is one job stored and verified.
type Finished struct {
	ID         int64
	RemoteHash string
}

// Done marks jobs stored and verified, in one transaction whose commit is
// fsynced before Done returns: a job is never counted done and then
// forgotten. Callers batch finished jobs to share the fsync.
func (s *Store) Done(ctx context.Context, jobs ...Finished) error {
	now := s.now().UnixNano()
	return s.durable(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE jobs SET state=?, remote_hash=?, session=NULL, last_error='', error_kind='', done_at=?, updated_at=? WHERE id=?`)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if _, err := st.ExecContext(ctx, Done, j.RemoteHash, now, now, j.ID); err != nil {
				return fmt.Errorf("mark job %d done: %w", j.ID, err)
			}
		}
		return nil
	})
}

// Fail records a failed attempt; the job is tried again at next.
// keepSession false drops saved session state (it is useless or harmful).
func (s *Store) Fail(ctx context.Context, id int64, kind, msg string, next time.Time, keepSession bool) (attempts int, err error) {
	if err := s.fault("fail"); err != nil {
		return 0, err
	}
	q := `UPDATE jobs SET state=?, attempts=attempts+1, last_error=?, error_kind=?, next_attempt_at=?, updated_at=?`
	if !keepSession {
		q += `, session=NULL, acked=0`
	}
	q += ` WHERE id=? RETURNING attempts`
	err = s.db.QueryRowContext(ctx, q, Failed, msg, kind, next.UnixNano(), s.now().UnixNano(), id).Scan(&attempts)
	return attempts, err
}

// Requeue returns a claimed job to Pending without counting an attempt
// (shutdown, a closing upload window, a paused destination).
func (s *Store) Requeue(ctx context.Context, id int64, at time.Time) error {
	if err := s.fault("requeue"); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `UPDATE jobs SET state=?, next_attempt_at=?, updated_at=? WHERE id=? AND state=?`,
		Pending, at.UnixNano(), s.now().UnixNano(), id, Uploading)
	return err
}

// Kill marks a job Dead: it cannot succeed as it is.
func (s *Store) Kill(ctx context.Context, id int64, kind, msg string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE jobs SET state=?, attempts=attempts+1, last_error=?, error_kind=?, session=NULL, updated_at=? WHERE id=?`,
		Dead, msg, kind, s.now().UnixNano(), id)
	return err
}

// Supersede marks a claimed job Superseded: its file was rewritten before
// it was sent, and the newer version has its own job.
func (s *Store) Supersede(ctx context.Context, id int64, msg string) error {
	return s.settle(ctx, id, Superseded, msg)
}

// Remove marks a claimed job Removed: its file was deleted from the folder
// before it reached this destination.
func (s *Store) Remove(ctx context.Context, id int64, msg string) error {
	return s.settle(ctx, id, Removed, msg)
}

func (s *Store) settle(ctx context.Context, id int64, st State, msg string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE jobs SET state=?, last_error=?, error_kind='', session=NULL, acked=0, updated_at=? WHERE id=?`,
		st, msg, s.now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("mark job %d %s: %w", id, st, err)
	}
	return nil
}

// Acknowledge records that a person has seen the removed backups (all, or
// one destination's): status stops listing them. It returns how many.
func (s *Store) Acknowledge(ctx context.Context, destination string) (int, error) {
	q := `UPDATE jobs SET acknowledged=1 WHERE state=? AND acknowledged=0`
	args := []any{Removed}
	if destination != "" {
		q += ` AND destination=?`
		args = append(args, destination)
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("acknowledge removed backups: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// MarkAlerted records that a failure notification went out for a job.
func (s *Store) MarkAlerted(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE jobs SET alerted=1 WHERE id=?`, id)
	return err
}

// Retry makes dead and failed jobs due now (all, or one destination's).
func (s *Store) Retry(ctx context.Context, destination string) (int, error) {
	q := `UPDATE jobs SET state='pending', next_attempt_at=0, updated_at=? WHERE state IN ('dead','failed')`
	args := []any{s.now().UnixNano()}
	if destination != "" {
		q += ` AND destination=?`
		args = append(args, destination)
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Jobs lists jobs matching a filter, newest first.
type Filter struct {
	States      []State
	Destination string
	Watch       string
	Limit       int
	Unalerted   bool    // only jobs no failure notification went out for
	Unacked     bool    // only jobs not acknowledged (see Acknowledge)
	Purpose     Purpose // "" for every purpose
	Schedule    string  // only this schedule's copies
	VersionID   int64   // only this version's jobs
}

// InFlight returns the newest uploads under way and the newest failing or
// given-up ones, at most limit of each, read in one statement: a job that
// moves between the two (a retry claimed, an attempt failed) while status
// reads them is in one list or the other, never in neither.
func (s *Store) InFlight(ctx context.Context, limit int) (uploading, failing []*Job, err error) {
	q := `SELECT ` + jobColumns + ` FROM jobs j JOIN versions v ON v.id=j.version_id
		WHERE j.id IN (SELECT id FROM (
			SELECT id, ROW_NUMBER() OVER (PARTITION BY state=? ORDER BY updated_at DESC, id DESC) AS n
			FROM jobs WHERE state IN (?,?,?)) WHERE n<=?)
		ORDER BY j.updated_at DESC, j.id DESC`
	rows, err := s.db.QueryContext(ctx, q, string(Uploading), string(Uploading), string(Failed), string(Dead), limit)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, nil, err
		}
		if j.State == Uploading {
			uploading = append(uploading, j)
		} else {
			failing = append(failing, j)
		}
	}
	return uploading, failing, rows.Err()
}

func (s *Store) Jobs(ctx context.Context, f Filter) ([]*Job, error) {
	q := `SELECT ` + jobColumns + ` FROM jobs j JOIN versions v ON v.id=j.version_id WHERE 1=1`
	var args []any
	if len(f.States) > 0 {
		q += ` AND j.state IN (` + strings.TrimSuffix(strings.Repeat("?,", len(f.States)), ",") + `)`
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if f.Destination != "" {
		q += ` AND j.destination=?`
		args = append(args, f.Destination)
	}
	if f.Watch != "" {
		q += ` AND v.watch=?`
		args = append(args, f.Watch)
	}
	if f.Purpose != "" {
		q += ` AND j.purpose=?`
		args = append(args, string(f.Purpose))
	}
	if f.Schedule != "" {
		q += ` AND j.schedule=?`
		args = append(args, f.Schedule)
	}
	if f.VersionID != 0 {
		q += ` AND j.version_id=?`
		args = append(args, f.VersionID)
	}
	if f.Unalerted {
		q += ` AND j.alerted=0`
	}
	if f.Unacked {
		q += ` AND j.acknowledged=0`
	}
	q += ` ORDER BY j.updated_at DESC, j.id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
