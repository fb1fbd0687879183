// Package monitor watches the producers rather than the uploads: a backup
// that did not come, one much smaller than usual, a silence that ended, the
// weekly proof of backup and the daily report. Everything it decides is
// kept in the queue database, so each alert goes out once however often
// and from whichever process the checks run.
package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/expect"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
)

// Notifier stores events for delivery; *notify.Notifier implements it.
type Notifier interface {
	Notify(ctx context.Context, e notify.Event) error
}

// Monitor runs the producer checks of a config's watches.
type Monitor struct {
	Cfg      *config.Config
	Store    *queue.Store
	Log      *slog.Logger
	Checkers map[string]*expect.Checker // per watch; see Checkers
	Notifier Notifier
	Note     func(string)                         // a line for the next run report
	HashKind func(dest string) providers.HashKind // what each destination's service reports, for the weekly proof
	// WeeklyNotes, when set, gives the weekly proof's closing lines (test
	// restores, copies that need a retired key).
	WeeklyNotes func(ctx context.Context, now time.Time) []string
}

// Run watches the producers rather than the uploads: a backup that did
// not come (expect_every / expect_cron), one much smaller than usual, a
// silence that ended, and the weekly proof of backup.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		m.Check(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Checkers builds each watch's missed- and small-backup rules.
func Checkers(cfg *config.Config, log *slog.Logger) map[string]*expect.Checker {
	checkers := map[string]*expect.Checker{}
	for _, w := range cfg.Watches {
		c, err := expect.New(expect.Rule{Every: time.Duration(w.ExpectEvery), Cron: w.ExpectCron, Location: w.Location(), MinSizeRatio: w.MinSizeRatio})
		if err != nil {
			log.Error("missed-backup check off", "watch", w.Name, "err", err)
			continue
		}
		checkers[w.Name] = c
	}
	return checkers
}

// Check runs every check on the producers once. The daemon calls
// it every 30 s, `offsite once` once per run: everything it decides is kept
// in the queue database (alert keys in the outbox, judged backups in watch_state),
// so each alert goes out once however the checks are run.
func (m *Monitor) Check(ctx context.Context, now time.Time) {
	m.CheckProducers(ctx, now)
	m.Weekly(ctx, now)
	m.DailyDigest(ctx, now)
}

// watchingSince is when offsite began watching a watch (kept across
// restarts), standing in for the last arrival before the first one.
func (m *Monitor) watchingSince(ctx context.Context, watch string, now time.Time) time.Time {
	t, err := m.Store.WatchingSince(ctx, watch, now)
	if err != nil {
		// Only the reference for a first missed-backup alert; the next check tries again.
		m.Log.Warn("cannot record when watching began", "watch", watch, "err", err)
	}
	return t
}

// silence returns the end of a watch's silence as stored, expired or not.
func (m *Monitor) silence(ctx context.Context, watch string) time.Time {
	t, err := m.Store.SilencedUntil(ctx, watch)
	if err != nil {
		m.Log.Warn("cannot read whether missed-backup alerts are silenced", "watch", watch, "err", err)
	}
	return t
}

// CheckProducers alerts backups missed or suspiciously small, and notes
// silences that ended.
func (m *Monitor) CheckProducers(ctx context.Context, now time.Time) {
	for _, w := range m.Cfg.Watches {
		c := m.Checkers[w.Name]
		if c == nil {
			continue
		}
		silenced := m.silence(ctx, w.Name)
		if !silenced.IsZero() && !now.Before(silenced) {
			if done, err := m.Store.SilenceEndNoted(ctx, w.Name, silenced); err == nil && !done {
				if err := m.Store.NoteSilenceEnd(ctx, w.Name, silenced, now); err != nil {
					m.Log.Warn("cannot record that a silence ended; the note may repeat", "watch", w.Name, "err", err)
				}
				m.Note(fmt.Sprintf("Missed-backup alerts for '%s' were silenced until %s; they are on again.", w.Name, silenced.Format("Mon 2 Jan 2006")))
			}
		}
		last, err := m.Store.LastArrival(ctx, w.Name)
		if err != nil {
			continue
		}
		ref := last
		if ref.IsZero() {
			ref = m.watchingSince(ctx, w.Name, now)
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
			m.storeEvent(ctx, e)
		}
		vs, err := m.Store.RecentVersions(ctx, w.Name, 8)
		if err != nil || len(vs) == 0 {
			continue
		}
		// The newest backup judged is kept, so a restart or the next
		// `once` does not judge it again.
		judged, had, err := m.Store.SmallJudged(ctx, w.Name)
		if err != nil || judged == vs[0].SHA256 {
			continue
		}
		if err := m.Store.SetSmallJudged(ctx, w.Name, vs[0].SHA256); err != nil {
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
			m.storeEvent(ctx, notify.Small(w.Name, vs[0].Rel, vs[0].Size, median))
		}
	}
}

// storeEvent keeps an event in the outbox for delivery; one that cannot be
// kept is logged (the check that raised it runs again in 30 seconds).
func (m *Monitor) storeEvent(ctx context.Context, e notify.Event) {
	if err := m.Notifier.Notify(ctx, e); err != nil {
		m.Log.Error("could not store notification", "kind", e.Kind, "key", e.Key, "err", err)
	}
}

// Weekly sends the proof of backup once a week: from Monday 08:00, or at
// the first check after it that week (a PC that was off on Monday, a
// scheduled `once` that runs in the evening). Its key is the ISO week, so
// it goes out once. A week in which offsite was first started sends none.
func (m *Monitor) Weekly(ctx context.Context, now time.Time) {
	monday := time.Date(now.Year(), now.Month(), now.Day()-(int(now.Weekday())+6)%7, 8, 0, 0, 0, now.Location())
	if now.Before(monday) {
		return
	}
	since, err := m.Store.WeeklySince(ctx, now)
	if err != nil {
		m.Log.Warn("cannot record since when weekly summaries are due", "err", err)
	}
	if since.After(monday) {
		return
	}
	proof := notify.WeeklyProof{Time: now}
	for _, w := range m.Cfg.Watches {
		wp := notify.WatchProof{Watch: w.Name}
		for _, dest := range w.Destinations {
			c := notify.Copy{Dest: dest}
			jobs, err := m.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Watch: w.Name, Destination: dest, Purpose: queue.Routine, Limit: 1})
			if err == nil && len(jobs) > 0 {
				j := jobs[0]
				c.File, c.Time, c.Size, c.Hash = j.RemotePath, j.DoneAt, j.Version.Size, j.RemoteHash
				c.HashKind = string(m.HashKind(dest))
			}
			wp.Copies = append(wp.Copies, c)
		}
		proof.Watches = append(proof.Watches, wp)
	}
	if m.WeeklyNotes != nil {
		proof.Notes = m.WeeklyNotes(ctx, now)
	}
	m.storeEvent(ctx, notify.Weekly(proof))
}

// DailyDigest sends, with `report: daily`, one report a day at 07:00 of
// the uploads finished and failing in the 24 hours before.
func (m *Monitor) DailyDigest(ctx context.Context, now time.Time) {
	if m.Cfg.Report != config.ReportDaily || now.Hour() < 7 {
		return
	}
	if sent, err := m.Store.DailyReportSent(ctx, now); err != nil || sent {
		return
	}
	since := now.Add(-24 * time.Hour)
	r := notify.RunReport{Start: since, End: now}
	done, err := m.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Limit: 10000})
	if err != nil {
		return
	}
	for _, j := range done {
		if j.DoneAt.Before(since) {
			continue
		}
		r.Uploads = append(r.Uploads, notify.Upload{Watch: j.Version.Watch, File: j.Version.Rel, Dest: j.Destination,
			Version: j.Version.SHA256, Size: j.Version.Size, Hash: j.RemoteHash, HashKind: string(m.HashKind(j.Destination))})
	}
	failing, _ := m.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Failed, queue.Dead}, Limit: 100})
	for _, j := range failing {
		r.Failures = append(r.Failures, notify.Failure{Watch: j.Version.Watch, File: j.Version.Rel, Dest: j.Destination, Attempts: j.Attempts, Error: j.LastError,
			GivenUp: j.State == queue.Dead})
	}
	if err := m.Notifier.Notify(ctx, notify.Report(r)); err == nil {
		if err := m.Store.MarkDailyReport(ctx, now, now); err != nil {
			m.Log.Warn("cannot record that the daily report went out; it may be sent again", "err", err)
		}
	}
}

// Fresh is false when any watch is missing its backup.
func (m *Monitor) Fresh(ctx context.Context, now time.Time) bool {
	for _, w := range m.Cfg.Watches {
		c, err := expect.New(expect.Rule{Every: time.Duration(w.ExpectEvery), Cron: w.ExpectCron, Location: w.Location()})
		if err != nil {
			continue
		}
		last, _ := m.Store.LastArrival(ctx, w.Name)
		if last.IsZero() {
			last = m.watchingSince(ctx, w.Name, now)
		}
		if missed, _ := c.Missed(now, last, m.silence(ctx, w.Name)); missed {
			return false
		}
	}
	return true
}
