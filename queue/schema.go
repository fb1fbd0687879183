package queue

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
	// A destination with compress or encrypt stores a job's version in a
	// stored form: form is its suffix (".zst.age"), fixed when the job is
	// created; stored_size and stored_sha256 describe the bytes sent; and
	// recipients lists the age public keys (or "passphrase") it was
	// encrypted to, so a retired key's backups can be counted.
	`ALTER TABLE jobs ADD COLUMN form TEXT NOT NULL DEFAULT '';
	ALTER TABLE jobs ADD COLUMN stored_size INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN stored_sha256 TEXT NOT NULL DEFAULT '';
	ALTER TABLE jobs ADD COLUMN recipients TEXT NOT NULL DEFAULT '';`,
}
