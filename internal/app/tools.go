package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/check"
	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/providers"
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

// Push uploads one file now, outside the queue, reading it once. The remote path defaults
// to the file's name; an existing different file there is never
// overwritten: the upload gets a timestamped name beside it.
func (a *App) Push(ctx context.Context, file, dest, as string, progress func(done, total int64)) (providers.RemoteFile, error) {
	p, err := a.providerByName(ctx, dest)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	f, err := os.Open(file)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return providers.RemoteFile{}, err
	}
	if st.IsDir() {
		return providers.RemoteFile{}, fmt.Errorf("%s is a folder: push takes one file", file)
	}
	// A destination that compresses or encrypts gets the same stored form
	// as the daemon sends, made into the spool first.
	var body io.ReadSeeker = f
	size := st.Size()
	spec := a.codec(a.Cfg.Destination(dest))
	if !spec.Plain() {
		enc, res, err := a.spool().Scratch(f, size, spec)
		if err != nil {
			return providers.RemoteFile{}, fmt.Errorf("push %s: make its stored form for %s: %w", file, dest, err)
		}
		defer os.Remove(enc.Name())
		defer enc.Close()
		body, size = enc, res.Stored.Size
	}
	remote := as
	if remote == "" {
		remote = filepath.Base(file)
	}
	// A mailbox cannot be looked in: there each push is one more mail.
	if a.cannot(dest, "read") == nil {
		if rf, err := p.Stat(ctx, remote+spec.Suffix()); err == nil {
			// Only a copy of the same size can be this file: only then is
			// the file hashed before it is sent.
			if rf.Size == size {
				sums, _, err := providers.HashReader(body, p.HashKind())
				if err != nil {
					return providers.RemoteFile{}, fmt.Errorf("read %s: %w", file, err)
				}
				if providers.SameHash(p.HashKind(), rf.Hash, sums[p.HashKind()]) {
					return rf, nil // already there
				}
				if _, err := body.Seek(0, io.SeekStart); err != nil {
					return providers.RemoteFile{}, fmt.Errorf("read %s: %w", file, err)
				}
			}
			ext := path.Ext(remote)
			remote = strings.TrimSuffix(remote, ext) + "." + st.ModTime().UTC().Format("2006-01-02T150405Z") + ext
		} else if !errors.Is(err, providers.ErrNotFound) {
			return providers.RemoteFile{}, fmt.Errorf("push %s: %w", file, err)
		}
	}
	remote += spec.Suffix()
	// No hash up front: the stack hashes the bytes as they are sent and
	// checks the service's against it, so the file is read once.
	opts := providers.PutOptions{ModTime: st.ModTime()}
	if progress != nil {
		total := size
		opts.OnProgress = func(n int64) { progress(n, total) }
	}
	rf, err := p.Put(ctx, remote, body, size, opts)
	if err != nil {
		return rf, fmt.Errorf("push %s to %s: %w", file, dest, err)
	}
	return rf, nil
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
