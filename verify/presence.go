package verify

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/offsite-backup/offsite/drill"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/queue"
)

// Presence is the daemon's daily look at the newest copy of each backup
// file at each destination it checks. A copy deleted or changed there (by
// a person, a sync client, a cleanup rule, ransomware on the account) is
// found within a day instead of at the next test restore, which may be a
// month away; until then status would say it is offsite. One the watched
// folder still holds as it was uploaded is queued again, so it is on its
// way; one that cannot be sent again is recorded like a failed test
// restore: status is red, retention keeps the rest of the watch, and it
// clears once a newer copy of the file is there.
type Presence struct {
	V *Verifier
	// Checks says whether dest is looked at: not a mailbox, which cannot
	// be looked in, nor a local folder, whose disk may be one of several
	// swapped in turn, each missing the others' copies.
	Checks   func(dest string) bool
	Every    time.Duration
	Recent   time.Duration // only files whose newest copy is this recent
	Limit    int           // at most this many copies per run, newest first
	Notifier drill.Notifier
}

// Loop checks once Every, the first time a while after start, until ctx
// ends.
func (p *Presence) Loop(ctx context.Context) {
	if p.Every <= 0 {
		return
	}
	// Not at once: a PC that was just switched on has uploads to do first.
	wait := time.NewTimer(15 * time.Minute)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wait.C:
		}
		if _, err := p.Check(ctx, time.Now()); err != nil && ctx.Err() == nil {
			p.V.Log.Warn("cannot check that the stored copies are still there", "err", err)
		}
		wait.Reset(p.Every)
	}
}

// Checked sums up a Check.
type Checked struct {
	OK, Requeued, Lost, Unchecked int
}

// Check looks at the newest done copy of each file at each checked
// destination, at most Limit of them, newest first.
func (p *Presence) Check(ctx context.Context, now time.Time) (Checked, error) {
	var c Checked
	jobs, err := p.V.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}})
	if err != nil {
		return c, fmt.Errorf("read the queue: %w", err)
	}
	failures, err := p.V.Store.RestoreFailures(ctx)
	if err != nil {
		return c, err
	}
	type file struct{ dest, watch, rel string }
	newest := map[file]*queue.Job{}
	byRemote := map[[2]string]*queue.Job{}
	for _, j := range jobs {
		byRemote[[2]string{j.Destination, j.RemotePath}] = j
		k := file{j.Destination, j.Version.Watch, j.Version.Rel}
		if o := newest[k]; o == nil || j.Version.ModTime.After(o.Version.ModTime) || (j.Version.ModTime.Equal(o.Version.ModTime) && j.ID > o.ID) {
			newest[k] = j
		}
	}
	var picked []*queue.Job
	for _, j := range newest {
		if p.Checks(j.Destination) && (p.Recent <= 0 || now.Sub(j.Version.ModTime) < p.Recent) {
			picked = append(picked, j)
		}
	}
	slices.SortFunc(picked, func(a, b *queue.Job) int {
		return cmp.Or(b.Version.ModTime.Compare(a.Version.ModTime), cmp.Compare(a.ID, b.ID))
	})
	if p.Limit > 0 && len(picked) > p.Limit {
		picked = picked[:p.Limit]
	}
	var found []queue.TestRestore
	gone := map[string][]notify.Gone{}
	asked := map[string]bool{} // destinations that answered
	for _, j := range picked {
		prov, err := p.V.Provider(ctx, j.Destination)
		if err != nil {
			c.Unchecked++
			continue
		}
		_, why, err := Check(ctx, prov, j)
		switch {
		case ctx.Err() != nil:
			return c, ctx.Err()
		case err != nil:
			// The destination's own trouble shows in status already.
			c.Unchecked++
			continue
		}
		asked[j.Destination] = true
		switch {
		case why == "":
			c.OK++
			p.clearSuperseded(ctx, failures[j.Destination], j, byRemote)
			continue
		}
		p.V.Log.Warn("a stored copy is gone from its destination", "destination", j.Destination, "remote", j.RemotePath, "why", why)
		ok, err := p.V.Requeue(ctx, j, why, io.Discard, nil)
		if err != nil {
			return c, err
		}
		if ok {
			c.Requeued++
		} else {
			c.Lost++
			found = append(found, queue.TestRestore{At: now, Destination: j.Destination, Remote: j.RemotePath, Watch: j.Version.Watch,
				File: j.Version.Rel, Error: why + ", and the watched folder no longer holds the file as it was uploaded"})
		}
		gone[j.Destination] = append(gone[j.Destination], notify.Gone{Watch: j.Version.Watch, File: j.Version.Rel, Remote: j.RemotePath, Why: why, Requeued: ok})
	}
	if len(found) > 0 {
		// Kept as a failed check of that copy: status shows it and
		// retention deletes nothing more of the watch there meanwhile.
		if err := p.V.Store.RecordLost(ctx, found); err != nil {
			return c, err
		}
	}
	for _, dest := range slices.Sorted(maps.Keys(gone)) {
		p.alert(ctx, notify.CopiesGone(dest, gone[dest], now))
	}
	for dest := range asked {
		if err := p.V.Store.MarkCopiesChecked(ctx, dest, now); err != nil {
			p.V.Log.Warn("cannot record the look at the stored copies", "destination", dest, "err", err)
		}
	}
	p.V.Log.Info("checked that the newest stored copies are still there", "ok", c.OK, "requeued", c.Requeued, "lost", c.Lost, "unchecked", c.Unchecked)
	return c, nil
}

// clearSuperseded forgets a recorded loss (or failed test restore) of an
// older copy of the same file at the same destination once its newer copy
// j is found there: the file is offsite again. done indexes the done jobs
// by destination and remote path.
func (p *Presence) clearSuperseded(ctx context.Context, failed map[string]string, j *queue.Job, done map[[2]string]*queue.Job) {
	for remote := range failed {
		old := done[[2]string{j.Destination, remote}]
		if old == nil || old.ID == j.ID || old.Version.Watch != j.Version.Watch || old.Version.Rel != j.Version.Rel ||
			!old.Version.ModTime.Before(j.Version.ModTime) {
			continue
		}
		if err := p.V.Store.ClearRestoreFailure(ctx, j.Destination, remote); err != nil {
			p.V.Log.Warn("cannot clear a superseded failed check", "err", err)
		}
	}
}

func (p *Presence) alert(ctx context.Context, e notify.Event) {
	if err := p.Notifier.Notify(ctx, e); err != nil {
		p.V.Log.Error("could not store notification", "kind", e.Kind, "key", e.Key, "err", err)
	}
}
