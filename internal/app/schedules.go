package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/retention"
	"github.com/offsite-backup/offsite/schedule"
)

// scheduleRetry is how long a schedule that failed waits before it is
// tried again (its destination may be down for a while).
const scheduleRetry = 10 * time.Minute

// pruneEvery is how often the daemon applies the destinations' keep rules.
const pruneEvery = 24 * time.Hour

// RunSchedules runs due schedules until ctx ends, looking every 30 s, and
// once a day applies the destinations' keep rules. Runs, late runs,
// failures and deletions go into the run report through the daemon.
func (a *App) RunSchedules(ctx context.Context, p *pipeline, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	note := func(string) {}
	if p != nil && p.daemon != nil {
		note = p.daemon.AddNote
	}
	retryAt := map[string]time.Time{} // schedule → no attempt before, after a failure
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		a.runDueSchedules(ctx, now(), retryAt, note)
		a.maybePrune(ctx, now(), note)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func lastRunKey(name string) string   { return "schedule/" + name + "/last_run" }
func firstSeenKey(name string) string { return "schedule/" + name + "/first_seen" }
func copiesKey(name, dest string) string {
	return "schedule/" + name + "/copies/" + dest
}

// runDueSchedules runs every schedule due at now, once each.
func (a *App) runDueSchedules(ctx context.Context, now time.Time, retryAt map[string]time.Time, note func(string)) {
	for i := range a.Cfg.Schedules {
		s := &a.Cfg.Schedules[i]
		if ctx.Err() != nil {
			return
		}
		if now.Before(retryAt[s.Name]) {
			continue
		}
		sched := schedule.Schedule{Name: s.Name, Cron: s.Cron, Location: s.Location()}
		last := a.timeMeta(ctx, lastRunKey(s.Name))
		if last.IsZero() {
			// A schedule never run counts from when it was first seen, so
			// adding one does not fire it at once for the past.
			last = a.timeMeta(ctx, firstSeenKey(s.Name))
			if last.IsZero() {
				a.setTimeMeta(ctx, firstSeenKey(s.Name), now)
				continue
			}
		}
		due, late, at := schedule.Due(sched, last, now)
		if !due {
			continue
		}
		log := a.Log.With("schedule", s.Name)
		if late {
			log.Info("running a schedule missed while offsite was not running", "due", at)
		}
		copied, err := a.runSchedule(ctx, s, now, note)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			retryAt[s.Name] = now.Add(scheduleRetry)
			log.Error("schedule failed; trying again later", "retry_in", scheduleRetry, "err", err)
			note(fmt.Sprintf("schedule %s failed (will try again in %s): %v", s.Name, scheduleRetry, err))
			continue
		}
		delete(retryAt, s.Name)
		a.setTimeMeta(ctx, lastRunKey(s.Name), now)
		msg := fmt.Sprintf("schedule %s copied %s", s.Name, strings.Join(copied, ", "))
		if late {
			msg += fmt.Sprintf(" — ran late: it was due %s (offsite was not running then)", at.Format("Mon 2006-01-02 15:04 MST"))
		}
		log.Info("schedule ran", "copied", copied, "late", late)
		note(msg)
	}
}

// copyRecord is one file a schedule copied, kept in meta: schedule
// retention only ever considers these, never what a listing finds.
type copyRecord struct {
	Path   string    `json:"path"`
	Time   time.Time `json:"time"` // the source version's time
	SHA256 string    `json:"sha256"`
}

// runSchedule copies the newest complete backup of the schedule's watch to
// each of its destinations and applies the schedule's keep there. It
// returns "dest:path" per copy; an error leaves the run to be repeated
// (copies already made are found and skipped then).
func (a *App) runSchedule(ctx context.Context, s *config.Schedule, now time.Time, note func(string)) ([]string, error) {
	w := a.Cfg.Watch(s.CopyLatest)
	if w == nil {
		return nil, fmt.Errorf("schedule %s: no watch named %q", s.Name, s.CopyLatest)
	}
	src, err := a.latestSource(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: %w", s.Name, err)
	}
	var copied []string
	var errs []error
	for _, dn := range s.Destinations {
		rec, err := a.copyTo(ctx, s, w, src, dn)
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule %s to %s: %w", s.Name, dn, err))
			continue
		}
		copied = append(copied, dn+":"+rec.Path)
		if !s.Keep.IsZero() {
			if _, err := a.pruneScheduleCopies(ctx, s, dn, false, io.Discard, note); err != nil {
				errs = append(errs, fmt.Errorf("schedule %s keep at %s: %w", s.Name, dn, err))
			}
		}
	}
	return copied, errors.Join(errs...)
}

// latestSource returns the newest version of a watch whose file is still
// as it was queued, preferring versions already uploaded somewhere (known
// complete and good).
func (a *App) latestSource(ctx context.Context, w *config.Watch) (queue.Version, error) {
	jobs, err := a.Store.Jobs(ctx, queue.Filter{Watch: w.Name, States: []queue.State{queue.Done, queue.Pruned}})
	if err != nil {
		return queue.Version{}, err
	}
	var cands []queue.Version
	for _, j := range jobs {
		cands = append(cands, j.Version)
	}
	recent, err := a.Store.RecentVersions(ctx, w.Name, 10)
	if err != nil {
		return queue.Version{}, err
	}
	sortNewest := func(vs []queue.Version) {
		slices.SortStableFunc(vs, func(x, y queue.Version) int { return y.ModTime.Compare(x.ModTime) })
	}
	sortNewest(cands)
	sortNewest(recent)
	for _, v := range append(cands, recent...) {
		st, err := os.Stat(filepath.Join(w.Path, filepath.FromSlash(v.Rel)))
		if err == nil && st.Mode().IsRegular() && st.Size() == v.Size && st.ModTime().Equal(v.ModTime) {
			return v, nil
		}
	}
	return queue.Version{}, fmt.Errorf("watch %s has no backup file to copy yet (none uploaded and still in %s)", w.Name, w.Path)
}

// copyTo uploads src to <folder>/<watch>/<file name> at one destination,
// unless the same content is already there, and records the copy.
func (a *App) copyTo(ctx context.Context, s *config.Schedule, w *config.Watch, src queue.Version, dest string) (copyRecord, error) {
	d, err := a.destination(dest)
	if err != nil {
		return copyRecord{}, err
	}
	p, err := a.Provider(d)
	if err != nil {
		return copyRecord{}, err
	}
	abs := filepath.Join(w.Path, filepath.FromSlash(src.Rel))
	f, err := os.Open(abs)
	if err != nil {
		return copyRecord{}, fmt.Errorf("open %s: %w", abs, err)
	}
	defer f.Close()
	kind := p.HashKind()
	hs, err := providers.Hash(f, providers.SHA256, kind)
	if err != nil {
		return copyRecord{}, fmt.Errorf("read %s: %w", abs, err)
	}
	if hs.Sums[providers.SHA256] != src.SHA256 {
		return copyRecord{}, fmt.Errorf("%s changed since it was queued; the next run takes the newer file", abs)
	}
	want := hs.Sums[kind]
	// A destination that compresses or encrypts gets the stored form here
	// too: no plaintext copy may leave by the schedule's door.
	var body io.ReadSeeker = f
	size := src.Size
	spec := a.codec(d)
	if !spec.Plain() {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return copyRecord{}, err
		}
		enc, res, err := a.spool().Scratch(f, src.Size, spec)
		if err != nil {
			return copyRecord{}, fmt.Errorf("make the stored form of %s for %s: %w", abs, dest, err)
		}
		defer os.Remove(enc.Name())
		defer enc.Close()
		if res.Original.SHA256 != src.SHA256 {
			return copyRecord{}, fmt.Errorf("%s changed since it was queued; the next run takes the newer file", abs)
		}
		if hs, err = providers.Hash(enc, kind); err != nil {
			return copyRecord{}, err
		}
		if _, err := enc.Seek(0, io.SeekStart); err != nil {
			return copyRecord{}, err
		}
		body, size, want = enc, res.Stored.Size, hs.Sums[kind]
	}
	remote := path.Join(s.Folder, w.Name, path.Base(src.Rel))
	rec := copyRecord{Path: remote, Time: src.ModTime, SHA256: src.SHA256}
	for _, cand := range []string{remote + spec.Suffix(), stamped(remote, src.ModTime) + spec.Suffix()} {
		rf, err := p.Stat(ctx, cand)
		if errors.Is(err, providers.ErrNotFound) {
			rec.Path = cand
			break
		}
		if err != nil {
			return copyRecord{}, fmt.Errorf("look for %s: %w", cand, err)
		}
		if rf.Size == size && providers.SameHash(kind, rf.Hash, want) {
			rec.Path = cand
			return rec, a.recordCopy(ctx, s.Name, dest, rec)
		}
		rec.Path = "" // taken by other content: never overwritten
	}
	if rec.Path == "" {
		return copyRecord{}, fmt.Errorf("%s and its timestamped name both hold other content", remote)
	}
	// The destination's guard checks free space first (see guarded).
	rf, err := p.Put(ctx, rec.Path, body, size, providers.PutOptions{ModTime: src.ModTime, Hash: want, Parts: hs.Parts[kind]})
	if err != nil {
		return copyRecord{}, fmt.Errorf("upload %s: %w", rec.Path, err)
	}
	if s.Verify {
		if err := verifyCopy(ctx, p, rf.Path, want); err != nil {
			return copyRecord{}, err
		}
	}
	return rec, a.recordCopy(ctx, s.Name, dest, rec)
}

// stamped is name with the version's UTC time before the extension, as the
// queue names a second version of one file.
func stamped(name string, t time.Time) string {
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + t.UTC().Format("2006-01-02T150405Z") + ext
}

// verifyCopy downloads a copy and compares its hash with the source's.
func verifyCopy(ctx context.Context, p providers.Provider, remote, want string) error {
	rc, err := p.Get(ctx, remote)
	if err != nil {
		return fmt.Errorf("verify %s: %w", remote, err)
	}
	defer rc.Close()
	sums, _, err := providers.HashReader(rc, p.HashKind())
	if err != nil {
		return fmt.Errorf("verify %s: %w", remote, err)
	}
	if got := sums[p.HashKind()]; !providers.SameHash(p.HashKind(), got, want) {
		return fmt.Errorf("verify %s: downloaded copy hashes to %s, the source to %s", remote, got, want)
	}
	return nil
}

func (a *App) copies(ctx context.Context, schedule, dest string) ([]copyRecord, error) {
	v, ok, err := a.Store.Get(ctx, copiesKey(schedule, dest))
	if err != nil || !ok {
		return nil, err
	}
	var out []copyRecord
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("schedule %s copies at %s: %w", schedule, dest, err)
	}
	return out, nil
}

func (a *App) setCopies(ctx context.Context, schedule, dest string, recs []copyRecord) error {
	b, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	return a.Store.Set(ctx, copiesKey(schedule, dest), string(b))
}

func (a *App) recordCopy(ctx context.Context, schedule, dest string, rec copyRecord) error {
	recs, err := a.copies(ctx, schedule, dest)
	if err != nil {
		return err
	}
	recs = slices.DeleteFunc(recs, func(r copyRecord) bool { return r.Path == rec.Path })
	return a.setCopies(ctx, schedule, dest, append(recs, rec))
}

// pruneScheduleCopies applies a schedule's keep to the copies it recorded
// at one destination; the newest copy is never deleted.
func (a *App) pruneScheduleCopies(ctx context.Context, s *config.Schedule, dest string, dryRun bool, w io.Writer, note func(string)) ([]string, error) {
	recs, err := a.copies(ctx, s.Name, dest)
	if err != nil || len(recs) == 0 || s.Keep.IsZero() {
		return nil, err
	}
	items := make([]retention.Item, len(recs))
	newest := 0
	for i, r := range recs {
		items[i] = retention.Item{Path: r.Path, Time: r.Time}
		if r.Time.After(recs[newest].Time) {
			newest = i
		}
	}
	items[newest].Protected = true
	d, err := a.destination(dest)
	if err != nil {
		return nil, err
	}
	p, err := a.Provider(d)
	if err != nil {
		return nil, err
	}
	gone, err := a.deleteDrops(ctx, p, dest, "schedule "+s.Name, items, policyOf(s.Keep), s.Location(), dryRun, w, note)
	if len(gone) > 0 && !dryRun {
		left := slices.DeleteFunc(recs, func(r copyRecord) bool { return slices.Contains(gone, r.Path) })
		if serr := a.setCopies(ctx, s.Name, dest, left); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	return prefixed(dest, gone), err
}

func (a *App) timeMeta(ctx context.Context, key string) time.Time {
	v, ok, err := a.Store.Get(ctx, key)
	if err != nil || !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}
	}
	return t
}

func (a *App) setTimeMeta(ctx context.Context, key string, t time.Time) {
	if err := a.Store.Set(ctx, key, t.UTC().Format(time.RFC3339Nano)); err != nil {
		a.Log.Error("cannot record a schedule's run", "key", key, "err", err)
	}
}
