package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Day sums up one calendar day of uploads, for the status page's chart.
type Day struct {
	Date  time.Time // midnight at the start of the day, in the location asked for
	Files int       // uploads stored and verified that day
	Bytes int64     // their size
	// Retried counts, of Files, those that failed at least once first.
	Retried int
	// Failing counts uploads that failed and have not gone through yet
	// (waiting for a retry, being retried, or given up), on the day of
	// their latest attempt.
	Failing int
}

// Daily returns the last n calendar days in loc up to and including the
// day of now, oldest first, one entry per day (days without uploads are
// zero), counting the uploads to the destinations named. The queue keeps
// no log of attempts, so a failure shows on the day of the job's latest
// attempt, or, when the upload went through in the end, as Retried on the
// day it did.
func (s *Store) Daily(ctx context.Context, destinations []string, n int, now time.Time, loc *time.Location) ([]Day, error) {
	if n <= 0 {
		return []Day{}, nil
	}
	now = now.In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	days := make([]Day, n)
	index := map[string]int{}
	for i := range days {
		d := today.AddDate(0, 0, i-(n-1))
		days[i].Date = d
		index[d.Format(time.DateOnly)] = i
	}
	day := func(ns int64) (*Day, bool) {
		i, ok := index[time.Unix(0, ns).In(loc).Format(time.DateOnly)]
		if !ok {
			return nil, false
		}
		return &days[i], true
	}
	since := days[0].Date.UnixNano()
	// One destination at a time, so the lookup is a range of the
	// (destination, done_at) index however long the history is.
	for _, dest := range destinations {
		if err := s.doneSince(ctx, dest, since, day); err != nil {
			return nil, fmt.Errorf("read uploads per day to %s: %w", dest, err)
		}
	}
	// Jobs not done are few: found by state (the jobs_due index), their
	// destinations checked here.
	rows, err := s.db.QueryContext(ctx, `SELECT updated_at, destination FROM jobs
		WHERE state IN (?,?,?,?) AND attempts>0 AND updated_at>=?`, Failed, Dead, Pending, Uploading, since)
	if err != nil {
		return nil, fmt.Errorf("read failures per day: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var at int64
		var dest string
		if err := rows.Scan(&at, &dest); err != nil {
			return nil, fmt.Errorf("read failures per day: %w", err)
		}
		if d, ok := day(at); ok && slices.Contains(destinations, dest) {
			d.Failing++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read failures per day: %w", err)
	}
	return days, nil
}

func (s *Store) doneSince(ctx context.Context, dest string, since int64, day func(int64) (*Day, bool)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT j.done_at, v.size, j.attempts FROM jobs j JOIN versions v ON v.id=j.version_id
		WHERE j.destination=? AND j.done_at>=? AND j.state=?`, dest, since, Done)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var at, size int64
		var attempts int
		if err := rows.Scan(&at, &size, &attempts); err != nil {
			return err
		}
		if d, ok := day(at); ok {
			d.Files++
			d.Bytes += size
			if attempts > 0 {
				d.Retried++
			}
		}
	}
	return rows.Err()
}

// Newest is a watch's newest version and its job at each destination.
type Newest struct {
	Version
	FirstSeen time.Time
	Jobs      []*Job // one per destination the version was routed to
}

// Verified reports whether the version is stored and verified at every
// destination it was routed to.
func (n *Newest) Verified() bool {
	for _, j := range n.Jobs {
		if j.State != Done {
			return false
		}
	}
	return len(n.Jobs) > 0
}

// NewestVersion returns the version of a watch seen last, with its jobs;
// ok is false when the watch has none yet. Versions are numbered as they
// are first seen, so the highest number is the newest: read backwards by
// number (NOT INDEXED keeps SQLite from walking the watch's whole history
// in the watch index instead), and unaffected by a clock set back.
func (s *Store) NewestVersion(ctx context.Context, watch string) (n Newest, ok bool, err error) {
	var id, mt, seen int64
	err = s.db.QueryRowContext(ctx, `SELECT id, rel_path, size, mtime_ns, sha256, first_seen FROM versions NOT INDEXED
		WHERE watch=? ORDER BY id DESC LIMIT 1`, watch).Scan(&id, &n.Rel, &n.Size, &mt, &n.SHA256, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return n, false, nil
	}
	if err != nil {
		return n, false, fmt.Errorf("read the newest backup of %s: %w", watch, err)
	}
	n.Watch, n.ModTime, n.FirstSeen = watch, time.Unix(0, mt), time.Unix(0, seen)
	rows, err := s.db.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs j JOIN versions v ON v.id=j.version_id
		WHERE j.version_id=? ORDER BY j.destination`, id)
	if err != nil {
		return n, false, fmt.Errorf("read the uploads of %s/%s: %w", watch, n.Rel, err)
	}
	defer rows.Close()
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return n, false, fmt.Errorf("read the uploads of %s/%s: %w", watch, n.Rel, err)
		}
		n.Jobs = append(n.Jobs, j)
	}
	return n, true, rows.Err()
}
