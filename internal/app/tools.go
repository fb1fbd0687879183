package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/check"
	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/push"
	"github.com/offsite-backup/offsite/status"
	"github.com/offsite-backup/offsite/verify"
)

func (a *App) destination(name string) (*config.Destination, error) {
	for i := range a.Cfg.Destinations {
		if a.Cfg.Destinations[i].Name == name {
			return &a.Cfg.Destinations[i], nil
		}
	}
	var names []string
	for _, d := range a.Cfg.Destinations {
		names = append(names, d.Name)
	}
	return nil, fmt.Errorf("no destination named %q in %s (there are: %s)", name, a.Cfg.File, strings.Join(names, ", "))
}

func (a *App) providerByName(ctx context.Context, name string) (providers.Provider, error) {
	d, err := a.destination(name)
	if err != nil {
		return nil, err
	}
	return a.Provider(d)
}

// Push uploads one file to dest now, outside the queue, in dest's stored
// form (see push.File).
func (a *App) Push(ctx context.Context, file, dest, as string, progress func(done, total int64)) (providers.RemoteFile, error) {
	p, err := a.providerByName(ctx, dest)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	return push.File(ctx, push.Request{Provider: p, Dest: dest, File: file, As: as, Spec: a.codec(a.Cfg.Destination(dest)),
		Spool: a.spool(), Look: a.cannot(dest, "read") == nil, Progress: progress})
}

// List lists a folder at a destination.
func (a *App) List(ctx context.Context, dest, dir string) ([]providers.RemoteFile, error) {
	if err := a.cannot(dest, "listed"); err != nil {
		return nil, err
	}
	p, err := a.providerByName(ctx, dest)
	if err != nil {
		return nil, err
	}
	return p.List(ctx, dir)
}

// Verify checks that every done upload is still at its destination with
// the recorded hash, and returns the number of bad ones.
func (a *App) Verify(ctx context.Context, w io.Writer) int {
	r, err := a.VerifyAll(ctx, w, false)
	if err != nil {
		fmt.Fprintln(w, "✗", err)
		return max(r.Bad, 1)
	}
	return r.Bad
}

// VerifyAll is Verify; with repair, a copy that is missing or changed is
// put back in the queue, so the daemon (or the next `offsite once`) uploads
// it again from the watched folder.
func (a *App) VerifyAll(ctx context.Context, w io.Writer, repair bool) (verify.Result, error) {
	return a.verifier().All(ctx, w, repair)
}

// checker tests the config's folders, destinations and channels through
// the destinations' stacks.
func (a *App) checker() *check.Check {
	return &check.Check{Cfg: a.Cfg, Probe: a.checkDestination, Notifier: a.Notifier, Log: a.Log,
		WriteOnly: func(dest string) bool { return a.cannot(dest, "read") != nil },
		PauseFix: func(dest, reason string) string {
			return status.PauseFix(dest, a.isLocal(dest), a.logsIn(dest), reason)
		}}
}

// Check tests the watched folders, the destinations and (with notifyTest,
// by sending a test message) the notification channels, printing one line
// each; it returns the number of problems.
func (a *App) Check(ctx context.Context, w io.Writer, notifyTest bool) int {
	return a.checker().Run(ctx, w, notifyTest)
}

// NotifyTest sends a test message to every notification channel, printing
// one line each; it returns the number of channels that failed.
func (a *App) NotifyTest(ctx context.Context, w io.Writer) int { return a.checker().Notify(ctx, w) }

// Retry makes failed and given-up uploads due now, and probes each paused
// destination at once (one destination's with dest set). It returns how
// many paused destinations are still unusable.
func (a *App) Retry(ctx context.Context, dest string, w io.Writer) (int, error) {
	if dest != "" {
		if _, err := a.destination(dest); err != nil {
			return 0, err
		}
	}
	return a.checker().Retry(ctx, a.Store, dest, w)
}

// checkDestination proves a destination works: a write, read back and
// delete of a small file, or a write-only one's test message.
func (a *App) checkDestination(ctx context.Context, d *config.Destination) error {
	p, err := a.Provider(d)
	if err != nil {
		return err
	}
	if a.cannot(d.Name, "read") != nil {
		dst := a.dests[d.Name]
		p, err := dst.p.Built(ctx)
		if err != nil {
			return err
		}
		return check.SendTest(ctx, p, d.Name, dst.desc.Type)
	}
	return check.Destination(ctx, p, a.Log.With("destination", d.Name))
}

// Pause silences missed-backup alerts for a watch ("" = all) until t, and
// with hold also keeps its uploads waiting until then; a zero t ends both.
func (a *App) Pause(ctx context.Context, watch string, until time.Time, hold bool) error {
	if watch != "" && a.Cfg.Watch(watch) == nil {
		return fmt.Errorf("no watch named %q in %s", watch, a.Cfg.File)
	}
	if !until.IsZero() && !until.After(time.Now()) {
		return fmt.Errorf("the pause would end %s, which has passed: give a later date (YYYY-MM-DD; the pause ends at the start of that day); `offsite resume` ends a pause now",
			until.Local().Format("Mon 2 Jan 2006 15:04"))
	}
	if until.IsZero() {
		return a.Store.EndSilence(ctx, watch)
	}
	return a.Store.Silence(ctx, watch, until, hold)
}

// heldUntil returns when a watch's held uploads resume (zero: not held).
func (a *App) heldUntil(ctx context.Context, watch string, now time.Time) time.Time {
	t, err := a.Store.HeldUntil(ctx, watch)
	if err != nil {
		a.Log.Warn("cannot read whether uploads are held", "watch", watch, "err", err)
	}
	return until(t, now)
}

// held lists the watches whose uploads wait at now.
func (a *App) held(now time.Time) []string {
	var out []string
	for _, w := range a.Cfg.Watches {
		if !a.heldUntil(context.Background(), w.Name, now).IsZero() {
			out = append(out, w.Name)
		}
	}
	return out
}

// silencedUntil returns when missed-backup alerts for a watch resume (zero: not silenced).
func (a *App) silencedUntil(ctx context.Context, watch string) time.Time {
	return until(a.silence(ctx, watch), time.Now())
}

// Acknowledge records that a person has seen what status lists as needing
// one: backups deleted before they were sent (of dest, or of all; none
// when only watch is given) and refused files (of watch, or of all; none
// when only dest is given). It returns how many of each it cleared.
func (a *App) Acknowledge(ctx context.Context, dest, watch string) (deleted, refused int, err error) {
	if dest != "" {
		if _, err := a.destination(dest); err != nil {
			return 0, 0, err
		}
	}
	if watch != "" && a.Cfg.Watch(watch) == nil {
		return 0, 0, fmt.Errorf("no watch named %q in %s", watch, a.Cfg.File)
	}
	if watch == "" {
		if deleted, err = a.Store.Acknowledge(ctx, dest); err != nil {
			return 0, 0, err
		}
	}
	if dest == "" {
		refused, err = a.Store.ClearRefusals(ctx, watch)
	}
	return deleted, refused, err
}

// Listed is one entry of a destination's folder, with what offsite knows
// of it: a note when a newer version of the same file followed.
type Listed struct {
	providers.RemoteFile
	Note string
}

// Listing lists a folder at a destination with the queue's notes on each
// file; without the queue's notes (best effort) it is List.
func (a *App) Listing(ctx context.Context, dest, dir string) ([]Listed, error) {
	files, err := a.List(ctx, dest, dir)
	if err != nil {
		return nil, err
	}
	notes, _ := a.VersionNotes(ctx, dest)
	out := make([]Listed, len(files))
	for i, f := range files {
		out[i] = Listed{RemoteFile: f, Note: notes[f.Path]}
	}
	return out, nil
}
