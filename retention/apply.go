package retention

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/termsafe"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
)

// pruneEvery is how often the daemon applies the keep rules.
const pruneEvery = 24 * time.Hour

// Pruner applies the keep rules of a config's destinations and schedules
// to what the queue recorded there.
type Pruner struct {
	Cfg      *config.Config
	Store    *queue.Store
	Log      *slog.Logger
	Provider func(ctx context.Context, dest string) (providers.Provider, error) // the destination's one stack
	// Cannot, when set, says why dest cannot be pruned by offsite (a
	// mailbox only receives); nil when it can.
	Cannot func(dest string) error
}

// Prune applies every keep rule: per destination to the uploads the queue
// recorded there, per schedule to the copies it recorded. It only ever
// deletes files offsite made itself (never anything a listing finds),
// never the newest verified copy of a watch, and nothing of a watch whose
// newest upload to that destination is failing or one of whose copies there
// failed its last test restore. Every decision is printed
// to w with its reason; with dryRun nothing is deleted. It returns the
// "dest:path" of each deleted (or, dry, deletable) file.
func (r *Pruner) Prune(ctx context.Context, dryRun bool, w io.Writer) (deleted []string, err error) {
	return r.prune(ctx, dryRun, w, func(string) {})
}

func (r *Pruner) prune(ctx context.Context, dryRun bool, w io.Writer, note func(string)) ([]string, error) {
	var deleted []string
	var errs []error
	for i := range r.Cfg.Destinations {
		d := &r.Cfg.Destinations[i]
		if d.Keep.IsZero() {
			continue
		}
		gone, err := r.pruneDestination(ctx, d, dryRun, w, note)
		deleted = append(deleted, gone...)
		if err != nil {
			errs = append(errs, fmt.Errorf("prune %s: %w", d.Name, err))
		}
	}
	for i := range r.Cfg.Schedules {
		s := &r.Cfg.Schedules[i]
		for _, dn := range s.Destinations {
			gone, err := r.Schedule(ctx, s, dn, dryRun, w, note)
			deleted = append(deleted, gone...)
			if err != nil {
				errs = append(errs, fmt.Errorf("prune schedule %s at %s: %w", s.Name, dn, err))
			}
		}
	}
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	fmt.Fprintf(w, "%s %d file(s)\n", verb, len(deleted))
	return deleted, errors.Join(errs...)
}

// MaybePrune runs the keep rules at most once a day, from the daemon.
func (r *Pruner) MaybePrune(ctx context.Context, now time.Time, note func(string)) {
	if !r.hasKeep() {
		return
	}
	if last, err := r.Store.LastPrune(ctx); err != nil || !last.IsZero() && now.Sub(last) < pruneEvery {
		return
	}
	if _, err := r.prune(ctx, false, io.Discard, note); err != nil && ctx.Err() == nil {
		r.Log.Error("retention could not finish; trying again tomorrow", "err", err)
		note(fmt.Sprintf("retention could not finish: %v", err))
	}
	if err := r.Store.SetLastPrune(ctx, now); err != nil {
		r.Log.Error("cannot record that retention ran; it runs again at the next check", "err", err)
	}
}

func (r *Pruner) hasKeep() bool {
	for _, d := range r.Cfg.Destinations {
		if !d.Keep.IsZero() {
			return true
		}
	}
	for _, s := range r.Cfg.Schedules {
		if !s.Keep.IsZero() {
			return true
		}
	}
	return false
}

// pruneDestination applies d's keep to each watch routed to d.
func (r *Pruner) pruneDestination(ctx context.Context, d *config.Destination, dryRun bool, w io.Writer, note func(string)) ([]string, error) {
	var p providers.Provider
	var deleted []string
	var errs []error
	for _, wt := range r.Cfg.Watches {
		if !slices.Contains(wt.Destinations, d.Name) {
			continue
		}
		jobs, err := r.Store.Jobs(ctx, queue.Filter{Destination: d.Name, Watch: wt.Name, Purpose: queue.Routine})
		if err != nil {
			return deleted, err
		}
		items, why := retentionItems(jobs)
		if why == "" {
			why, err = r.untrusted(ctx, d.Name, jobs)
			if err != nil {
				return deleted, err
			}
		}
		if why != "" {
			fmt.Fprintf(w, "%s: %s: nothing pruned: %s\n", d.Name, wt.Name, why)
			continue
		}
		if p == nil {
			if p, err = r.Provider(ctx, d.Name); err != nil {
				return deleted, err
			}
		}
		gone, err := r.deleteDrops(ctx, p, d.Name, "watch "+wt.Name, items, policyOf(d.Keep), d.Location(), dryRun, w, note)
		if !dryRun {
			for _, g := range gone {
				if id := jobFor(jobs, g); id != 0 {
					if merr := r.Store.MarkPruned(context.WithoutCancel(ctx), id); merr != nil {
						errs = append(errs, merr)
					}
				}
			}
		}
		deleted = append(deleted, prefixed(d.Name, gone)...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return deleted, errors.Join(errs...)
}

// retentionItems turns one watch's jobs at one destination into retention
// items: the done ones, the newest of them protected. why is set when the
// watch must not be pruned at all.
func retentionItems(jobs []*queue.Job) (items []Item, why string) {
	var newest *queue.Job // the newest job that is not superseded
	for _, j := range jobs {
		if j.State == queue.Superseded || j.State == queue.Removed {
			continue
		}
		if newest == nil || j.ID > newest.ID {
			newest = j
		}
	}
	if newest != nil && (newest.State == queue.Failed || newest.State == queue.Dead) {
		return nil, fmt.Sprintf("the newest upload (%s) is failing; old copies stay until it succeeds", newest.Version.Rel)
	}
	var done []*queue.Job
	for _, j := range jobs {
		if j.State == queue.Done {
			done = append(done, j)
		}
	}
	if len(done) == 0 {
		return nil, "no upload done yet"
	}
	top := 0
	for i, j := range done {
		if t := done[top]; j.Version.ModTime.After(t.Version.ModTime) || (j.Version.ModTime.Equal(t.Version.ModTime) && j.ID > t.ID) {
			top = i
		}
	}
	for i, j := range done {
		// The series comes from the name in the watch, so the timestamped
		// remote names of a rewritten file stay with their file.
		items = append(items, Item{Path: j.RemotePath, Name: j.Version.Rel, Time: j.Version.ModTime, Protected: i == top})
	}
	return items, ""
}

// untrusted says why dest's copies among jobs must not be pruned: one of
// them failed its last test restore, so counting it as a kept copy could
// delete the good older ones it was meant to replace. "" when none did.
func (r *Pruner) untrusted(ctx context.Context, dest string, jobs []*queue.Job) (string, error) {
	failed, err := r.Store.RestoreFailures(ctx)
	if err != nil {
		return "", err
	}
	for _, j := range jobs {
		if _, bad := failed[dest][j.RemotePath]; bad && j.State == queue.Done {
			return fmt.Sprintf("the copy %s failed its last test restore; old copies stay until `offsite verify --restore %s --repair` replaces it",
				termsafe.Quote(j.RemotePath), dest), nil
		}
	}
	return "", nil
}

func jobFor(jobs []*queue.Job, remote string) int64 {
	for _, j := range jobs {
		if j.RemotePath == remote && j.State == queue.Done {
			return j.ID
		}
	}
	return 0
}

// deleteDrops runs retention on items, series by series, and deletes (or,
// dry, lists) what it drops, printing every series and every decision. It
// returns the paths deleted.
func (r *Pruner) deleteDrops(ctx context.Context, p providers.Provider, dest, scope string, items []Item,
	pol Policy, loc *time.Location, dryRun bool, w io.Writer, note func(string)) ([]string, error) {
	series, why := Plan(items, pol, loc)
	var gone []string
	var errs []error
	for _, s := range series {
		fmt.Fprintf(w, "%s: %s: series %q: %s\n", dest, scope, s.Name, seriesSummary(s, dryRun)) // %q escapes control characters
		for _, k := range s.Keep {
			fmt.Fprintf(w, "%s:   keep   %s (%s)\n", dest, termsafe.Quote(k.Path), why[k.Path])
		}
		for _, d := range s.Drop {
			if dryRun {
				fmt.Fprintf(w, "%s:   would delete %s (%s)\n", dest, termsafe.Quote(d.Path), why[d.Path])
				gone = append(gone, d.Path)
				continue
			}
			if err := p.Delete(ctx, d.Path); err != nil {
				fmt.Fprintf(w, "%s:   could not delete %s: %s\n", dest, termsafe.Quote(d.Path), termsafe.Quote(err.Error()))
				errs = append(errs, fmt.Errorf("delete %s: %w", d.Path, err))
				continue
			}
			fmt.Fprintf(w, "%s:   delete %s (%s)\n", dest, termsafe.Quote(d.Path), why[d.Path])
			r.Log.Info("deleted old copy", "destination", dest, "scope", scope, "series", s.Name, "path", d.Path, "reason", why[d.Path])
			note(fmt.Sprintf("retention deleted %s:%s (%s, series %q; %s)", dest, d.Path, scope, s.Name, why[d.Path]))
			gone = append(gone, d.Path)
		}
	}
	return gone, errors.Join(errs...)
}

// seriesSummary says in a few words what happens to one series.
func seriesSummary(s Series, dryRun bool) string {
	n := len(s.Keep) + len(s.Drop)
	if n == 1 {
		return "1 copy, the only one: kept"
	}
	verb := "delete"
	if dryRun {
		verb = "would delete"
	}
	return fmt.Sprintf("%d copies: keep %d, %s %d", n, len(s.Keep), verb, len(s.Drop))
}

func policyOf(k config.Keep) Policy {
	return Policy{Last: k.Last, Daily: k.Daily, Weekly: k.Weekly, Monthly: k.Monthly}
}

func prefixed(dest string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = dest + ":" + p
	}
	return out
}

// Schedule applies a schedule's keep to its done copies at one
// destination; the newest copy is never deleted.
func (r *Pruner) Schedule(ctx context.Context, s *config.Schedule, dest string, dryRun bool, w io.Writer, note func(string)) ([]string, error) {
	if s.Keep.IsZero() {
		return nil, nil
	}
	jobs, err := r.Store.Jobs(ctx, queue.Filter{Purpose: queue.ScheduleCopy, Schedule: s.Name, Destination: dest, States: []queue.State{queue.Done}})
	if err != nil || len(jobs) == 0 {
		return nil, err
	}
	if r.Cannot != nil {
		if why := r.Cannot(dest); why != nil {
			fmt.Fprintf(w, "%s: schedule %s: nothing pruned: %v\n", dest, s.Name, why)
			return nil, nil
		}
	}
	why, err := r.untrusted(ctx, dest, jobs)
	if err != nil {
		return nil, err
	}
	if why != "" {
		fmt.Fprintf(w, "%s: schedule %s: nothing pruned: %s\n", dest, s.Name, why)
		return nil, nil
	}
	items := make([]Item, len(jobs))
	newest := 0
	for i, j := range jobs {
		items[i] = Item{Path: j.RemotePath, Time: j.Version.ModTime}
		if j.Version.ModTime.After(jobs[newest].Version.ModTime) {
			newest = i
		}
	}
	items[newest].Protected = true
	p, err := r.Provider(ctx, dest)
	if err != nil {
		return nil, err
	}
	gone, err := r.deleteDrops(ctx, p, dest, "schedule "+s.Name, items, policyOf(s.Keep), s.Location(), dryRun, w, note)
	if !dryRun {
		for _, g := range gone {
			if id := jobFor(jobs, g); id != 0 {
				if merr := r.Store.MarkPruned(context.WithoutCancel(ctx), id); merr != nil {
					err = errors.Join(err, merr)
				}
			}
		}
	}
	return prefixed(dest, gone), err
}
