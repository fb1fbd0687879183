package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/termsafe"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/status"
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

// VerifyResult sums up a verify run.
type VerifyResult struct {
	OK        int // still there with the recorded hash
	Bad       int // missing, changed, or could not be checked
	Requeued  int // bad ones put back in the queue (with repair)
	Unchecked int // of Bad: the destination could not be asked
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
func (a *App) VerifyAll(ctx context.Context, w io.Writer, repair bool) (VerifyResult, error) {
	var r VerifyResult
	jobs, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}})
	if err != nil {
		return r, fmt.Errorf("read the queue: %w", err)
	}
	provs := map[string]providers.Provider{}
	unverifiable := map[string]int{}
	for _, j := range jobs {
		if a.cannot(j.Destination, "verified") != nil {
			unverifiable[j.Destination]++
			continue
		}
		p, seen := provs[j.Destination]
		if !seen {
			p, err = a.providerByName(ctx, j.Destination)
			if err != nil {
				fmt.Fprintf(w, "✗ %s: %s\n", j.Destination, termsafe.Quote(err.Error()))
			}
			provs[j.Destination] = p
		}
		if p == nil {
			r.Bad++
			r.Unchecked++
			continue
		}
		rf, err := p.Stat(ctx, j.RemotePath)
		var why string
		switch {
		case errors.Is(err, providers.ErrNotFound):
			why = "missing at the destination"
			fmt.Fprintf(w, "✗ %s:%s: %s\n", j.Destination, j.RemotePath, why)
		case err != nil:
			// Not known to be gone: nothing to repair, only to report.
			fmt.Fprintf(w, "✗ %s:%s: could not check: %s\n", j.Destination, termsafe.Quote(j.RemotePath), termsafe.Quote(err.Error()))
			r.Bad++
			r.Unchecked++
			continue
		case rf.Size != storedSize(j) || (j.RemoteHash != "" && rf.Hash != "" && !providers.SameHash(p.HashKind(), rf.Hash, j.RemoteHash)):
			why = "changed at the destination since upload"
			fmt.Fprintf(w, "✗ %s:%s: changed since upload (size %d, hash %s; uploaded %d, %s)\n", j.Destination, termsafe.Quote(j.RemotePath), rf.Size, rf.Hash, storedSize(j), j.RemoteHash)
		default:
			r.OK++
			continue
		}
		r.Bad++
		if !repair {
			continue
		}
		ok, err := a.requeue(ctx, j, why, w)
		if err != nil {
			return r, err
		}
		if ok {
			r.Requeued++
		}
	}
	for _, dest := range slices.Sorted(maps.Keys(unverifiable)) {
		fmt.Fprintf(w, "- %s: %d upload(s) not checked: %s\n", dest, unverifiable[dest], a.cannot(dest, "verified"))
	}
	fmt.Fprintf(w, "%d upload(s) verified, %d missing or changed", r.OK, r.Bad)
	if r.Unchecked > 0 {
		fmt.Fprintf(w, " (%d could not be checked)", r.Unchecked)
	}
	fmt.Fprintln(w)
	if repair {
		fmt.Fprintf(w, "%d upload(s) re-queued; the running daemon sends them within a minute (without one, run `offsite once`)\n", r.Requeued)
	} else if r.Bad > r.Unchecked {
		fmt.Fprintln(w, "run `offsite verify --repair` to upload the missing or changed ones again")
	}
	return r, nil
}

// storedSize is the size of what was sent for j: its stored form's, when
// the destination compressed or encrypted it.
func storedSize(j *queue.Job) int64 {
	if j.Form != "" {
		return j.StoredSize
	}
	return j.Version.Size
}

// requeue puts a done job whose copy is gone back in the queue, when its
// source is still in the watched folder as it was uploaded.
func (a *App) requeue(ctx context.Context, j *queue.Job, why string, w io.Writer) (bool, error) {
	return a.requeueWith(ctx, j, why, w, nil)
}

// requeueWith is requeue, running first (once the source is known to be
// there) before, which may refuse.
func (a *App) requeueWith(ctx context.Context, j *queue.Job, why string, w io.Writer, before func() error) (bool, error) {
	name := j.Version.Watch + "/" + j.Version.Rel
	wt := a.Cfg.Watch(j.Version.Watch)
	if wt == nil {
		fmt.Fprintf(w, "  cannot re-queue %s: watch %s is no longer in the config\n", name, j.Version.Watch)
		return false, nil
	}
	fi, err := os.Stat(filepath.Join(wt.Path, filepath.FromSlash(j.Version.Rel)))
	if err != nil || fi.Size() != j.Version.Size || !fi.ModTime().Equal(j.Version.ModTime) {
		fmt.Fprintf(w, "  cannot re-queue %s: the watched folder no longer holds it as it was uploaded; restore it from another destination with `offsite restore`\n", name)
		return false, nil
	}
	if before != nil {
		if err := before(); err != nil {
			fmt.Fprintf(w, "  cannot re-queue %s: %s\n", name, termsafe.Quote(err.Error()))
			return false, nil
		}
	}
	ok, err := a.Store.Redo(ctx, j.ID, "verify: "+why+"; uploading again")
	if err != nil {
		return false, err
	}
	if ok {
		fmt.Fprintf(w, "  ↻ re-queued %s → %s\n", name, j.Destination)
	}
	return ok, nil
}

// Retry makes failed and given-up uploads due now, and probes each paused
// destination at once (one destination's with dest set): one that works
// again is resumed and its waiting uploads go out. It returns how many
// paused destinations are still unusable.
func (a *App) Retry(ctx context.Context, dest string, w io.Writer) (int, error) {
	if dest != "" {
		if _, err := a.destination(dest); err != nil {
			return 0, err
		}
	}
	n, err := a.Store.Retry(ctx, dest)
	if err != nil {
		return 0, fmt.Errorf("re-queue failed uploads: %w", err)
	}
	fmt.Fprintf(w, "%d failed upload(s) will be tried again now\n", n)
	pauses, err := a.Store.Pauses(ctx)
	if err != nil {
		return 0, fmt.Errorf("read paused destinations: %w", err)
	}
	probed, stuck := 0, 0
	for _, p := range pauses {
		d := a.Cfg.Destination(p.Destination)
		if d == nil || (dest != "" && d.Name != dest) {
			continue
		}
		probed++
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := a.checkDestination(cctx, d)
		cancel()
		if err != nil {
			stuck++
			fmt.Fprintf(w, "✗ %s is still unusable (paused since %s): %s\n    what to do: %s\n", d.Name,
				p.Since.Local().Format("Mon 2 Jan 15:04"), err, status.PauseFix(d.Name, a.isLocal(d.Name), a.logsIn(d.Name), p.Reason))
			continue
		}
		if _, ok, err := a.Store.Unpause(ctx, d.Name); err != nil {
			return stuck, fmt.Errorf("resume %s: %w", d.Name, err)
		} else if ok {
			a.announceRecovered(ctx, d.Name, p.Since)
		}
		waiting, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Pending, queue.Failed}, Destination: d.Name})
		if err != nil {
			return stuck, fmt.Errorf("count waiting uploads to %s: %w", d.Name, err)
		}
		fmt.Fprintf(w, "✓ %s works again: resumed; its %d waiting upload(s) go out now (a running daemon starts them within a minute; without one, run `offsite once`)\n",
			d.Name, len(waiting))
	}
	if probed == 0 {
		fmt.Fprintln(w, "no destination is paused")
	}
	return stuck, nil
}

// announceRecovered stores the "works again" notice the daemon would have
// sent; the daemon (or the next `offsite once`) delivers it.
func (a *App) announceRecovered(ctx context.Context, dest string, since time.Time) {
	n, err := a.Notifier()
	if err != nil {
		a.Log.Warn("cannot tell that a destination works again", "destination", dest, "err", err)
		return
	}
	if err := n.Notify(ctx, notify.DestinationRecovered(dest).Episode(since)); err != nil {
		a.Log.Warn("cannot tell that a destination works again", "destination", dest, "err", err)
	}
}

// Check tests the watched folders, the destinations and (with notifyTest,
// by sending a test message) the notification channels, printing one line
// each; it returns the number of problems.
func (a *App) Check(ctx context.Context, w io.Writer, notifyTest bool) int {
	problems := 0
	bad := func(format string, args ...any) {
		problems++
		fmt.Fprintf(w, "✗ "+format+"\n", args...)
	}
	for _, wt := range a.Cfg.Watches {
		entries, err := os.ReadDir(wt.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			bad("watch %s: folder %s does not exist (is the drive connected? is the path right?)", wt.Name, termsafe.Quote(wt.Path))
		case err != nil:
			bad("watch %s: cannot read %s: %s (the service's user needs read access)", wt.Name, termsafe.Quote(wt.Path), termsafe.Quote(err.Error()))
		default:
			fmt.Fprintf(w, "✓ watch %s: %s (%d entries)\n", wt.Name, termsafe.Quote(wt.Path), len(entries))
		}
	}
	for i := range a.Cfg.Destinations {
		d := &a.Cfg.Destinations[i]
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := a.checkDestination(cctx, d)
		cancel()
		if err != nil {
			hint := providers.HintOf(err)
			msg := strings.TrimSuffix(err.Error(), " ("+hint+")")
			msg = strings.TrimPrefix(msg, "destination "+d.Name+": ")
			if hint == "" {
				hint = "see docs/troubleshooting.md"
			}
			bad("destination %s (%s): %s\n    what to do: %s", d.Name, d.Type, termsafe.Quote(msg), termsafe.Quote(hint))
			continue
		}
		if a.cannot(d.Name, "read") != nil {
			fmt.Fprintf(w, "✓ destination %s (%s): test mail sent; look for it in the mailbox\n", d.Name, d.Type)
			continue
		}
		fmt.Fprintf(w, "✓ destination %s (%s): reachable and writable\n", d.Name, d.Type)
	}
	warnDrives(w, a.Cfg)
	if len(a.Cfg.Notify) == 0 {
		fmt.Fprintln(w, "! no notify channel: nobody will hear about failures or missed backups (see config.example.yaml)")
	} else if notifyTest {
		problems += a.NotifyTest(ctx, w)
	} else if n, err := a.Notifier(); err != nil {
		bad("notify: %s", termsafe.Quote(err.Error()))
	} else {
		for _, ch := range n.Channels() {
			fmt.Fprintf(w, "- notify %s (on %v): not tested (--no-notify)\n", ch, ch.On)
		}
	}
	return problems
}

// NotifyTest sends a test message to every notification channel at once
// (not through the outbox), printing one line each; it returns the number
// of channels that failed.
func (a *App) NotifyTest(ctx context.Context, w io.Writer) int {
	n, err := a.Notifier()
	if err != nil {
		fmt.Fprintf(w, "✗ notify: %v\n", err)
		return 1
	}
	failed := 0
	for _, ch := range n.Channels() {
		cctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		err := n.Test(cctx, ch)
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(w, "✗ notify %s: test message not delivered: %v\n    what to do: check the address and password in the URL, and that this computer can reach the server\n", ch, err)
			continue
		}
		fmt.Fprintf(w, "✓ notify %s (on %v): test message sent\n", ch, ch.On)
	}
	return failed
}

// checkFile is the file check writes, reads back and deletes. It sits at
// the destination's root, so nothing is left behind; checkDir is where
// earlier versions put it (and left the folder).
const (
	checkFile = ".offsite-check.txt"
	checkDir  = ".offsite-check"
)

// checkDestination proves a destination works by writing, reading back
// and deleting a small file.
func (a *App) checkDestination(ctx context.Context, d *config.Destination) error {
	p, err := a.Provider(d)
	if err != nil {
		return err
	}
	if a.cannot(d.Name, "read") != nil {
		return a.sendTest(ctx, d.Name)
	}
	body := []byte("offsite check " + time.Now().UTC().Format(time.RFC3339Nano) + "\n")
	sums, _, err := providers.HashReader(bytes.NewReader(body), p.HashKind())
	if err != nil {
		return fmt.Errorf("hash the check file: %w", err)
	}
	if _, err := p.Put(ctx, checkFile, bytes.NewReader(body), int64(len(body)), providers.PutOptions{Hash: sums[p.HashKind()]}); err != nil {
		return err
	}
	rc, err := p.Get(ctx, checkFile)
	if err != nil {
		return err
	}
	got, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if !bytes.Equal(got, body) {
		return fmt.Errorf("read back different bytes than written")
	}
	if err := p.Delete(ctx, checkFile); err != nil {
		return err
	}
	a.removeOldCheckDir(ctx, p, d.Name)
	return nil
}

// tester is a write-only destination that proves it works by sending a
// test message (the mail adapter).
type tester interface {
	SendTest(ctx context.Context) error
}

// sendTest has a write-only destination send its test message; it
// cannot be written to and read back like the others.
func (a *App) sendTest(ctx context.Context, dest string) error {
	dst := a.dests[dest]
	p, err := dst.p.get(ctx)
	if err != nil {
		return err
	}
	t, ok := providers.As[tester](p)
	if !ok {
		return fmt.Errorf("destination %s (%s) cannot be checked: it can neither be read back nor send a test", dest, dst.desc.Type)
	}
	return t.SendTest(ctx)
}

// removeOldCheckDir removes the folder earlier versions of check left
// (with the file they could leave in it after a failed delete). Best
// effort: it holds nothing of the shop's; Delete is nil when it is absent.
func (a *App) removeOldCheckDir(ctx context.Context, p providers.Provider, dest string) {
	for _, name := range []string{checkDir + "/check.txt", checkDir} {
		if err := p.Delete(ctx, name); err != nil {
			a.Log.Debug("old check folder left", "destination", dest, "path", name, "err", err)
		}
	}
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
