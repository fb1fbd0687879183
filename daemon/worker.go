package daemon

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/queue"
)

// Pause probes: a Fatal destination is tried again after 5 minutes, then
// doubling up to an hour, so a fixed login or a freed disk is noticed soon.
const (
	probeFirst = 5 * time.Minute
	probeMax   = time.Hour
)

// lane is one destination's share of the uploads. Each destination claims
// only its own jobs, so a slow or rate-limited service never keeps a worker
// from another destination's due jobs.
type lane struct {
	name string
	dst  *Destination

	mu    sync.Mutex
	until time.Time // the service asked for a pause: claim nothing before
}

func (l *lane) holdUntil(t time.Time) {
	l.mu.Lock()
	if t.After(l.until) {
		l.until = t
	}
	l.mu.Unlock()
}

func (l *lane) heldUntil(now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.until) {
		return l.until
	}
	return time.Time{}
}

// laneLoop runs one of a destination's upload slots. The first slot of
// each lane (own) always runs, so every destination makes progress; the
// others take a token from the shared `workers` budget first, so extra
// parallelism goes to whichever destinations have work.
func (d *Daemon) laneLoop(ctx context.Context, l *lane, own bool, budget chan struct{}, drain bool) {
	for ctx.Err() == nil {
		d.retryStranded(ctx)
		took := false
		if own {
			select {
			case budget <- struct{}{}:
				took = true
			default:
			}
		} else {
			select {
			case budget <- struct{}{}:
				took = true
			case <-ctx.Done():
				return
			}
		}
		release := func() {
			if took {
				<-budget
			}
		}
		// Taken before the claim, so a kick that comes between an empty
		// claim and the wait (the committer recording the last upload) is
		// not missed.
		wake := d.wakeCh()
		j, err := d.claim(ctx, l)
		if err != nil {
			release()
			if ctx.Err() == nil {
				d.log.Error("cannot read the queue; trying again in 5s", "destination", l.name, "err", err)
				sleepCtx(ctx, 5*time.Second)
			}
			continue
		}
		if j == nil {
			release()
			if drain {
				return
			}
			d.maybeReport(ctx)
			d.idle(ctx, l, wake)
			continue
		}
		d.BeginRun()
		d.inflight.Add(1)
		err = d.process(ctx, j)
		d.inflight.Add(-1)
		release()
		// A service that asked for a pause gets it from every slot of its
		// lane; longer than retry.max, process paused the destination.
		if ra := providers.RetryAfterOf(err); ra > 0 && ra <= d.o.Retry.Max {
			l.holdUntil(d.now().Add(ra))
		}
	}
}

// claim takes the lane's oldest due job, or nil when none is due or the
// lane is held (upload window closed, rate limited).
func (d *Daemon) claim(ctx context.Context, l *lane) (*queue.Job, error) {
	now := d.now()
	if !l.heldUntil(now).IsZero() || (l.dst.Open != nil && !l.dst.Open(now)) {
		return nil, nil
	}
	h := queue.Hold{Destinations: d.others[l.name]}
	if d.o.Held != nil {
		h.Watches = d.o.Held(now)
	}
	jobs, err := d.store.Claim(ctx, h, 1)
	if err != nil || len(jobs) == 0 {
		return nil, err
	}
	return jobs[0], nil
}

// idle waits for new work on a lane: a kick from intake, the lane's next
// due job, the end of its rate-limit hold, or a minute.
func (d *Daemon) idle(ctx context.Context, l *lane, wake <-chan struct{}) {
	wait := time.Minute
	now := d.now()
	if next, err := d.store.NextDueOf(ctx, l.name); err == nil && !next.IsZero() {
		if next.After(now) {
			wait = min(wait, max(next.Sub(now), 50*time.Millisecond))
		} else {
			// Due, yet nothing was claimed: held by a closed window or
			// `pause --hold`. Look again soon, without spinning.
			wait = time.Second
		}
	}
	if until := l.heldUntil(now); !until.IsZero() {
		wait = max(wait, until.Sub(now))
	}
	if d.hasStranded() {
		wait = min(wait, strandedRetry)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

// process runs one claimed job to one of its outcomes and returns the
// upload's error (nil on success).
func (d *Daemon) process(ctx context.Context, j *queue.Job) error {
	dst := d.dests[j.Destination]
	w, wok := d.watches[j.Version.Watch]
	if dst == nil || !wok {
		// The config no longer routes it; keep the job for a later config.
		d.requeue(context.WithoutCancel(ctx), j, d.now().Add(time.Hour), "its watch or destination is no longer configured")
		return nil
	}
	log := d.log.With("watch", j.Version.Watch, "file", j.Version.Rel, "destination", j.Destination)
	// Transitions must land even when ctx was just cancelled.
	bg := context.WithoutCancel(ctx)
	if dst.Codec.Encrypted() && !strings.HasSuffix(j.Form, ".age") {
		// Queued before encrypt was added and brought back since (by
		// `offsite retry` or a schedule's next run): it goes encrypted,
		// never in plaintext, under its encrypted name.
		if _, err := d.store.Encrypt(bg, j.Destination, dst.Codec.Suffix()); err != nil {
			log.Error("cannot switch an upload queued before encrypt was added to the encrypted form; trying again in a minute", "err", err)
			d.requeue(bg, j, d.now().Add(time.Minute), "cannot switch it to the encrypted form")
			return nil
		}
		log.Info("upload queued before encrypt was added is sent encrypted")
		d.requeue(bg, j, time.Time{}, "switched to the encrypted form")
		return nil
	}
	start := d.now()
	rf, err := d.upload(ctx, dst, w, j)
	switch kind := providers.KindOf(err); {
	case err == nil:
		d.inflight.Add(1) // until the committer has recorded it
		d.done <- finished{job: j, dst: dst, rf: rf, took: d.now().Sub(start)}
	case kind == providers.Canceled || ctx.Err() != nil:
		d.requeue(bg, j, time.Time{}, "shutting down")
	case errors.Is(err, errSuperseded) || providers.ReasonOf(err) == providers.ReasonSourceGone && d.sourceExists(w, j):
		log.Info("backup file was rewritten before it could be sent; its newer version is queued instead", "err", err)
		d.dropSpool(j)
		if serr := d.store.Supersede(bg, j.ID, err.Error()); serr != nil {
			d.strand(j, "record a superseded upload", serr)
		}
	case providers.ReasonOf(err) == providers.ReasonSourceGone:
		// The shop software deleted it (rotation) before it went out: no
		// retry can help. A failure alert goes out at the end of the run
		// (FinishRun), and `once` exits non-zero: it is never a silent loss.
		log.Warn("backup file was removed from the folder before it could be sent", "err", err)
		d.dropSpool(j)
		if serr := d.store.Remove(bg, j.ID, err.Error()); serr != nil {
			d.strand(j, "record a removed backup", serr)
		}
		d.recordRemoved(j)
	case kind == providers.Permanent:
		log.Error("upload cannot succeed", "err", err)
		d.dropSpool(j)
		d.kill(bg, j, kind.String(), err)
		d.recordFailure(j, err)
		d.notify(uploadFailing(j, j.Attempts+1, err))
		d.markAlerted(bg, j)
	case kind == providers.Fatal:
		d.pause(bg, j, dst, err)
	case kind == providers.RateLimited && providers.RetryAfterOf(err) > d.o.Retry.Max:
		// A wait longer than retry.max (a year, once) is not waited out
		// in a call: the destination is paused and probed like any other.
		until := d.now().Add(providers.RetryAfterOf(err)).UTC()
		d.pause(bg, j, dst, providers.Errorf(providers.Fatal, reasonRateLimited,
			"nothing to do unless it lasts: offsite asks again from time to time, and other destinations go on meanwhile",
			"rate limited by the service until %s: %w", until.Format(time.RFC3339), err))
	default:
		d.retryLater(bg, j, err, log)
	}
	return err
}

// reasonRateLimited pauses a destination whose service asked for a wait
// longer than retry.max.
const reasonRateLimited providers.Reason = "rate-limited"

var errSuperseded = errors.New("the source file changed after it was queued")

func (d *Daemon) sourceExists(w Watch, j *queue.Job) bool {
	_, err := os.Stat(filepath.Join(w.Path, filepath.FromSlash(j.Version.Rel)))
	return err == nil
}

// upload sends the job's version, after checking the source still holds it.
func (d *Daemon) upload(ctx context.Context, dst *Destination, w Watch, j *queue.Job) (providers.RemoteFile, error) {
	if j.Form != "" {
		return d.uploadStored(ctx, dst, w, j)
	}
	abs := filepath.Join(w.Path, filepath.FromSlash(j.Version.Rel))
	f, err := openSource(w.Path, j.Version.Rel)
	if err != nil {
		return providers.RemoteFile{}, sourceError(abs, err)
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
	dg, digested := j.Version.Digests[string(kind)]
	prepass := kind != providers.SHA256 && !digested
	if digested {
		// Hashed at intake: the service's hash of what it stores, checked
		// against this, proves the bytes sent were the queued version.
		want, parts = dg.Sum, dg.Parts
	}
	if prepass {
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
	opts := d.putOptions(ctx, j, want, parts)
	defer d.clearAcked(j.ID)
	var body io.ReadSeeker = f
	if prepass {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return providers.RemoteFile{}, err
		}
	}
	if dst.Body != nil {
		body = dst.Body(ctx, body)
	}
	rf, err := dst.Provider.Put(ctx, j.RemotePath, body, j.Version.Size, opts)
	if err != nil {
		if digested && providers.ReasonOf(err) == providers.ReasonChecksum && changedSince(f, j.Version) {
			// Not damage in transit: the file holds other bytes than at
			// intake (rewritten with its size and time kept).
			return rf, errSuperseded
		}
		return rf, err
	}
	// A file rewritten during the upload could have sent a torn mix; the
	// hash check normally catches it, and this catches the rest.
	if st2, err := os.Stat(abs); err != nil || !sameFile(st2, j.Version) {
		if derr := dst.Provider.Delete(ctx, j.RemotePath); derr != nil {
			// It is this version's own path: a later upload replaces it.
			d.log.Warn("cannot remove a copy sent while the file changed", "destination", dst.Name, "remote", j.RemotePath, "err", derr)
		}
		return rf, errSuperseded
	}
	return rf, nil
}

// changedSince reads f once more after a checksum mismatch, to tell a
// source rewritten in place from bytes damaged on the way.
func changedSince(f *os.File, v queue.Version) bool {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false
	}
	sums, n, err := providers.HashReader(f, providers.SHA256)
	return err == nil && (n != v.Size || sums[providers.SHA256] != v.SHA256)
}

// putOptions carries the job's saved session in, and its progress and new
// session state out to the queue.
func (d *Daemon) putOptions(ctx context.Context, j *queue.Job, hash string, parts []string) providers.PutOptions {
	return providers.PutOptions{
		ModTime: j.Version.ModTime,
		Hash:    hash,
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
		d.strand(j, "record a failed upload", ferr)
		return
	}
	log.Warn("upload failed; will retry", "attempt", attempts, "retry_in", wait.Round(time.Second), "err", err)
	if attempts >= d.o.AlertAfter && !j.Alerted {
		d.recordFailure(j, err)
		d.markAlerted(ctx, j)
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
	p, ok, err2 := d.store.PauseOf(ctx, dst.Name)
	if err2 != nil {
		d.log.Error("cannot read the destination's pause; pausing it afresh", "destination", dst.Name, "err", err2)
	}
	if ok {
		if p.RetryAt.After(d.now()) {
			// Another worker's upload, already in flight, hit the same
			// wall: the pause stands as it is.
			d.requeue(ctx, j, time.Time{}, "its destination is paused")
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
		d.log.Error("cannot record a paused destination; its uploads are tried again instead", "destination", dst.Name, "err", perr)
	}
	// Without a recorded pause the job waits one probe interval, so a
	// broken destination is not hammered.
	at := time.Time{}
	if perr != nil {
		at = d.now().Add(wait)
	}
	d.requeue(ctx, j, at, "its destination is paused")
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
		d.notify(notify.DestinationFailed(dst.Name, dst.service(), reason, providers.HintOf(err), err).Episode(since))
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
				d.requeue(ctx, b.job, time.Time{}, "its upload could not be recorded")
			}
			d.settled(len(batch))
			continue
		}
		for _, b := range batch {
			j := b.job
			d.dropSpool(j)
			d.stopFailing(ctx, j.Destination)
			d.log.Info("uploaded", "watch", j.Version.Watch, "file", j.Version.Rel, "destination", j.Destination,
				"remote", j.RemotePath, "bytes", j.Version.Size, "hash", b.rf.Hash, "took", b.took.Round(time.Millisecond))
			d.recordUpload(j, b.dst, b.rf, b.took)
			d.recovered(ctx, j)
		}
		d.settled(len(batch))
	}
}

// settled ends n uploads' time in flight; after the last, idle lanes look
// again, so the run report (and the end ping) goes out now rather than at
// the next timer.
func (d *Daemon) settled(n int) {
	if d.inflight.Add(-int64(n)) == 0 {
		d.kick()
	}
}

// recovered clears a pause and says so once.
func (d *Daemon) recovered(ctx context.Context, j *queue.Job) {
	if _, paused, err := d.store.PauseOf(ctx, j.Destination); err != nil || !paused {
		return
	}
	p, was, err := d.store.Unpause(ctx, j.Destination)
	if err != nil {
		d.log.Error("destination works again but its pause could not be cleared; the next upload tries again", "destination", j.Destination, "err", err)
		return
	}
	if was {
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
	if d.inflight.Load() > 0 {
		return // uploads still running or being recorded
	}
	now := d.now()
	for _, l := range d.lanes {
		if until := l.heldUntil(now); !until.IsZero() && until.Sub(now) >= time.Minute {
			continue // rate limited: its jobs wait for a later run
		}
		if l.dst.Open != nil && !l.dst.Open(now) {
			continue // outside its upload window
		}
		next, err := d.store.NextDueOf(ctx, l.name)
		if err != nil || !next.IsZero() && next.Sub(now) < time.Minute {
			return // more is coming soon: one report per run
		}
	}
	if e, ok := d.FinishRun(); ok {
		d.notify(e)
	}
}

// startFailing records that uploads to dest are failing; it reports whether
// this starts a new episode.
func (d *Daemon) startFailing(ctx context.Context, dest string) bool {
	isNew, err := d.store.StartFailing(ctx, dest, d.now())
	if err != nil {
		// Without the record a later failure would alert again; better
		// twice than never.
		d.log.Error("cannot record that uploads are failing; alerting", "destination", dest, "err", err)
		return true
	}
	return isNew
}

// stopFailing ends a failing episode of dest, saying so once.
func (d *Daemon) stopFailing(ctx context.Context, dest string) {
	since, was, err := d.store.StopFailing(ctx, dest)
	if err != nil {
		// The record stays: the next success says "works again" instead.
		d.log.Error("cannot clear the failing record", "destination", dest, "err", err)
		return
	}
	if !was {
		return
	}
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

// strandedRetry is how soon a job whose state change could not be written
// is handed back to the queue again.
const strandedRetry = 5 * time.Second

// requeue hands a claimed job back. If the queue cannot take the write the
// job would stay "uploading" until the next start, so it is kept and
// handed back later (retryStranded).
func (d *Daemon) requeue(ctx context.Context, j *queue.Job, at time.Time, why string) {
	if err := d.store.Requeue(ctx, j.ID, at); err != nil {
		d.strand(j, "hand back an upload ("+why+")", err)
	}
}

// kill records that a job cannot succeed.
func (d *Daemon) kill(ctx context.Context, j *queue.Job, kind string, cause error) {
	if err := d.store.Kill(ctx, j.ID, kind, cause.Error()); err != nil {
		d.strand(j, "record an upload that cannot succeed", err)
	}
}

func (d *Daemon) markAlerted(ctx context.Context, j *queue.Job) {
	if err := d.store.MarkAlerted(ctx, j.ID); err != nil {
		d.log.Error("cannot record that an alert went out; it may be sent again", "watch", j.Version.Watch,
			"file", j.Version.Rel, "destination", j.Destination, "err", err)
	}
}

// strand notes a claimed job whose outcome could not be written: it is put
// back to pending after strandedRetry and tried again (at-least-once; the
// adapters make a repeated upload harmless).
func (d *Daemon) strand(j *queue.Job, what string, err error) {
	d.log.Error("cannot "+what+"; the upload will be handed back and tried again", "watch", j.Version.Watch,
		"file", j.Version.Rel, "destination", j.Destination, "retry_in", strandedRetry, "err", err)
	d.mu.Lock()
	d.stranded[j.ID] = d.now().Add(strandedRetry)
	d.mu.Unlock()
}

func (d *Daemon) hasStranded() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.stranded) > 0
}

// retryStranded hands back stranded jobs whose wait is over.
func (d *Daemon) retryStranded(ctx context.Context) {
	now := d.now()
	var due []int64
	d.mu.Lock()
	for id, at := range d.stranded {
		if !at.After(now) {
			due = append(due, id)
			d.stranded[id] = now.Add(strandedRetry) // one slot tries it at a time
		}
	}
	d.mu.Unlock()
	for _, id := range due {
		err := d.store.Requeue(context.WithoutCancel(ctx), id, time.Time{})
		d.mu.Lock()
		if err == nil {
			delete(d.stranded, id)
		}
		d.mu.Unlock()
		if err != nil {
			d.log.Error("still cannot hand back an upload; trying again", "job", id, "retry_in", strandedRetry, "err", err)
		} else {
			d.log.Info("handed back an upload whose state could not be written before", "job", id)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
