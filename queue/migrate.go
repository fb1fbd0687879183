package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Jobs' unique key per version and destination, before and after a job
// had a purpose.
const (
	jobKeyRoutine = "UNIQUE(version_id, destination)"
	jobKeyPurpose = "UNIQUE(version_id, destination, purpose, schedule)"
)

// rebuildJobs widens jobs' UNIQUE(version_id, destination) to include the
// purpose and schedule.
func rebuildJobs(ctx context.Context, tx *sql.Tx) error {
	return replaceJobsKey(ctx, tx, jobKeyRoutine, jobKeyPurpose)
}

// replaceJobsKey replaces one table constraint of jobs. The table is copied under its stored definition
// with only that constraint changed, so columns added by other migrations
// travel along unchanged; its indexes are made again afterwards.
func replaceJobsKey(ctx context.Context, tx *sql.Tx, oldKey, newKey string) error {
	var create string
	if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type='table' AND name='jobs'`).Scan(&create); err != nil {
		return fmt.Errorf("read the jobs table: %w", err)
	}
	create = strings.Replace(create, `CREATE TABLE "jobs"(`, "CREATE TABLE jobs(", 1) // as a rename stores it
	if !strings.Contains(create, oldKey) || !strings.HasPrefix(create, "CREATE TABLE jobs(") {
		return fmt.Errorf("the jobs table is not as expected (%q)", create)
	}
	create = strings.Replace(create, oldKey, newKey, 1)
	create = "CREATE TABLE jobs_rebuilt(" + strings.TrimPrefix(create, "CREATE TABLE jobs(")
	rows, err := tx.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='jobs' AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	var indexes []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		indexes = append(indexes, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	stmts := append([]string{create, `INSERT INTO jobs_rebuilt SELECT * FROM jobs`, `DROP TABLE jobs`,
		`ALTER TABLE jobs_rebuilt RENAME TO jobs`}, indexes...)
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("rebuild the jobs table: %w", err)
		}
	}
	return nil
}

// moveCopyRecords turns the copies schedules recorded as JSON under
// meta "schedule/<name>/copies/<destination>" into done copy jobs, so
// retention and "already copied" read them from jobs like any upload.
func moveCopyRecords(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT key, value FROM meta WHERE key LIKE 'schedule/%/copies/%'`)
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
	now := time.Now().UnixNano()
	for _, r := range all {
		name, dest, ok := strings.Cut(strings.TrimPrefix(r.key, "schedule/"), "/copies/")
		if !ok {
			continue
		}
		var recs []struct {
			Path   string    `json:"path"`
			Time   time.Time `json:"time"`
			SHA256 string    `json:"sha256"`
		}
		if err := json.Unmarshal([]byte(r.value), &recs); err != nil {
			return fmt.Errorf("schedule %s copies at %s: %w", name, dest, err)
		}
		for _, c := range recs {
			// The copy's source is a queued version (a schedule copies
			// only those): the one of that content, at that time if several.
			var vid int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM versions WHERE sha256=? ORDER BY mtime_ns=? DESC, id LIMIT 1`,
				c.SHA256, c.Time.UnixNano()).Scan(&vid)
			if err == sql.ErrNoRows {
				continue // nothing left to tie it to; it was never offsite's to prune
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO jobs(version_id,destination,remote_path,remote_key,state,
				created_at,updated_at,done_at,purpose,schedule) VALUES(?,?,?,?,?,?,?,?,?,?)`,
				vid, dest, c.Path, c.Path, Done, now, now, now, ScheduleCopy, name); err != nil {
				return fmt.Errorf("schedule %s copy %s at %s: %w", name, c.Path, dest, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM meta WHERE key=?`, r.key); err != nil {
			return err
		}
	}
	return nil
}

// moveScheduleTimes moves meta "schedule/<name>/last_run" and
// "…/first_seen" into schedule_runs.
func moveScheduleTimes(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT key, value FROM meta WHERE key LIKE 'schedule/%/last_run' OR key LIKE 'schedule/%/first_seen'`)
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
	for _, r := range all {
		rest := strings.TrimPrefix(r.key, "schedule/")
		i := strings.LastIndex(rest, "/")
		name, field := rest[:i], rest[i+1:]
		t, err := time.Parse(time.RFC3339Nano, r.value)
		if err == nil {
			// field is one of two column names, from the LIKE above.
			if _, err := tx.ExecContext(ctx, `INSERT INTO schedule_runs(schedule,`+field+`) VALUES(?,?)
				ON CONFLICT(schedule) DO UPDATE SET `+field+`=excluded.`+field, name, t.UnixNano()); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM meta WHERE key=?`, r.key); err != nil {
			return err
		}
	}
	return nil
}
