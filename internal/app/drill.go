package app

import (
	"context"
	"io"
	"time"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/drill"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/verify"
)

// readable reports whether dest is configured and can be read back: a
// test restore can pick its copies.
func (a *App) readable(dest string) bool {
	return a.Cfg.Destination(dest) != nil && a.cannot(dest, "read back") == nil
}

// opener gives each destination's provider and the keys at hand.
func (a *App) opener(identities []string) drill.Opener {
	return func(ctx context.Context, dest string) (providers.Provider, codec.Keys, error) {
		p, err := a.providerByName(ctx, dest)
		if err != nil {
			return nil, codec.Keys{}, err
		}
		k, err := a.keys(dest, identities)
		return p, k, err
	}
}

// verifier checks the recorded uploads through each destination's stack.
func (a *App) verifier() *verify.Verifier {
	return &verify.Verifier{Store: a.Store, Provider: a.providerByName, Cannot: a.cannot, Readable: a.readable, Log: a.Log,
		Folder: func(watch string) string {
			if w := a.Cfg.Watch(watch); w != nil {
				return w.Path
			}
			return ""
		}}
}

// VerifyRestore test-restores the newest backup of each watch at dest (""
// = every destination) and sample older ones, printing one line each. It
// returns the tally; Failed > 0 means a stored copy is not the original.
func (a *App) VerifyRestore(ctx context.Context, w io.Writer, dest string, identities []string, sample int, repair bool) (drill.Tally, error) {
	if dest != "" {
		if _, err := a.destination(dest); err != nil {
			return drill.Tally{}, err
		}
	}
	if _, err := codec.ReadIdentities(identities...); err != nil {
		return drill.Tally{}, err
	}
	return a.verifier().Restore(ctx, w, dest, a.opener(identities), sample, repair)
}

// drillRunner is the daemon's test restore, alerting through p's notifier.
func (a *App) drillRunner(p *pipeline) *drill.Runner {
	return &drill.Runner{Store: a.Store, Every: time.Duration(a.Cfg.Drill.Every), Sample: a.Cfg.Drill.Sample,
		Readable: a.readable, Open: a.opener(nil), Notifier: p.notifier, Log: a.Log}
}

// presence is the daemon's daily look at the newest copies at each cloud
// destination, alerting through p's notifier.
func (a *App) presence(p *pipeline) *verify.Presence {
	return &verify.Presence{V: a.verifier(), Every: 24 * time.Hour, Recent: 35 * 24 * time.Hour, Limit: 300, Notifier: p.notifier,
		Checks: func(dest string) bool {
			return a.Cfg.Destination(dest) != nil && a.cannot(dest, "verified") == nil && !a.isLocal(dest)
		}}
}

// drillNotes are the weekly report's lines about test restores.
func (a *App) drillNotes(ctx context.Context, now time.Time) []string {
	notes, err := drill.Notes(ctx, a.Store, now)
	if err != nil {
		a.Log.Warn("cannot read the test restores for the weekly report", "err", err)
	}
	return notes
}

// drillFailures are the copies whose last test restore failed:
// destination → remote path → error. They stay until a later test passes
// or the copy is uploaded again: status shows them, the light is not
// green meanwhile.
func (a *App) drillFailures(ctx context.Context) map[string]map[string]string {
	m, err := a.Store.RestoreFailures(ctx)
	if err != nil {
		a.Log.Warn("cannot read the failed test restores", "err", err)
	}
	return m
}
