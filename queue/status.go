package queue

import (
	"context"
	"time"
)

// DestinationStatus sums up one destination's jobs.
type DestinationStatus struct {
	Destination string        `json:"destination"`
	Counts      map[State]int `json:"counts"`
	Bytes       int64         `json:"bytes_done"`
	LastSuccess time.Time     `json:"last_success,omitzero"`
}

// Summary counts jobs per destination and state.
func (s *Store) Summary(ctx context.Context) ([]DestinationStatus, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT j.destination, j.state, COUNT(*), SUM(CASE WHEN j.state='done' THEN v.size ELSE 0 END), MAX(j.done_at)
		FROM jobs j JOIN versions v ON v.id=j.version_id GROUP BY j.destination, j.state ORDER BY j.destination`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DestinationStatus
	idx := map[string]int{}
	for rows.Next() {
		var dest, state string
		var n int
		var bytes, last int64
		if err := rows.Scan(&dest, &state, &n, &bytes, &last); err != nil {
			return nil, err
		}
		i, ok := idx[dest]
		if !ok {
			i = len(out)
			idx[dest] = i
			out = append(out, DestinationStatus{Destination: dest, Counts: map[State]int{}})
		}
		out[i].Counts[State(state)] = n
		out[i].Bytes += bytes
		if State(state) == Done && last > 0 {
			out[i].LastSuccess = time.Unix(0, last)
		}
	}
	return out, rows.Err()
}

// Depth is the number of jobs not yet done or dead.
func (s *Store) Depth(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE state IN ('pending','uploading','failed')`).Scan(&n)
	return n, err
}

// LastArrival is the first_seen time of the newest version in a watch.
func (s *Store) LastArrival(ctx context.Context, watch string) (time.Time, error) {
	var t *int64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(first_seen) FROM versions WHERE watch=?`, watch).Scan(&t)
	if err != nil || t == nil {
		return time.Time{}, err
	}
	return time.Unix(0, *t), nil
}

// RecentVersions returns the newest n versions of a watch, newest first.
func (s *Store) RecentVersions(ctx context.Context, watch string, n int) ([]Version, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT watch, rel_path, size, mtime_ns, sha256 FROM versions WHERE watch=? ORDER BY first_seen DESC, id DESC LIMIT ?`, watch, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		var mt int64
		if err := rows.Scan(&v.Watch, &v.Rel, &v.Size, &mt, &v.SHA256); err != nil {
			return nil, err
		}
		v.ModTime = time.Unix(0, mt)
		out = append(out, v)
	}
	return out, rows.Err()
}
