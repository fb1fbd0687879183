package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/watcher"
)

// intakeLoop turns ready files into queued jobs, in batches so a burst of
// thousands of files costs a few synced transactions, not thousands.
func (d *Daemon) intakeLoop(ctx context.Context) {
	var batch []queue.Route
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := d.enqueue(ctx, batch); err != nil {
			d.log.Error("could not queue files; they will be queued on the next scan", "files", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	for {
		var f watcher.File
		select {
		case <-ctx.Done():
			return
		case f = <-d.intake:
		}
		for {
			if r, ok := d.admit(ctx, f); ok {
				batch = append(batch, r)
			}
			if len(batch) >= 500 {
				flush()
			}
			// Keep taking what is already waiting; flush when the burst ends.
			select {
			case f = <-d.intake:
				continue
			default:
			}
			break
		}
		flush()
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
		if r, ok := d.admit(ctx, f); ok {
			routes = append(routes, r)
		}
	}
	return d.enqueue(ctx, routes)
}

// admit decides whether a ready file needs jobs, hashing it when the queue
// has not seen this size and mtime before. A file that changes while it is
// read goes back to the gate.
func (d *Daemon) admit(ctx context.Context, f watcher.File) (queue.Route, bool) {
	w, ok := d.watches[f.Watch]
	if !ok || len(w.Destinations) == 0 {
		return queue.Route{}, false
	}
	known, err := d.knownDests(ctx, queue.KnownKey(f.Watch, f.Rel, f.Size, f.ModTime))
	if err != nil {
		d.log.Error("queue lookup failed", "watch", f.Watch, "file", f.Rel, "err", err)
		return queue.Route{}, false
	}
	if containsAll(known, w.Destinations) {
		return queue.Route{}, false
	}
	sum, err := hashStable(w.Path, f)
	if err != nil {
		if errors.Is(err, errLinked) {
			d.log.Warn("backup file was replaced by a link; it is not read", "watch", f.Watch, "file", f.Rel, "err", err)
			d.notify(replacedByLink(f, err))
		} else if errors.Is(err, errChanged) {
			d.log.Debug("file changed while it was read; waiting for it to settle again", "watch", f.Watch, "file", f.Rel)
			if d.o.Gate != nil {
				d.o.Gate.Recheck(f.Watch, f.Rel)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("cannot read backup file; will try again on the next scan", "watch", f.Watch, "file", f.Rel, "err", err)
			d.notify(unreadable(f, err))
		}
		return queue.Route{}, false
	}
	return queue.Route{
		Version:      queue.Version{Watch: f.Watch, Rel: f.Rel, Size: f.Size, ModTime: f.ModTime, SHA256: sum},
		Destinations: w.Destinations,
	}, true
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

var (
	errChanged    = errors.New("file changed while it was read")
	errLinked     = errors.New("the file was replaced by a link")
	errNotRegular = errors.New("not a regular file")
)

// hashStable hashes f from one handle and checks that the handle is the
// file the watcher passed (same identity, not a link) and that its size
// and mtime did not move meanwhile, so the hash belongs to exactly the
// version the gate passed.
func hashStable(root string, f watcher.File) (string, error) {
	file, err := openSource(root, f.Rel)
	if err != nil {
		return "", err
	}
	defer file.Close()
	if !f.ID.IsZero() {
		if id, err := watcher.HandleID(file); err == nil && id != f.ID {
			return "", errChanged // another file under this name now: back to the gate
		}
	}
	sums, n, err := providers.HashReader(file, providers.SHA256)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", f.Abs, err)
	}
	st, err := file.Stat()
	if err != nil {
		return "", err
	}
	if n != f.Size || st.Size() != f.Size || !st.ModTime().Equal(f.ModTime) {
		return "", errChanged
	}
	return sums[providers.SHA256], nil
}

// sameFile reports whether the file at abs still is the version v.
func sameFile(st os.FileInfo, v queue.Version) bool {
	return st.Size() == v.Size && st.ModTime().Equal(v.ModTime)
}
