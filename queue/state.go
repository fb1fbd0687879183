package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// allWatches is the watch_state row that applies to every watch (a watch
// name never holds '*').
const allWatches = "*"

func watchRow(watch string) string {
	if watch == "" {
		return allWatches
	}
	return watch
}

// WatchingSince returns when offsite began watching a watch, recording at
// as that time the first time it is asked.
func (s *Store) WatchingSince(ctx context.Context, watch string, at time.Time) (time.Time, error) {
	var ns int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO watch_state(watch, watching_since) VALUES(?,?)
		ON CONFLICT(watch) DO UPDATE SET watching_since=CASE WHEN watching_since=0 THEN excluded.watching_since ELSE watching_since END
		RETURNING watching_since`, watch, at.UnixNano()).Scan(&ns)
	if err != nil {
		return at, fmt.Errorf("record when watching %s began: %w", watch, err)
	}
	return time.Unix(0, ns), nil
}

// WatchedSince is WatchingSince for readers: zero when not recorded yet.
func (s *Store) WatchedSince(ctx context.Context, watch string) (time.Time, error) {
	var ns int64
	err := s.db.QueryRowContext(ctx, `SELECT watching_since FROM watch_state WHERE watch=?`, watch).Scan(&ns)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read when watching %s began: %w", watch, err)
	}
	return unixOrZero(ns), nil
}

// SmallJudged returns the SHA-256 of the newest backup of a watch that the
// small-backup check judged; ok is false when it never judged one.
func (s *Store) SmallJudged(ctx context.Context, watch string) (sum string, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT small_judged FROM watch_state WHERE watch=?`, watch).Scan(&sum)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return sum, err == nil && sum != "", err
}

// SetSmallJudged records the newest backup the small-backup check judged.
func (s *Store) SetSmallJudged(ctx context.Context, watch, sum string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO watch_state(watch, small_judged) VALUES(?,?)
		ON CONFLICT(watch) DO UPDATE SET small_judged=excluded.small_judged`, watch, sum)
	return err
}

// Silence silences missed-backup alerts of a watch ("" = every watch)
// until t; with hold its uploads also wait until then.
func (s *Store) Silence(ctx context.Context, watch string, until time.Time, hold bool) error {
	q := `INSERT INTO watch_state(watch, silence_until, hold_until) VALUES(?,?,?)
		ON CONFLICT(watch) DO UPDATE SET silence_until=excluded.silence_until`
	holdNs := int64(0)
	if hold {
		q += `, hold_until=excluded.hold_until`
		holdNs = until.UnixNano()
	}
	if _, err := s.db.ExecContext(ctx, q, watchRow(watch), until.UnixNano(), holdNs); err != nil {
		return fmt.Errorf("record the pause: %w", err)
	}
	return nil
}

// EndSilence ends a watch's silence and hold; "" ends every watch's.
func (s *Store) EndSilence(ctx context.Context, watch string) error {
	q, args := `UPDATE watch_state SET silence_until=0, hold_until=0 WHERE watch=?`, []any{watchRow(watch)}
	if watch == "" {
		q, args = `UPDATE watch_state SET silence_until=0, hold_until=0`, nil
	}
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("end the pause: %w", err)
	}
	return nil
}

// SilencedUntil returns the end of a watch's silence as stored (its own or
// every watch's, whichever is later), passed or not; zero when none.
func (s *Store) SilencedUntil(ctx context.Context, watch string) (time.Time, error) {
	return s.latestOf(ctx, "silence_until", watch)
}

// HeldUntil is SilencedUntil for the hold on a watch's uploads.
func (s *Store) HeldUntil(ctx context.Context, watch string) (time.Time, error) {
	return s.latestOf(ctx, "hold_until", watch)
}

func (s *Store) latestOf(ctx context.Context, column, watch string) (time.Time, error) {
	var ns sql.NullInt64
	// column is one of two names given above.
	err := s.db.QueryRowContext(ctx, `SELECT MAX(`+column+`) FROM watch_state WHERE watch IN (?, ?)`, watch, allWatches).Scan(&ns)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the pause of %s: %w", watch, err)
	}
	return unixOrZero(ns.Int64), nil
}

// StartFailing records that uploads to dest are failing since at; it
// reports whether this starts a new episode (one alert per episode).
func (s *Store) StartFailing(ctx context.Context, dest string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO failing(destination, since) VALUES(?,?) ON CONFLICT(destination) DO NOTHING`, dest, at.UnixNano())
	if err != nil {
		return true, fmt.Errorf("record that uploads to %s fail: %w", dest, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// StopFailing ends dest's failing episode and returns when it began; was
// is false when none was recorded.
func (s *Store) StopFailing(ctx context.Context, dest string) (since time.Time, was bool, err error) {
	var ns int64
	err = s.db.QueryRowContext(ctx, `DELETE FROM failing WHERE destination=? RETURNING since`, dest).Scan(&ns)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("clear the failing record of %s: %w", dest, err)
	}
	return time.Unix(0, ns), true, nil
}

// Things done once, recorded in marks.
const (
	markDailyReport  = "daily_report"   // key: the day, 2006-01-02
	markSilenceEnded = "silence_ended"  // key: watch/silence end in UTC
	markPrune        = "prune"          // key: last_run
	markWeekly       = "weekly"         // key: since
	markCopies       = "copies_checked" // key: destination
)

// MarkCopiesChecked records that the daily look at dest's stored copies
// asked the service at.
func (s *Store) MarkCopiesChecked(ctx context.Context, dest string, at time.Time) error {
	if err := s.mark(ctx, markCopies, dest, at); err != nil {
		return fmt.Errorf("record the look at %s's copies: %w", dest, err)
	}
	return nil
}

// CopiesChecked returns when each destination's stored copies were last
// looked at by the daily look.
func (s *Store) CopiesChecked(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, at FROM marks WHERE kind=?`, markCopies)
	if err != nil {
		return nil, fmt.Errorf("read when copies were checked: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var dest string
		var ns int64
		if err := rows.Scan(&dest, &ns); err != nil {
			return nil, err
		}
		out[dest] = time.Unix(0, ns)
	}
	return out, rows.Err()
}

func (s *Store) marked(ctx context.Context, kind, key string) (time.Time, bool, error) {
	var ns int64
	err := s.db.QueryRowContext(ctx, `SELECT at FROM marks WHERE kind=? AND key=?`, kind, key).Scan(&ns)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return time.Unix(0, ns), true, nil
}

func (s *Store) mark(ctx context.Context, kind, key string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO marks(kind, key, at) VALUES(?,?,?) ON CONFLICT(kind, key) DO UPDATE SET at=excluded.at`,
		kind, key, at.UnixNano())
	return err
}

// DailyReportSent reports whether the daily report of day (a local date)
// went out.
func (s *Store) DailyReportSent(ctx context.Context, day time.Time) (bool, error) {
	_, ok, err := s.marked(ctx, markDailyReport, day.Format(time.DateOnly))
	return ok, err
}

// MarkDailyReport records that the daily report of day went out at.
func (s *Store) MarkDailyReport(ctx context.Context, day, at time.Time) error {
	return s.mark(ctx, markDailyReport, day.Format(time.DateOnly), at)
}

func silenceEndKey(watch string, until time.Time) string {
	return watch + "/" + until.UTC().Format(time.RFC3339)
}

// SilenceEndNoted reports whether the end of a watch's silence (until)
// was already told.
func (s *Store) SilenceEndNoted(ctx context.Context, watch string, until time.Time) (bool, error) {
	_, ok, err := s.marked(ctx, markSilenceEnded, silenceEndKey(watch, until))
	return ok, err
}

// NoteSilenceEnd records that the end of a watch's silence was told.
func (s *Store) NoteSilenceEnd(ctx context.Context, watch string, until, at time.Time) error {
	return s.mark(ctx, markSilenceEnded, silenceEndKey(watch, until), at)
}

// LastPrune returns when retention last ran from the daemon (zero: never).
func (s *Store) LastPrune(ctx context.Context) (time.Time, error) {
	t, _, err := s.marked(ctx, markPrune, "last_run")
	return t, err
}

// SetLastPrune records when retention ran.
func (s *Store) SetLastPrune(ctx context.Context, at time.Time) error {
	return s.mark(ctx, markPrune, "last_run", at)
}

// WeeklySince returns since when weekly summaries are due (the first
// check records at): a week in which offsite was first started sends none.
func (s *Store) WeeklySince(ctx context.Context, at time.Time) (time.Time, error) {
	t, ok, err := s.marked(ctx, markWeekly, "since")
	if err != nil || ok {
		return t, err
	}
	return at, s.mark(ctx, markWeekly, "since", at)
}

// moveMeta moves the facts kept in meta under spelled-out keys into the
// tables that now hold them. A value that does not parse is dropped: at
// worst an alert or note is sent once more.
func moveMeta(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT key, value FROM meta WHERE key <> 'schema_version'`)
	if err != nil {
		return err
	}
	type kv struct{ key, value string }
	var all []kv
	for rows.Next() {
		var r kv
		if err := rows.Scan(&r.key, &r.value); err != nil {
			rows.Close()
			return err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	watchCol := func(col, watch string, v any) error {
		// col is one of the watch_state columns named below.
		_, err := tx.ExecContext(ctx, `INSERT INTO watch_state(watch, `+col+`) VALUES(?,?)
			ON CONFLICT(watch) DO UPDATE SET `+col+`=excluded.`+col, watch, v)
		return err
	}
	markRow := func(kind, key string, at int64) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO marks(kind, key, at) VALUES(?,?,?)`, kind, key, at)
		return err
	}
	for _, r := range all {
		prefix, rest, _ := strings.Cut(r.key, "/")
		t, terr := time.Parse(time.RFC3339Nano, r.value)
		ns := t.UnixNano()
		var err error
		switch {
		case prefix == "small_judged":
			err = watchCol("small_judged", rest, r.value)
		case terr != nil:
			if prefix != "failing" && prefix != "watching_since" && prefix != "silence" && prefix != "hold" &&
				prefix != "silence_ended" && prefix != "report" && prefix != "prune" && prefix != "weekly" {
				continue // not ours to move
			}
		case prefix == "failing":
			_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO failing(destination, since) VALUES(?,?)`, rest, ns)
		case prefix == "watching_since":
			err = watchCol("watching_since", rest, ns)
		case prefix == "silence":
			err = watchCol("silence_until", rest, ns)
		case prefix == "hold":
			err = watchCol("hold_until", rest, ns)
		case prefix == "silence_ended":
			err = markRow(markSilenceEnded, rest, ns)
		case r.key == "weekly/since":
			err = markRow(markWeekly, "since", ns)
		case r.key == "prune/last_run":
			err = markRow(markPrune, "last_run", ns)
		case strings.HasPrefix(r.key, "report/daily/"):
			err = markRow(markDailyReport, strings.TrimPrefix(r.key, "report/daily/"), ns)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("move %s: %w", r.key, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM meta WHERE key=?`, r.key); err != nil {
			return err
		}
	}
	return nil
}
