package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/queue"
)

// kindSuperseded marks jobs whose source was replaced by a newer version
// before it could be sent; the newer version has its own job.
const kindSuperseded = "superseded"

// Pause probes: a Fatal destination is tried again after 5 minutes, then
// doubling up to an hour, so a fixed login or a freed disk is noticed soon.
const (
	probeFirst = 5 * time.Minute
	probeMax   = time.Hour
)

func (d *Daemon) workerLoop(ctx context.Context, drain bool) {
	for ctx.Err() == nil {
		jobs, err := d.store.Claim(ctx, d.held(), claimBatch)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("cannot read the queue", "err", err)
				sleepCtx(ctx, 5*time.Second)
			}
			continue
		}
		if len(jobs) == 0 {
			if drain {
				return
			}
			d.maybeReport(ctx)
			d.idle(ctx)
			continue
		}
		held := map[string]bool{} // destinations that turned unusable during this batch
		for i, j := range jobs {
			if ctx.Err() != nil {
				// Shutting down: hand back what was claimed but not started.
				for _, rest := range jobs[i:] {
					d.store.Requeue(context.WithoutCancel(ctx), rest.ID, time.Time{})
				}
				return
			}
			if held[j.Destination] {
				d.store.Requeue(ctx, j.ID, time.Time{})
				continue
			}
			if d.process(ctx, j) == providers.Fatal {
				held[j.Destination] = true
			}
		}
	}
}

// claimBatch is how many jobs a worker takes from the queue at once.
const claimBatch = 8

// idle waits for new work: a kick from intake, the next due job, or a minute.
func (d *Daemon) idle(ctx context.Context) {
	wait := time.Minute
	if next, err := d.store.NextDue(ctx); err == nil && !next.IsZero() {
		wait = min(wait, max(next.Sub(d.now()), 50*time.Millisecond))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-d.wake:
	case <-t.C:
	}
}

// held is what workers leave alone now: destinations outside their upload
// window, and watches held by a pause.
func (d *Daemon) held() queue.Hold {
	var h queue.Hold
	now := d.now()
	for name, dst := range d.dests {
		if dst.Open != nil && !dst.Open(now) {
			h.Destinations = append(h.Destinations, name)
		}
	}
	if d.o.Held != nil {
		h.Watches = d.o.Held(now)
	}
	return h
}

// process runs one claimed job to one of its outcomes, and returns the
// kind of its error (Temporary also for success; Fatal means the
// destination was paused).
func (d *Daemon) process(ctx context.Context, j *queue.Job) providers.Kind {
	dst := d.dests[j.Destination]
	w, wok := d.watches[j.Version.Watch]
	if dst == nil || !wok {
		// The config no longer routes it; keep the job for a later config.
		d.store.Requeue(context.WithoutCancel(ctx), j.ID, d.now().Add(time.Hour))
		return providers.Temporary
	}
	log := d.log.With("watch", j.Version.Watch, "file", j.Version.Rel, "destination", j.Destination)
	start := d.now()
	rf, err := d.upload(ctx, dst, w, j)
	// Transitions must land even when ctx was just cancelled.
	bg := context.WithoutCancel(ctx)
	switch kind := providers.KindOf(err); {
	case err == nil:
		d.done <- finished{job: j, dst: dst, rf: rf, took: d.now().Sub(start)}
	case kind == providers.Canceled || ctx.Err() != nil:
		d.store.Requeue(bg, j.ID, time.Time{})
	case errors.Is(err, errSuperseded) || providers.ReasonOf(err) == providers.ReasonSourceGone && d.sourceExists(w, j):
		log.Info("backup file was rewritten before it could be sent; its newer version is queued instead", "err", err)
		d.store.Kill(bg, j.ID, kindSuperseded, err.Error())
	case providers.ReasonOf(err) == providers.ReasonSourceGone:
		// The shop software deleted it (rotation) before it went out: no
		// retry can help, but the report says so, so it is not a silent loss.
		log.Warn("backup file was removed from the folder before it could be sent", "err", err)
		d.store.Kill(bg, j.ID, kindSuperseded, err.Error())
		d.AddNote(fmt.Sprintf("%s/%s was removed from the backup folder before it could be sent to %s.", j.Version.Watch, j.Version.Rel, j.Destination))
	case kind == providers.Permanent:
		log.Error("upload cannot succeed", "err", err)
		d.store.Kill(bg, j.ID, kind.String(), err.Error())
		d.recordFailure(j, err)
		d.notify(uploadFailing(j, j.Attempts+1, err))
		d.store.MarkAlerted(bg, j.ID)
	case kind == providers.Fatal:
		d.pause(bg, j, dst, err)
	default:
		d.retryLater(bg, j, err, log)
	}
	return providers.KindOf(err)
}

var errSuperseded = errors.New("the source file changed after it was queued")

func (d *Daemon) sourceExists(w Watch, j *queue.Job) bool {
	_, err := os.Stat(filepath.Join(w.Path, filepath.FromSlash(j.Version.Rel)))
	return err == nil
}

// upload sends the job's version, after checking the source still holds it.
func (d *Daemon) upload(ctx context.Context, dst *Destination, w Watch, j *queue.Job) (providers.RemoteFile, error) {
	abs := filepath.Join(w.Path, filepath.FromSlash(j.Version.Rel))
	f, err := openSource(w.Path, j.Version.Rel)
	if err != nil {
		if errors.Is(err, errLinked) {
			return providers.RemoteFile{}, providers.Errorf(providers.Permanent, "",
				"find out who replaced the backup with a link, remove it, and let the program write the backup again",
				"%s: %w; nothing was sent", abs, errLinked)
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotRegular) {
			return providers.RemoteFile{}, providers.Errorf(providers.Permanent, providers.ReasonSourceGone, "", "%s was removed before it was sent", abs)
		}
		return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "check that the service's user may read the backup folder", "open %s: %w", abs, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return providers.RemoteFile{}, err
	}
	if !sameFile(st, j.Version) {
		return providers.RemoteFile{}, errSuperseded
	}
	kind := dst.Provider.HashKind()
	want := j.Version.SHA256
	var parts []string
	if kind != providers.SHA256 {
		// One pass for the service's hash and our own, which proves the
		// bytes still are the queued version.
		hs, err := providers.Hash(f, providers.SHA256, kind)
		if err != nil {
			return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "", "read %s: %w", abs, err)
		}
		if hs.Sums[providers.SHA256] != j.Version.SHA256 {
			return providers.RemoteFile{}, errSuperseded
		}
		want, parts = hs.Sums[kind], hs.Parts[kind]
	}
	opts := providers.PutOptions{
		ModTime: j.Version.ModTime,
		Hash:    want,
		Parts:   parts,
		Session: j.Session,
		OnSession: func(state []byte) {
			acked := d.acked(j.ID)
			if err := d.store.SaveSession(context.WithoutCancel(ctx), j.ID, state, acked); err != nil {
				d.log.Warn("could not save upload session; a restart would start this file over", "file", j.Version.Rel, "err", err)
			}
		},
		OnProgress: func(n int64) { d.setAcked(j.ID, n) },
	}
	defer d.clearAcked(j.ID)
	var body io.ReadSeeker = f
	if kind != providers.SHA256 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return providers.RemoteFile{}, err
		}
	}
	if dst.Body != nil {
		body = dst.Body(ctx, body)
	}
	rf, err := dst.Provider.Put(ctx, j.RemotePath, body, j.Version.Size, opts)
	if err != nil {
		return rf, err
	}
	// A file rewritten during the upload could have sent a torn mix; the
	// hash check normally catches it, and this catches the rest.
	if st2, err := os.Stat(abs); err != nil || !sameFile(st2, j.Version) {
		_ = dst.Provider.Delete(ctx, j.RemotePath)
		return rf, errSuperseded
	}
	return rf, nil
}

func (d *Daemon) acked(id int64) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.progress[id]
}

func (d *Daemon) setAcked(id, n int64) {
	d.mu.Lock()
	d.progress[id] = n
	d.mu.Unlock()
}

func (d *Daemon) clearAcked(id int64) {
	d.mu.Lock()
	delete(d.progress, id)
	d.mu.Unlock()
}

// retryLater schedules the next slow retry and alerts once after AlertAfter attempts.
func (d *Daemon) retryLater(ctx context.Context, j *queue.Job, err error, log interface {
	Warn(string, ...any)
}) {
	attempt := j.Attempts + 1
	wait := retry.Backoff(d.o.Retry, attempt, rand.Float64())
	if ra := providers.RetryAfterOf(err); ra > wait {
		wait = ra
	}
	keep := providers.ReasonOf(err) != providers.ReasonChecksum
	attempts, ferr := d.store.Fail(ctx, j.ID, providers.KindOf(err).String(), err.Error(), d.now().Add(wait), keep)
	if ferr != nil {
		d.log.Error("cannot record a failed upload", "err", ferr)
		return
	}
	log.Warn("upload failed; will retry", "attempt", attempts, "retry_in", wait.Round(time.Second), "err", err)
	if attempts >= d.o.AlertAfter && !j.Alerted {
		d.recordFailure(j, err)
		d.store.MarkAlerted(ctx, j.ID)
		// One alert per cause: while uploads to a destination keep failing,
		// the first file's alert speaks for the rest, and one "works again"
		// follows when any upload there succeeds.
		if d.startFailing(ctx, j.Destination) {
			d.notify(uploadFailing(j, attempts, err))
		}
	}
}

// pause holds a Fatal destination back; its jobs stay queued.
func (d *Daemon) pause(ctx context.Context, j *queue.Job, dst *Destination, err error) {
	probes := 0
	if p, ok, _ := d.store.PauseOf(ctx, dst.Name); ok {
		if p.RetryAt.After(d.now()) {
			// Another worker's upload, already in flight, hit the same
			// wall: the pause stands as it is.
			d.store.Requeue(ctx, j.ID, time.Time{})
			return
		}
		probes = p.Probes + 1
	}
	wait := probeFirst
	for range probes {
		wait = min(wait*2, probeMax)
	}
	reason := providers.ReasonOf(err)
	isNew, perr := d.store.PauseDestination(ctx, dst.Name, string(reason), err.Error(), d.now().Add(wait))
	if perr != nil {
		d.log.Error("cannot record a paused destination", "err", perr)
	}
	d.store.Requeue(ctx, j.ID, time.Time{})
	d.log.Error("destination unusable; its uploads are held until it works again", "destination", dst.Name,
		"reason", reason, "hint", providers.HintOf(err), "next_try", wait, "err", err)
	if isNew {
		d.recordFailure(j, err)
		since := d.now()
		if p, ok, _ := d.store.PauseOf(ctx, dst.Name); ok {
			since = p.Since
		}
		// One alert per episode: the key survives restarts, and a cause
		// that is fixed and comes back later alerts again.
		d.notify(notify.DestinationFailed(dst.Name, dst.Type, reason, providers.HintOf(err), err).Episode(since))
	}
}

// finished is an upload waiting for its Done to be recorded.
type finished struct {
	job  *queue.Job
	dst  *Destination
	rf   providers.RemoteFile
	took time.Duration
}

// committer records finished uploads in batches, one fsync per batch, so
// many small files do not each wait for the disk; workers go on meanwhile.
// Until its Done is synced a job stays claimed: a crash in between only
// means the upload is repeated, and the adapters make that harmless.
func (d *Daemon) committer(in <-chan finished) {
	ctx := context.Background()
	for f := range in {
		batch := []finished{f}
	more:
		for len(batch) < 256 {
			select {
			case f, ok := <-in:
				if !ok {
					break more
				}
				batch = append(batch, f)
			default:
				break more
			}
		}
		ids := make([]queue.Finished, len(batch))
		for i, b := range batch {
			ids[i] = queue.Finished{ID: b.job.ID, RemoteHash: b.rf.Hash}
		}
		if err := d.store.Done(ctx, ids...); err != nil {
			d.log.Error("uploads finished but could not be recorded; they will be checked and repeated", "files", len(batch), "err", err)
			for _, b := range batch {
				d.store.Requeue(ctx, b.job.ID, time.Time{})
			}
			continue
		}
		for _, b := range batch {
			j := b.job
			d.stopFailing(ctx, j.Destination)
			d.log.Info("uploaded", "watch", j.Version.Watch, "file", j.Version.Rel, "destination", j.Destination,
				"remote", j.RemotePath, "bytes", j.Version.Size, "hash", b.rf.Hash, "took", b.took.Round(time.Millisecond))
			d.recordUpload(j, b.dst, b.rf)
			d.recovered(ctx, j)
		}
	}
}

// recovered clears a pause and says so once.
func (d *Daemon) recovered(ctx context.Context, j *queue.Job) {
	if _, paused, err := d.store.PauseOf(ctx, j.Destination); err != nil || !paused {
		return
	}
	if p, was, err := d.store.Unpause(ctx, j.Destination); err == nil && was {
		d.log.Info("destination works again", "destination", j.Destination)
		d.notify(notify.DestinationRecovered(j.Destination).Episode(p.Since))
	}
}

// maybeReport sends the run report once the queue has nothing left to do.
func (d *Daemon) maybeReport(ctx context.Context) {
	d.mu.Lock()
	active := d.run != nil
	d.mu.Unlock()
	if !active {
		return
	}
	if n, err := d.store.Depth(ctx); err != nil || n > 0 {
		if next, _ := d.store.NextDue(ctx); next.IsZero() || next.Sub(d.now()) < time.Minute {
			return // more is coming soon: one report per run
		}
	}
	if e, ok := d.FinishRun(); ok {
		d.notify(e)
	}
}

func failingKey(dest string) string { return "failing/" + dest }

// startFailing records that uploads to dest are failing; it reports whether
// this starts a new episode.
func (d *Daemon) startFailing(ctx context.Context, dest string) bool {
	if _, ok, err := d.store.Get(ctx, failingKey(dest)); err != nil || ok {
		return false
	}
	d.store.Set(ctx, failingKey(dest), d.now().UTC().Format(time.RFC3339Nano))
	return true
}

// stopFailing ends a failing episode of dest, saying so once.
func (d *Daemon) stopFailing(ctx context.Context, dest string) {
	v, ok, err := d.store.Get(ctx, failingKey(dest))
	if err != nil || !ok {
		return
	}
	d.store.Delete(ctx, failingKey(dest))
	since, _ := time.Parse(time.RFC3339Nano, v)
	d.log.Info("uploads work again", "destination", dest)
	d.notify(notify.DestinationRecovered(dest).Episode(since))
}

// uploadFailing is one alert per job: a later version of the same file
// failing gets its own.
func uploadFailing(j *queue.Job, attempts int, err error) notify.Event {
	e := notify.UploadFailing(j.Version.Watch, j.Version.Rel, j.Destination, attempts, err)
	e.Key += "#" + strconv.FormatInt(j.ID, 10)
	return e
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
