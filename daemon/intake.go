package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/watcher"
)

// Intake retries: a file the queue could not take (disk full, database
// locked) is offered again after 1s, doubling to a minute, until it is in.
const (
	intakeRetryFirst = time.Second
	intakeRetryMax   = time.Minute
)

// intakeTrouble is what intake holds while the queue refuses new files.
// Guarded by Daemon.mu, except the maps, which only the intake loop uses.
type intakeTrouble struct {
	files    map[string]watcher.File // not yet looked up in the queue
	routes   map[string]queue.Route  // hashed, waiting to be queued
	waiting  int                     // len(files)+len(routes), for status
	failures int                     // attempts in a row that failed
	since    time.Time
	err      error
	alerted  bool
}

// IntakeTrouble says why ready backups are not in the queue yet.
type IntakeTrouble struct {
	Since time.Time // first failed attempt of this episode
	Err   error     // the latest failure
	Files int       // backups waiting to be queued
}

// IntakeFailing reports whether files wait because the queue could not take
// them: status and /healthz show it, since no upload starts for them.
func (d *Daemon) IntakeFailing() (IntakeTrouble, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.in.waiting == 0 {
		return IntakeTrouble{}, false
	}
	return IntakeTrouble{Since: d.in.since, Err: d.in.err, Files: d.in.waiting}, true
}

func fileKey(watch, rel string) string { return watch + "\x00" + rel }

// intakeLoop turns ready files into queued jobs, in batches so a burst of
// thousands of files costs a few synced transactions, not thousands. A
// file counts as taken only once the queue has it: until then intake keeps
// it and tries again with backoff, since the watcher reports each version
// once.
func (d *Daemon) intakeLoop(ctx context.Context) {
	d.in.files = map[string]watcher.File{}
	d.in.routes = map[string]queue.Route{}
	var retry *time.Timer
	var retryC <-chan time.Time
	for {
		var first watcher.File
		select {
		case <-ctx.Done():
			if retry != nil {
				retry.Stop()
			}
			return
		case first = <-d.intake:
			d.take(ctx, first)
			// Keep taking what is already waiting; flush when the burst ends.
		more:
			for {
				select {
				case f := <-d.intake:
					d.take(ctx, f)
				default:
					break more
				}
			}
			if retryC != nil {
				continue // failing: the new files wait for the next try
			}
		case <-retryC:
			retryC = nil
			for k, f := range d.in.files {
				delete(d.in.files, k)
				d.take(ctx, f)
			}
		}
		if d.flushIntake(ctx) {
			retryC = nil
			continue
		}
		wait := intakeRetryFirst
		for i := 1; i < d.in.failures && wait < intakeRetryMax; i++ {
			wait *= 2
		}
		wait = min(wait, intakeRetryMax)
		if retry == nil {
			retry = time.NewTimer(wait)
		} else {
			retry.Reset(wait)
		}
		retryC = retry.C
	}
}

// take admits one ready file into the intake's waiting set: hashed into a
// route, or kept as it is when the queue could not be asked.
func (d *Daemon) take(ctx context.Context, f watcher.File) {
	k := fileKey(f.Watch, f.Rel)
	// A newer report of a file replaces whatever waited for it.
	delete(d.in.files, k)
	delete(d.in.routes, k)
	r, ok, err := d.admit(ctx, f)
	switch {
	case err != nil:
		d.in.files[k] = f
		d.intakeFailed(err)
	case ok:
		d.in.routes[k] = r
	}
}

// flushIntake queues every waiting route, 500 to a transaction, and
// reports whether nothing is left waiting.
func (d *Daemon) flushIntake(ctx context.Context) bool {
	batch := make([]queue.Route, 0, min(len(d.in.routes), 500))
	keys := make([]string, 0, cap(batch))
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		if err := d.enqueue(ctx, batch); err != nil {
			d.intakeFailed(err)
			return false
		}
		for _, k := range keys {
			delete(d.in.routes, k)
		}
		batch, keys = batch[:0], keys[:0]
		return true
	}
	for k, r := range d.in.routes {
		batch = append(batch, r)
		keys = append(keys, k)
		if len(batch) >= 500 && !flush() {
			break
		}
	}
	ok := flush() && len(d.in.files) == 0
	d.intakeSettled(ok)
	return ok
}

// intakeFailed records a failed attempt to queue files.
func (d *Daemon) intakeFailed(err error) {
	d.mu.Lock()
	if d.in.failures == 0 {
		d.in.since = d.now()
	}
	d.in.err = err
	d.mu.Unlock()
}

// intakeSettled ends an attempt: it counts a failure (and alerts once it
// persists), or ends the episode, saying so if an alert went out.
func (d *Daemon) intakeSettled(ok bool) {
	d.mu.Lock()
	waiting := len(d.in.files) + len(d.in.routes)
	d.in.waiting = waiting
	if ok {
		failures, alerted, since := d.in.failures, d.in.alerted, d.in.since
		d.in.failures, d.in.alerted, d.in.err = 0, false, nil
		d.mu.Unlock()
		if failures > 0 {
			d.log.Info("the queue takes new backups again", "after_attempts", failures)
		}
		if alerted {
			d.notify(intakeRecovered(since))
		}
		return
	}
	if d.in.err == nil {
		// Only files whose lookup failed are left: count them as failing.
		d.in.err = errors.New("the queue could not be read")
	}
	d.in.failures++
	failures, err, since, alerted := d.in.failures, d.in.err, d.in.since, d.in.alerted
	d.mu.Unlock()
	d.log.Error("cannot queue backups; trying again", "files", waiting, "attempt", failures, "err", err)
	if failures >= d.o.AlertAfter && !alerted {
		// The outbox lives in the same database: the alert counts as sent
		// only once it is stored, so a full disk does not swallow it.
		if d.notifyStored(intakeFailing(waiting, since, err)) {
			d.mu.Lock()
			d.in.alerted = true
			d.mu.Unlock()
		}
	}
}

func (d *Daemon) enqueue(ctx context.Context, routes []queue.Route) error {
	n, err := d.store.Enqueue(ctx, routes)
	if err != nil {
		return err
	}
	d.mu.Lock()
	for _, r := range routes {
		if d.known == nil {
			break // loaded fresh, these rows included, on the next lookup
		}
		k := queue.KnownKey(r.Watch, r.Rel, r.Size, r.ModTime)
		for _, dst := range r.Destinations {
			if !slices.Contains(d.known[k], dst) {
				d.known[k] = append(d.known[k], dst)
			}
		}
	}
	d.mu.Unlock()
	if n > 0 {
		d.log.Debug("queued", "files", len(routes), "jobs", n)
		d.kick()
	}
	return nil
}

// Ingest queues files synchronously (used by `offsite once` and `push`).
func (d *Daemon) Ingest(ctx context.Context, files []watcher.File) error {
	var routes []queue.Route
	for _, f := range files {
		r, ok, err := d.admit(ctx, f)
		if err != nil {
			return err
		}
		if ok {
			routes = append(routes, r)
		}
	}
	return d.enqueue(ctx, routes)
}

// admit decides whether a ready file needs jobs, hashing it when the queue
// has not seen this size and mtime before. A file that changes while it is
// read goes back to the gate. err is the queue's: the file must be offered
// again.
func (d *Daemon) admit(ctx context.Context, f watcher.File) (queue.Route, bool, error) {
	w, ok := d.watches[f.Watch]
	if !ok || len(w.Destinations) == 0 {
		return queue.Route{}, false, nil
	}
	known, err := d.knownDests(ctx, queue.KnownKey(f.Watch, f.Rel, f.Size, f.ModTime))
	if err != nil {
		return queue.Route{}, false, fmt.Errorf("look up %s/%s in the queue: %w", f.Watch, f.Rel, err)
	}
	if containsAll(known, w.Destinations) {
		return queue.Route{}, false, nil
	}
	hs, err := hashStable(w.Path, f, d.digestKinds(w.Destinations)...)
	if err != nil {
		if errors.Is(err, errLinked) {
			d.log.Warn("backup file was replaced by a link; it is not read", "watch", f.Watch, "file", f.Rel, "err", err)
			d.refuse(ctx, f, "linked", err)
			d.notify(replacedByLink(f, err))
		} else if errors.Is(err, errChanged) {
			d.log.Debug("file changed while it was read; waiting for it to settle again", "watch", f.Watch, "file", f.Rel)
			if d.o.Gate != nil {
				d.o.Gate.Recheck(f.Watch, f.Rel)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("cannot read backup file; will try again on the next scan", "watch", f.Watch, "file", f.Rel, "err", err)
			d.refuse(ctx, f, "unreadable", err)
			d.notify(unreadable(f, err))
			// The watcher reported this version; it must offer it again.
			if g, ok := d.o.Gate.(forgetter); ok {
				g.Forget(f.Watch, f.Rel)
			}
		}
		return queue.Route{}, false, nil
	}
	return queue.Route{
		Version:      queue.Version{Watch: f.Watch, Rel: f.Rel, Size: f.Size, ModTime: f.ModTime, SHA256: hs.Sums[providers.SHA256], Digests: digests(hs)},
		Destinations: w.Destinations,
	}, true, nil
}

// refuse records a file that was seen and not queued, so status stays red
// for it until it is queued or acknowledged: its alert alone would be the
// only trace, and the green light would say all is well.
func (d *Daemon) refuse(ctx context.Context, f watcher.File, reason string, err error) {
	r := queue.Refusal{Watch: f.Watch, Rel: f.Rel, Reason: reason, Message: err.Error(), Since: d.now()}
	if rerr := d.store.Refuse(context.WithoutCancel(ctx), r); rerr != nil {
		d.log.Error("cannot record a backup that was not queued; only its alert tells of it", "watch", f.Watch, "file", f.Rel, "err", rerr)
	}
}

// digestKinds are the hash kinds of dests other than SHA-256, made in the
// intake pass so that their uploads need no pass of their own.
func (d *Daemon) digestKinds(dests []string) []providers.HashKind {
	var kinds []providers.HashKind
	for _, name := range dests {
		dst := d.dests[name]
		if dst == nil {
			continue
		}
		if k := dst.Provider.HashKind(); k != providers.SHA256 && !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// digests are the intake pass's hashes other than SHA-256, for the queue.
func digests(hs providers.Hashes) map[string]queue.Digest {
	var out map[string]queue.Digest
	for k, sum := range hs.Sums {
		if k == providers.SHA256 {
			continue
		}
		if out == nil {
			out = map[string]queue.Digest{}
		}
		out[string(k)] = queue.Digest{Sum: sum, Parts: hs.Parts[k]}
	}
	return out
}

// knownDests returns the destinations a version (by size and mtime)
// already has jobs for. The whole table is loaded once, so a start-up scan
// of a big folder costs map lookups, not a query per file.
func (d *Daemon) knownDests(ctx context.Context, key string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.known == nil {
		k, err := d.store.Known(ctx)
		if err != nil {
			return nil, err
		}
		d.known = k
	}
	return d.known[key], nil
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// unreadable tells people about a backup offsite cannot read: nobody else
// would notice that it never leaves the PC.
func unreadable(f watcher.File, err error) notify.Event {
	fix := "check that the file is not locked open by another program"
	if errors.Is(err, fs.ErrPermission) {
		fix = "give the account offsite runs as (the service's user) read access to the backup folder"
	}
	return notify.Event{
		Kind:    notify.KindFailure,
		Key:     fmt.Sprintf("unreadable/%s/%s/%d", f.Watch, f.Rel, f.ModTime.UnixNano()),
		Subject: fmt.Sprintf("offsite: cannot read the backup %q", f.Rel),
		Text: fmt.Sprintf("offsite cannot read the backup %q in '%s', so it is not copied anywhere yet. It tries again at every scan.\n\nWhat to do: %s.\n\nDetails: %v",
			f.Rel, f.Watch, fix, err),
		Fields: map[string]string{"watch": f.Watch, "file": f.Rel, "error": err.Error()},
	}
}

// neverSettles tells people about a file that never became complete: a
// live file (a database the program keeps open) rather than a finished
// backup, or a copy that hangs. Nothing else would say it is not sent.
func neverSettles(f watcher.File, since time.Time, why string) notify.Event {
	return notify.Event{
		Kind:    notify.KindFailure,
		Key:     fmt.Sprintf("unsettled/%s/%s/%d", f.Watch, f.Rel, since.UnixNano()),
		Subject: fmt.Sprintf("offsite: the backup %q has not finished since %s", f.Rel, since.Format("2006-01-02 15:04")),
		Text: fmt.Sprintf("The file %q in '%s' has not become complete since %s (%s), so it is not copied anywhere: "+
			"offsite sends a file only once it has stopped changing, so that a half-written copy never goes out.\n\n"+
			"What to do: %s. It is sent by itself once it stops changing.",
			f.Rel, f.Watch, since.Format("2006-01-02 15:04"), why, unsettledFix),
		Fields: map[string]string{"watch": f.Watch, "file": f.Rel, "error": why},
	}
}

// unsettledFix is what to do about a file that never becomes complete.
const unsettledFix = "if it is the program's live data file, point the watch at the folder where the program writes its finished backup copies instead (or exclude the file); " +
	"if it is a backup that hangs while being written, close the program or restart the PC"

// replacedByLink tells people a backup's name now points elsewhere: read,
// it could have sent any file the service's account may read offsite.
func replacedByLink(f watcher.File, err error) notify.Event {
	return notify.Event{
		Kind:    notify.KindFailure,
		Key:     fmt.Sprintf("linked/%s/%s/%d", f.Watch, f.Rel, f.ModTime.UnixNano()),
		Subject: fmt.Sprintf("offsite: the backup %q was replaced by a link", f.Rel),
		Text: fmt.Sprintf("The backup %q in '%s' was replaced by a link (shortcut) after it was written, so offsite did not read it: "+
			"a link can point at any file on this computer. Nothing was sent.\n\n"+
			"What to do: find out who or what replaced the file (someone with write access to the backup folder), "+
			"remove the link and let the program write its backup again.\n\nDetails: %v", f.Rel, f.Watch, err),
		Fields: map[string]string{"watch": f.Watch, "file": f.Rel, "error": err.Error()},
	}
}

// intakeFailing tells people that backups are not even queued: nothing
// else would, since no upload fails for a file that never became a job.
func intakeFailing(files int, since time.Time, err error) notify.Event {
	return notify.Event{
		Kind:    notify.KindFailure,
		Key:     "intake",
		Subject: fmt.Sprintf("offsite: %d backup(s) could not be queued", files),
		Text: fmt.Sprintf("offsite found %d new backup(s) but could not record them in its queue, so they are not copied anywhere yet. It keeps trying by itself.\n\nWhat to do: %s.\n\nDetails: %v",
			files, intakeHint, err),
		Fields: map[string]string{"files": fmt.Sprint(files), "error": err.Error()},
	}.Episode(since)
}

func intakeRecovered(since time.Time) notify.Event {
	return notify.Event{
		Kind:    notify.KindRecovered,
		Key:     "intake/recovered",
		Subject: "offsite: new backups are queued again",
		Text:    "offsite can record new backups in its queue again; the ones that waited are queued and being sent. Nothing needs to be done.",
	}.Episode(since)
}

// intakeHint is the usual fix when the queue refuses writes.
const intakeHint = "free space on the disk that holds offsite's state folder, and check that the folder is writable"

// forgetter makes the watcher offer a file again at its next scan;
// *watcher.Watcher implements it.
type forgetter interface {
	Forget(watch, rel string)
}

var (
	errChanged    = errors.New("file changed while it was read")
	errLinked     = errors.New("the file was replaced by a link")
	errNotRegular = errors.New("not a regular file")
)

// hashStable hashes f from one handle and checks that the handle is the
// file the watcher passed (same identity, not a link) and that its size
// and mtime did not move meanwhile, so the hash belongs to exactly the
// version the gate passed.
func hashStable(root string, f watcher.File, kinds ...providers.HashKind) (providers.Hashes, error) {
	file, err := openSource(root, f.Rel)
	if err != nil {
		return providers.Hashes{}, err
	}
	defer file.Close()
	if !f.ID.IsZero() {
		if id, err := watcher.HandleID(file); err == nil && id != f.ID {
			return providers.Hashes{}, errChanged // another file under this name now: back to the gate
		}
	}
	hs, err := providers.Hash(file, append([]providers.HashKind{providers.SHA256}, kinds...)...)
	if err != nil {
		return providers.Hashes{}, fmt.Errorf("read %s: %w", f.Abs, err)
	}
	st, err := file.Stat()
	if err != nil {
		return providers.Hashes{}, err
	}
	if hs.N != f.Size || st.Size() != f.Size || !st.ModTime().Equal(f.ModTime) {
		return providers.Hashes{}, errChanged
	}
	return hs, nil
}

// sameFile reports whether the file at abs still is the version v.
func sameFile(st os.FileInfo, v queue.Version) bool {
	return st.Size() == v.Size && st.ModTime().Equal(v.ModTime)
}
