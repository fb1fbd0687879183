package app

import (
	"context"
	"fmt"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/expect"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/queue"
)

// monitor watches the producers rather than the uploads: a backup that did
// not come (expect_every / expect_cron), one much smaller than usual, a
// silence that ended, and the weekly proof of backup.
func (a *App) monitor(ctx context.Context, p *pipeline) {
	checkers := a.checkers()
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		a.producerChecks(ctx, p, checkers, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkers builds each watch's missed- and small-backup rules.
func (a *App) checkers() map[string]*expect.Checker {
	checkers := map[string]*expect.Checker{}
	for _, w := range a.Cfg.Watches {
		c, err := expect.New(expect.Rule{Every: time.Duration(w.ExpectEvery), Cron: w.ExpectCron, Location: w.Location(), MinSizeRatio: w.MinSizeRatio})
		if err != nil {
			a.Log.Error("missed-backup check off", "watch", w.Name, "err", err)
			continue
		}
		checkers[w.Name] = c
	}
	return checkers
}

// producerChecks runs every check on the producers once. The daemon calls
// it every 30 s, `offsite once` once per run: everything it decides is kept
// in the queue database (alert keys in the outbox, judged backups in meta),
// so each alert goes out once however the checks are run.
func (a *App) producerChecks(ctx context.Context, p *pipeline, checkers map[string]*expect.Checker, now time.Time) {
	a.checkProducers(ctx, p, checkers, now)
	a.weekly(ctx, p, now)
	a.dailyDigest(ctx, p, now)
}

// watchingSince is when offsite began watching a watch (kept across
// restarts), standing in for the last arrival before the first one.
func (a *App) watchingSince(ctx context.Context, watch string, now time.Time) time.Time {
	key := "watching_since/" + watch
	if v, ok, _ := a.Store.Get(ctx, key); ok {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t
		}
	}
	if err := a.Store.Set(ctx, key, now.UTC().Format(time.RFC3339)); err != nil {
		// Only the reference for a first missed-backup alert; the next check tries again.
		a.Log.Warn("cannot record when watching began", "watch", watch, "err", err)
	}
	return now
}

// silence returns the end of a watch's silence as stored, expired or not.
func (a *App) silence(ctx context.Context, watch string) time.Time {
	return a.latestTime(ctx, silenceKey(""), silenceKey(watch))
}

// latestTime is the latest of the RFC 3339 times stored under keys (zero if none).
func (a *App) latestTime(ctx context.Context, keys ...string) time.Time {
	var latest time.Time
	for _, k := range keys {
		if v, ok, _ := a.Store.Get(ctx, k); ok {
			if t, err := time.Parse(time.RFC3339, v); err == nil && t.After(latest) {
				latest = t
			}
		}
	}
	return latest
}

// until returns t while it is still ahead of now, else zero.
func until(t, now time.Time) time.Time {
	if !t.After(now) {
		return time.Time{}
	}
	return t
}

func (a *App) checkProducers(ctx context.Context, p *pipeline, checkers map[string]*expect.Checker, now time.Time) {
	for _, w := range a.Cfg.Watches {
		c := checkers[w.Name]
		if c == nil {
			continue
		}
		silenced := a.silence(ctx, w.Name)
		if !silenced.IsZero() && !now.Before(silenced) {
			key := "silence_ended/" + w.Name + "/" + silenced.UTC().Format(time.RFC3339)
			if _, done, _ := a.Store.Get(ctx, key); !done {
				if err := a.Store.Set(ctx, key, now.UTC().Format(time.RFC3339)); err != nil {
					a.Log.Warn("cannot record that a silence ended; the note may repeat", "watch", w.Name, "err", err)
				}
				p.daemon.AddNote(fmt.Sprintf("Missed-backup alerts for '%s' were silenced until %s; they are on again.", w.Name, silenced.Format("Mon 2 Jan 2006")))
			}
		}
		last, err := a.Store.LastArrival(ctx, w.Name)
		if err != nil {
			continue
		}
		ref := last
		if ref.IsZero() {
			ref = a.watchingSince(ctx, w.Name, now)
		}
		if missed, since := c.Missed(now, ref, silenced); missed {
			var e notify.Event
			// Before the first arrival, count from when watching began:
			// that time survives restarts, so the daily reminder keeps one key a day.
			if w.ExpectCron != "" {
				e = notify.MissedDeadline(w.Name, ref, since, now)
			} else {
				e = notify.Missed(w.Name, ref, time.Duration(w.ExpectEvery), now)
			}
			a.storeEvent(ctx, p, e)
		}
		vs, err := a.Store.RecentVersions(ctx, w.Name, 8)
		if err != nil || len(vs) == 0 {
			continue
		}
		// The newest backup judged is kept, so a restart or the next
		// `once` does not judge it again.
		judgedKey := "small_judged/" + w.Name
		judged, had, err := a.Store.Get(ctx, judgedKey)
		if err != nil || judged == vs[0].SHA256 {
			continue
		}
		if err := a.Store.Set(ctx, judgedKey, vs[0].SHA256); err != nil {
			continue
		}
		if !had && now.Sub(vs[0].ModTime) > time.Hour {
			continue // there before this was recorded (a new install, an upgrade)
		}
		var recent []int64
		for _, v := range vs[1:] {
			recent = append(recent, v.Size)
		}
		if small, median := c.Small(vs[0].Size, recent); small {
			a.storeEvent(ctx, p, notify.Small(w.Name, vs[0].Rel, vs[0].Size, median))
		}
	}
}

// storeEvent keeps an event in the outbox for delivery; one that cannot be
// kept is logged (the check that raised it runs again in 30 seconds).
func (a *App) storeEvent(ctx context.Context, p *pipeline, e notify.Event) {
	if err := p.notifier.Notify(ctx, e); err != nil {
		a.Log.Error("could not store notification", "kind", e.Kind, "key", e.Key, "err", err)
	}
}

// weekly sends the proof of backup once a week: from Monday 08:00, or at
// the first check after it that week (a PC that was off on Monday, a
// scheduled `once` that runs in the evening). Its key is the ISO week, so
// it goes out once. A week in which offsite was first started sends none.
func (a *App) weekly(ctx context.Context, p *pipeline, now time.Time) {
	monday := time.Date(now.Year(), now.Month(), now.Day()-(int(now.Weekday())+6)%7, 8, 0, 0, 0, now.Location())
	if now.Before(monday) {
		return
	}
	since := a.timeMeta(ctx, "weekly/since")
	if since.IsZero() {
		a.setTimeMeta(ctx, "weekly/since", now)
		since = now
	}
	if since.After(monday) {
		return
	}
	proof := notify.WeeklyProof{Time: now}
	for _, w := range a.Cfg.Watches {
		wp := notify.WatchProof{Watch: w.Name}
		for _, dest := range w.Destinations {
			c := notify.Copy{Dest: dest}
			jobs, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Watch: w.Name, Destination: dest, Limit: 1})
			if err == nil && len(jobs) > 0 {
				j := jobs[0]
				c.File, c.Time, c.Size, c.Hash = j.RemotePath, j.DoneAt, j.Version.Size, j.RemoteHash
				c.HashKind = string(a.hashKind(dest))
			}
			wp.Copies = append(wp.Copies, c)
		}
		proof.Watches = append(proof.Watches, wp)
	}
	proof.Notes = append(a.drillNotes(ctx, now), a.keyNotes(ctx)...)
	a.storeEvent(ctx, p, notify.Weekly(proof))
}

// dailyDigest sends, with `report: daily`, one report a day at 07:00 of
// the uploads finished and failing in the 24 hours before.
func (a *App) dailyDigest(ctx context.Context, p *pipeline, now time.Time) {
	if a.Cfg.Report != config.ReportDaily || now.Hour() < 7 {
		return
	}
	key := "report/daily/" + now.Format("2006-01-02")
	if _, sent, _ := a.Store.Get(ctx, key); sent {
		return
	}
	since := now.Add(-24 * time.Hour)
	r := notify.RunReport{Start: since, End: now}
	done, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Limit: 10000})
	if err != nil {
		return
	}
	for _, j := range done {
		if j.DoneAt.Before(since) {
			continue
		}
		r.Uploads = append(r.Uploads, notify.Upload{Watch: j.Version.Watch, File: j.Version.Rel, Dest: j.Destination,
			Version: j.Version.SHA256, Size: j.Version.Size, Hash: j.RemoteHash, HashKind: string(a.hashKind(j.Destination))})
	}
	failing, _ := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Failed, queue.Dead}, Limit: 100})
	for _, j := range failing {
		r.Failures = append(r.Failures, notify.Failure{Watch: j.Version.Watch, File: j.Version.Rel, Dest: j.Destination, Attempts: j.Attempts, Error: j.LastError,
			GivenUp: j.State == queue.Dead})
	}
	if err := p.notifier.Notify(ctx, notify.Report(r)); err == nil {
		if err := a.Store.Set(ctx, key, now.UTC().Format(time.RFC3339)); err != nil {
			a.Log.Warn("cannot record that the daily report went out; it may be sent again", "err", err)
		}
	}
}
