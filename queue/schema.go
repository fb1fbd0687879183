package queue

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migrations are applied in order; meta.schema_version records how many ran.
// Append only: never edit a migration that has shipped.
var migrations = []string{
	`CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
	CREATE TABLE versions(
		id INTEGER PRIMARY KEY,
		watch TEXT NOT NULL,
		rel_path TEXT NOT NULL,
		size INTEGER NOT NULL,
		mtime_ns INTEGER NOT NULL,
		sha256 TEXT NOT NULL,
		first_seen INTEGER NOT NULL,
		UNIQUE(watch, rel_path, sha256));
	CREATE INDEX versions_seen ON versions(watch, rel_path, size, mtime_ns);
	CREATE TABLE jobs(
		id INTEGER PRIMARY KEY,
		version_id INTEGER NOT NULL REFERENCES versions(id),
		destination TEXT NOT NULL,
		remote_path TEXT NOT NULL,
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		next_attempt_at INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT '',
		error_kind TEXT NOT NULL DEFAULT '',
		session BLOB,
		acked INTEGER NOT NULL DEFAULT 0,
		remote_hash TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		done_at INTEGER NOT NULL DEFAULT 0,
		alerted INTEGER NOT NULL DEFAULT 0,
		UNIQUE(version_id, destination),
		UNIQUE(destination, remote_path));
	CREATE INDEX jobs_due ON jobs(state, next_attempt_at);
	CREATE INDEX jobs_done ON jobs(destination, done_at);
	CREATE TABLE pauses(
		destination TEXT PRIMARY KEY,
		reason TEXT NOT NULL,
		message TEXT NOT NULL,
		since INTEGER NOT NULL,
		retry_at INTEGER NOT NULL,
		probes INTEGER NOT NULL DEFAULT 0);
	CREATE TABLE outbox(
		id INTEGER PRIMARY KEY,
		channel TEXT NOT NULL,
		dedupe_key TEXT NOT NULL,
		payload BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		sent_at INTEGER NOT NULL DEFAULT 0,
		attempts INTEGER NOT NULL DEFAULT 0,
		next_attempt_at INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT '',
		UNIQUE(channel, dedupe_key));
	CREATE INDEX outbox_due ON outbox(sent_at, next_attempt_at);`,
	// Superseded and removed jobs were stored as dead with error_kind
	// 'superseded'; they get their own states so they no longer count as
	// given up. Old removals were already told in a run report: they start
	// acknowledged rather than reappear in status.
	`ALTER TABLE jobs ADD COLUMN acknowledged INTEGER NOT NULL DEFAULT 0;
	UPDATE jobs SET state='removed', acknowledged=1
		WHERE state='dead' AND error_kind='superseded' AND last_error LIKE '%was removed before it was sent%';
	UPDATE jobs SET state='superseded' WHERE state='dead' AND error_kind='superseded';`,
	// remote_key is remote_path as the destination compares names (case
	// folded, Unicode normalised, per its adapter's rules): two jobs of one
	// destination never share a key, so two files never share one name
	// there. Rows are (re)keyed by SetNameKey; until then the key is the
	// path itself.
	`ALTER TABLE jobs ADD COLUMN remote_key TEXT;
	UPDATE jobs SET remote_key=remote_path;
	CREATE UNIQUE INDEX jobs_remote_key ON jobs(destination, remote_key);`,
	// refusals are files seen but not queued (a link in a backup's place,
	// an unreadable file): nothing else would keep status red for them.
	`CREATE TABLE refusals(
		watch TEXT NOT NULL,
		rel_path TEXT NOT NULL,
		reason TEXT NOT NULL,
		message TEXT NOT NULL,
		since INTEGER NOT NULL,
		PRIMARY KEY(watch, rel_path));`,
	// digests keeps a version's hashes in its destinations' kinds from the
	// intake pass, so an upload does not read the file again to learn them.
	`ALTER TABLE versions ADD COLUMN digests TEXT NOT NULL DEFAULT '';`,
	// A job has a purpose: a routine upload of a watched file, or a
	// schedule's copy (its own remote path under the schedule's folder).
	// One version may have one job of each per destination, so the unique
	// constraint on (version_id, destination) widens; SQLite cannot alter a
	// constraint, so the Go step (rebuildJobs) copies the table. The Go
	// step then moves the schedules' JSON copy records into done copy jobs
	// and their run times into schedule_runs.
	`-- then: purposes
	ALTER TABLE jobs ADD COLUMN purpose TEXT NOT NULL DEFAULT 'routine';
	ALTER TABLE jobs ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
	CREATE TABLE schedule_runs(
		schedule TEXT PRIMARY KEY,
		first_seen INTEGER NOT NULL DEFAULT 0,
		last_run INTEGER NOT NULL DEFAULT 0,
		run_version INTEGER NOT NULL DEFAULT 0,
		run_started INTEGER NOT NULL DEFAULT 0,
		run_due INTEGER NOT NULL DEFAULT 0,
		run_late INTEGER NOT NULL DEFAULT 0,
		retry_at INTEGER NOT NULL DEFAULT 0);`,
	// The small facts kept in meta under spelled-out keys get tables: per
	// watch (watch "*" stands for every watch), per destination, and
	// markers of things done once. moveMeta moves the rows.
	`-- then: typed state
	CREATE TABLE watch_state(
		watch TEXT PRIMARY KEY,
		watching_since INTEGER NOT NULL DEFAULT 0,
		small_judged TEXT NOT NULL DEFAULT '',
		silence_until INTEGER NOT NULL DEFAULT 0,
		hold_until INTEGER NOT NULL DEFAULT 0);
	CREATE TABLE failing(
		destination TEXT PRIMARY KEY,
		since INTEGER NOT NULL);
	CREATE TABLE marks(
		kind TEXT NOT NULL,
		key TEXT NOT NULL,
		at INTEGER NOT NULL,
		PRIMARY KEY(kind, key));`,
	// A destination with compress or encrypt stores a job's version in a
	// stored form: form is its suffix (".zst.age"), fixed when the job is
	// created; stored_size and stored_sha256 describe the bytes sent; and
	// recipients lists the age public keys (or "passphrase") it was
	// encrypted to, so a retired key's backups can be counted.
	`ALTER TABLE jobs ADD COLUMN form TEXT NOT NULL DEFAULT '';
	ALTER TABLE jobs ADD COLUMN stored_size INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN stored_sha256 TEXT NOT NULL DEFAULT '';
	ALTER TABLE jobs ADD COLUMN recipients TEXT NOT NULL DEFAULT '';`,
	// Test restores: drills is one row (when the last drill ran, its
	// outcome line, when one last restored in full, and the newest copy
	// tested); restore_failures keeps each copy whose last test restore
	// failed until a later one passes or it is uploaded again.
	`CREATE TABLE drills(
		id INTEGER PRIMARY KEY CHECK(id=1),
		last_run INTEGER NOT NULL DEFAULT 0,
		full_ok INTEGER NOT NULL DEFAULT 0,
		result TEXT NOT NULL DEFAULT '',
		tested_at INTEGER NOT NULL DEFAULT 0,
		tested_destination TEXT NOT NULL DEFAULT '',
		tested_remote TEXT NOT NULL DEFAULT '',
		tested_watch TEXT NOT NULL DEFAULT '',
		tested_file TEXT NOT NULL DEFAULT '',
		tested_error TEXT NOT NULL DEFAULT '');
	CREATE TABLE restore_failures(
		destination TEXT NOT NULL,
		remote_path TEXT NOT NULL,
		error TEXT NOT NULL,
		at INTEGER NOT NULL,
		PRIMARY KEY(destination, remote_path));`,
	// The running daemon's heartbeat: status believes a backup is on its
	// way only while something runs to send it.
	`CREATE TABLE daemon(
		id INTEGER PRIMARY KEY CHECK(id=1),
		pid INTEGER NOT NULL DEFAULT 0,
		started INTEGER NOT NULL DEFAULT 0,
		beat INTEGER NOT NULL DEFAULT 0,
		stopped INTEGER NOT NULL DEFAULT 0);`,
}

// steps are Go code a migration runs after its SQL, in its transaction,
// for changes SQL alone cannot make. A migration names its step in a
// first line "-- then: NAME", so the step stays with its SQL wherever the
// migration sits in the list.
var steps = map[string]func(ctx context.Context, tx *sql.Tx) error{
	"purposes": func(ctx context.Context, tx *sql.Tx) error {
		if err := rebuildJobs(ctx, tx); err != nil {
			return err
		}
		if err := moveCopyRecords(ctx, tx); err != nil {
			return err
		}
		return moveScheduleTimes(ctx, tx)
	},
	"typed state": moveMeta,
}

// stepOf returns the Go step a migration names, or nil.
func stepOf(migration string) (func(ctx context.Context, tx *sql.Tx) error, error) {
	first, _, _ := strings.Cut(migration, "\n")
	name, ok := strings.CutPrefix(first, "-- then: ")
	if !ok {
		return nil, nil
	}
	if step := steps[name]; step != nil {
		return step, nil
	}
	return nil, fmt.Errorf("migration names an unknown step %q", name)
}
