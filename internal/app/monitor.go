package app

import (
	"context"
	"time"

	"github.com/offsite-backup/offsite/monitor"
)

// monitorFor builds the producer checks over p's notifier and run report
// (p may be nil for Fresh, which only reads).
func (a *App) monitorFor(p *pipeline) *monitor.Monitor {
	m := &monitor.Monitor{Cfg: a.Cfg, Store: a.Store, Log: a.Log, HashKind: a.hashKind, Note: func(string) {},
		WeeklyNotes: func(ctx context.Context, now time.Time) []string {
			return append(a.drillNotes(ctx, now), a.keyNotes(ctx)...)
		}}
	if p != nil {
		m.Checkers = monitor.Checkers(a.Cfg, a.Log)
		m.Notifier = p.notifier
		if p.daemon != nil {
			m.Note = p.daemon.AddNote
		}
	}
	return m
}

// silence returns the end of a watch's silence as stored, expired or not.
func (a *App) silence(ctx context.Context, watch string) time.Time {
	t, err := a.Store.SilencedUntil(ctx, watch)
	if err != nil {
		a.Log.Warn("cannot read whether missed-backup alerts are silenced", "watch", watch, "err", err)
	}
	return t
}

// until returns t while it is still ahead of now, else zero.
func until(t, now time.Time) time.Time {
	if !t.After(now) {
		return time.Time{}
	}
	return t
}
