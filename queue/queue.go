// Package queue is offsite's durable job store: one row per file version,
// one job per version × destination, and the outbox of notifications, in
// one SQLite database (pure Go, WAL, every commit synced). A crash, kill -9
// or power cut at any point loses nothing and duplicates nothing: jobs are
// at-least-once, and the remote path of each is decided once, when it is
// created, so a retry can never pick a second name for the same version.
package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite"
)

// State is a job's place in its life.
type State string

const (
	Pending   State = "pending"   // waiting for a worker
	Uploading State = "uploading" // claimed by a worker
	Done      State = "done"      // stored and verified
	Failed    State = "failed"    // waiting for next_attempt_at
	Dead      State = "dead"      // cannot succeed as it is (permanent error); kept for status and alerts
	// Superseded: the file was rewritten before it was sent; its newer
	// version has its own job. Normal, never retried, never an alert.
	Superseded State = "superseded"
	// Removed: the file was deleted from the folder before it was sent to
	// this destination. Nothing can retry it; it is alerted once and shown
	// in status until a person acknowledges it (`offsite ack`).
	Removed State = "removed"
)

// Store is the queue database. Safe for concurrent use.
type Store struct {
	db     *sql.DB
	now    func() time.Time
	faults faults

	mu    sync.Mutex
	keys  map[string]func(string) string // destination → name key; see SetNameKey
	forms map[string]string              // destination → stored-form suffix; see SetForm
}

// Open opens (creating and migrating) the database at file.
func Open(file string) (*Store, error) {
	// WAL with synchronous=NORMAL: every commit is atomic and survives a
	// process crash; only Done (see durable) waits for fsync. A power cut
	// can at worst roll back the newest claims and enqueues, which the
	// start-up scan and the adapters' look-before-create redo harmlessly.
	dsn := "file:" + file + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open queue %s: %w", file, err)
	}
	// One connection: SQLite has one writer anyway, and a single
	// connection makes every transaction see the last committed state.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, now: time.Now}
	if err := s.migrate(); err != nil {
		_ = db.Close() // the migration error is the one to report
		return nil, openError(file, err)
	}
	// Upload sessions in the database are credentials: owner only, the
	// write-ahead log and its index included.
	for _, f := range []string{file, file + "-wal", file + "-shm"} {
		if st, err := os.Stat(f); err == nil && st.Mode().Perm()&0o077 != 0 {
			_ = os.Chmod(f, 0o600)
		}
	}
	return s, nil
}

// openError says what to do about a database SQLite finds damaged, or
// not a database at all (a disk fault, or another file copied over it):
// the queue can be rebuilt from the watched folders, and the adapters'
// look-before-create finds the copies already at the destinations.
func openError(file string, err error) error {
	var c interface{ Code() int }
	if errors.As(err, &c) && (c.Code()&0xff == sqliteCorrupt || c.Code()&0xff == sqliteNotADB) {
		return fmt.Errorf("the queue database %s is damaged (%w); "+
			"stop offsite, move %s and any %s-wal and %s-shm beside it out of the state folder, and start offsite again. "+
			"It rebuilds the queue from the watched folders; copies already at the destinations are found, not sent twice",
			file, err, filepath.Base(file), filepath.Base(file), filepath.Base(file))
	}
	return fmt.Errorf("open queue %s: %w", file, err)
}

// SQLite's primary result codes for a damaged file.
const (
	sqliteCorrupt = 11
	sqliteNotADB  = 26
)

// SetClock replaces the clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate() error {
	if _, err := s.db.Exec(`CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`); err != nil {
		return err
	}
	var v int
	err := s.db.QueryRow(`SELECT CAST(value AS INTEGER) FROM meta WHERE key='schema_version'`).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("the queue database was written by a newer offsite (schema %d, this one knows %d): upgrade offsite", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.db.Begin()
		if err != nil {
			return err
		}
		stmt := migrations[i]
		if i == 0 {
			stmt = strings.Replace(stmt, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);", "", 1)
		}
		if _, err := tx.Exec(stmt); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		step, err := stepOf(migrations[i])
		if err == nil && step != nil {
			err = step(context.Background(), tx)
		}
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(`INSERT INTO meta(key,value) VALUES('schema_version',?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`, i+1); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Version is one content of one file in a watch.
type Version struct {
	Watch   string
	Rel     string // slash-separated path in the watch
	Size    int64
	ModTime time.Time
	SHA256  string
	// Digests are its hashes in its destinations' own kinds ("md5",
	// "dropbox", "quickxor"), made in the pass at intake that made SHA256,
	// so an upload knows what the service must report without reading the
	// file a second time. Missing kinds are computed when needed.
	Digests map[string]Digest
}

// Digest is one hash of a version, with its parts for kinds built from
// parts (Dropbox's per-block hashes).
type Digest struct {
	Sum   string   `json:"sum"`
	Parts []string `json:"parts,omitempty"`
}

func encodeDigests(d map[string]Digest) string {
	if len(d) == 0 {
		return ""
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "" // a map of strings always encodes; without it uploads hash again
	}
	return string(b)
}

func decodeDigests(s string) map[string]Digest {
	if s == "" {
		return nil
	}
	var d map[string]Digest
	if json.Unmarshal([]byte(s), &d) != nil {
		return nil // unreadable digests are only a lost shortcut
	}
	return d
}

// Route says which destinations a version goes to.
type Route struct {
	Version
	Destinations []string
}

// Enqueue records versions and creates the missing jobs, all in one
// transaction. Versions already known keep their jobs; identical content at
// the same path is never queued twice. It returns the number of new jobs.
func (s *Store) Enqueue(ctx context.Context, routes []Route) (int, error) {
	if err := s.fault("enqueue"); err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	defer tx.Rollback()
	now := s.now().UnixNano()
	st, err := prepare(ctx, tx,
		`INSERT INTO versions(watch,rel_path,size,mtime_ns,sha256,first_seen,digests) VALUES(?,?,?,?,?,?,?)
			ON CONFLICT(watch,rel_path,sha256) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns,
			digests=CASE WHEN excluded.digests<>'' THEN excluded.digests ELSE versions.digests END
			RETURNING id`,
		`SELECT COUNT(*) FROM jobs WHERE version_id=? AND destination=? AND purpose='routine'`,
		`SELECT COUNT(*) FROM jobs WHERE destination=? AND (remote_key=? OR remote_path=?)`,
		`INSERT INTO jobs(version_id,destination,remote_path,remote_key,state,created_at,updated_at,form) VALUES(?,?,?,?,?,?,?,?)`,
		`DELETE FROM refusals WHERE watch=? AND rel_path=?`)
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	insertVersion, jobExists, nameTaken, insertJob, unrefuse := st[0], st[1], st[2], st[3], st[4]
	created := 0
	for _, r := range routes {
		var vid int64
		err := insertVersion.QueryRowContext(ctx, r.Watch, r.Rel, r.Size, r.ModTime.UnixNano(), r.SHA256, now, encodeDigests(r.Digests)).Scan(&vid)
		if err != nil {
			return 0, fmt.Errorf("enqueue %s/%s: %w", r.Watch, r.Rel, err)
		}
		// Queued now: whatever refused it earlier is over.
		if _, err := unrefuse.ExecContext(ctx, r.Watch, r.Rel); err != nil {
			return 0, fmt.Errorf("enqueue %s/%s: %w", r.Watch, r.Rel, err)
		}
		for _, d := range r.Destinations {
			var exists int
			if err := jobExists.QueryRowContext(ctx, vid, d).Scan(&exists); err != nil {
				return 0, err
			}
			if exists > 0 {
				continue
			}
			key := s.nameKey(d)
			form := s.form(d)
			remote, err := remotePath(ctx, nameTaken, d, key, r.Watch+"/"+r.Rel, form, r.ModTime)
			if err != nil {
				return 0, fmt.Errorf("enqueue %s/%s: %w", r.Watch, r.Rel, err)
			}
			if _, err := insertJob.ExecContext(ctx, vid, d, remote, key(remote), Pending, now, now, form); err != nil {
				return 0, fmt.Errorf("enqueue %s/%s for %s: %w", r.Watch, r.Rel, d, err)
			}
			created++
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	return created, nil
}

// remotePath decides where a version goes at a destination: base
// (<watch>/<rel> for a routine upload), or, when that name already holds other content, the name with the
// version's UTC modification time before the extension
// (data.2026-11-23T180501Z.xlsx). Nothing is ever overwritten. A name is
// taken when its key is: on a destination that ignores case, "kassa.bak"
// after "Kassa.bak" gets the timestamp too. The stored form's suffix
// (form) follows the whole name (data.2026-11-23T180501Z.xlsx.zst.age).
func remotePath(ctx context.Context, nameTaken *sql.Stmt, dest string, key func(string) string, base, form string, mtime time.Time) (string, error) {
	candidates := []string{base}
	stamp := mtime.UTC().Format("2006-01-02T150405Z")
	dir, file := path.Split(base)
	ext := path.Ext(file)
	stem := strings.TrimSuffix(file, ext)
	if stem == "" { // a dot-file such as ".bak": keep the whole name as stem
		stem, ext = file, ""
	}
	candidates = append(candidates, dir+stem+"."+stamp+ext)
	for i := 2; i < 100; i++ {
		candidates = append(candidates, fmt.Sprintf("%s%s.%s-%d%s", dir, stem, stamp, i, ext))
	}
	for _, c := range candidates {
		c += form
		var n int
		if err := nameTaken.QueryRowContext(ctx, dest, key(c), c).Scan(&n); err != nil {
			return "", err
		}
		if n == 0 {
			return c, nil
		}
	}
	return "", fmt.Errorf("no free remote name for %s after 100 tries", base)
}

// SetNameKey sets how dest compares remote names: key maps a remote path
// onto the form under which the destination's service compares it (the
// adapter's providers.NameRules.Key; the queue knows no adapter). Jobs
// enqueued for dest from then on never share a key. The destination's
// existing jobs are keyed again when their keys differ; jobs that already
// share a key (stored before keys existed) keep distinct keys, so the
// reservation never fails on them.
func (s *Store) SetNameKey(ctx context.Context, dest string, key func(string) string) error {
	s.mu.Lock()
	if s.keys == nil {
		s.keys = map[string]func(string) string{}
	}
	s.keys[dest] = key
	s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("key remote names of %s: %w", dest, err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, remote_path, COALESCE(remote_key,'') FROM jobs WHERE destination=? ORDER BY id`, dest)
	if err != nil {
		return fmt.Errorf("key remote names of %s: %w", dest, err)
	}
	type rekey struct {
		id  int64
		key string
	}
	var todo []rekey
	seen := map[string]bool{}
	for rows.Next() {
		var id int64
		var p, old string
		if err := rows.Scan(&id, &p, &old); err != nil {
			rows.Close()
			return fmt.Errorf("key remote names of %s: %w", dest, err)
		}
		k := key(p)
		if seen[k] {
			k += fmt.Sprintf("\x00%d", id) // an old collision: unique, and no candidate name matches it
		}
		seen[k] = true
		if k != old {
			todo = append(todo, rekey{id, k})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("key remote names of %s: %w", dest, err)
	}
	if len(todo) == 0 {
		return nil
	}
	// Clear first: NULLs never collide, so the new keys can go in any order.
	for _, r := range todo {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET remote_key=NULL WHERE id=?`, r.id); err != nil {
			return fmt.Errorf("key remote names of %s: %w", dest, err)
		}
	}
	for _, r := range todo {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET remote_key=? WHERE id=?`, r.key, r.id); err != nil {
			return fmt.Errorf("key remote names of %s: %w", dest, err)
		}
	}
	return tx.Commit()
}

// nameKey returns dest's name key; a destination nobody set compares
// names byte for byte.
func (s *Store) nameKey(dest string) func(string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[dest]; k != nil {
		return k
	}
	return func(p string) string { return p }
}

func prepare(ctx context.Context, tx *sql.Tx, queries ...string) ([]*sql.Stmt, error) {
	out := make([]*sql.Stmt, len(queries))
	for i, q := range queries {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// durable runs fn in a transaction whose commit is fsynced before durable
// returns. Earlier NORMAL commits are in the same WAL, so they become
// durable with it.
func (s *Store) durable(ctx context.Context, fn func(*sql.Tx) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous=FULL`); err != nil {
		return err
	}
	defer func() {
		// Failing leaves this connection syncing every commit: slower, never less safe.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous=NORMAL`)
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Known returns, for every recorded version, the destinations it has
// routine jobs for, keyed by KnownKey. A start-up scan of a large folder checks it in
// memory instead of querying once per file.
func (s *Store) Known(ctx context.Context) (map[string][]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT v.watch, v.rel_path, v.size, v.mtime_ns, j.destination
		FROM versions v JOIN jobs j ON j.version_id=v.id WHERE j.purpose='routine'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var w, r, d string
		var size, mt int64
		if err := rows.Scan(&w, &r, &size, &mt, &d); err != nil {
			return nil, err
		}
		k := KnownKey(w, r, size, time.Unix(0, mt))
		out[k] = append(out[k], d)
	}
	return out, rows.Err()
}

// KnownKey identifies a version by what a directory scan sees.
func KnownKey(watch, rel string, size int64, mtime time.Time) string {
	return fmt.Sprintf("%s\x00%s\x00%d\x00%d", watch, rel, size, mtime.UnixNano())
}
