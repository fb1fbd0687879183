package app

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/drill"
	"github.com/offsite-backup/offsite/internal/termsafe"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
)

// drillTargets lists the stored backups at dest ("" = every destination)
// that a test restore can pick from.
func (a *App) drillTargets(ctx context.Context, dest string) ([]drill.Target, error) {
	jobs, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Destination: dest})
	if err != nil {
		return nil, fmt.Errorf("read the queue: %w", err)
	}
	var out []drill.Target
	for _, j := range jobs {
		if a.Cfg.Destination(j.Destination) == nil || a.cannot(j.Destination, "read back") != nil {
			continue // no longer configured, or a mailbox: nothing to download it with
		}
		_, encrypted, _ := codec.Layers("x" + j.Form)
		t := drill.Target{
			ID: j.ID, Dest: j.Destination, Remote: j.RemotePath, Watch: j.Version.Watch, File: j.Version.Rel,
			Uploaded: j.DoneAt, Modified: j.Version.ModTime,
			Original:  codec.Sum{Size: j.Version.Size, SHA256: j.Version.SHA256},
			Encrypted: encrypted, Recipients: j.Recipients,
		}
		if j.Form != "" {
			t.Stored = codec.Sum{Size: j.StoredSize, SHA256: j.StoredSHA256}
		}
		out = append(out, t)
	}
	return out, nil
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
	all, err := a.drillTargets(ctx, dest)
	if err != nil {
		return drill.Tally{}, err
	}
	picked := drill.Pick(all, sample, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)))
	outcomes := drill.Run(ctx, picked, a.opener(identities))
	for _, o := range outcomes {
		fmt.Fprintln(w, termsafe.Quote(o.Line()))
	}
	a.recordDrill(ctx, time.Now(), outcomes)
	t := drill.Count(outcomes)
	if repair {
		if err := a.repairDrilled(ctx, w, outcomes); err != nil {
			return t, err
		}
	}
	fmt.Fprintf(w, "%d backup(s) restored and checked, %d checked without their key, %d failed\n", t.Full, t.StoredOnly, t.Failed)
	if t.Failed > 0 && !repair {
		fmt.Fprintln(w, "run `offsite verify --restore --repair` to upload the failed ones again from the watched folder")
	}
	if t.StoredOnly > 0 {
		fmt.Fprintln(w, "give the private key with --identity FILE for a full test restore of the encrypted ones")
	}
	if len(picked) == 0 {
		fmt.Fprintln(w, "nothing uploaded yet: there is nothing to test")
	}
	return t, ctx.Err()
}

// drillLoop runs a test restore whenever drill.every has passed since the
// last one (kept across restarts), looking once an hour.
func (a *App) drillLoop(ctx context.Context, p *pipeline) {
	every := time.Duration(a.Cfg.Drill.Every)
	if every <= 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	// Not at once: a PC that was just switched on has uploads to do first.
	first := time.NewTimer(10 * time.Minute)
	defer first.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-first.C:
		case <-t.C:
		}
		a.drillIfDue(ctx, p, time.Now())
	}
}

// drillIfDue runs one drill when it is due and reports it: a failure alert
// per damaged copy, and a line for the weekly report.
func (a *App) drillIfDue(ctx context.Context, p *pipeline, now time.Time) {
	rec, err := a.Store.Drills(ctx)
	if err != nil {
		a.Log.Warn("cannot read when the last test restore ran", "err", err)
		return
	}
	if rec.LastRun.IsZero() {
		// A new install has its first uploads to make: the clock starts now.
		a.setDrillRun(ctx, now)
		return
	}
	if now.Sub(rec.LastRun) < time.Duration(a.Cfg.Drill.Every) {
		return
	}
	all, err := a.drillTargets(ctx, "")
	if err != nil || len(all) == 0 {
		return
	}
	picked := drill.Pick(all, a.Cfg.Drill.Sample, rand.New(rand.NewPCG(uint64(now.UnixNano()), 2)))
	outcomes := drill.Run(ctx, picked, a.opener(nil))
	if ctx.Err() != nil {
		return // cut short by a shutdown: it runs again after the restart
	}
	a.setDrillRun(ctx, now)
	a.recordDrill(ctx, now, outcomes)
	tally := drill.Count(outcomes)
	for _, o := range outcomes {
		if o.Err != nil {
			a.Log.Error("test restore failed", "destination", o.Dest, "remote", o.Remote, "err", o.Err)
			e := notify.DrillFailed(o.Watch, o.File, o.Dest, o.Remote, now, o.Err)
			if err := p.notifier.Notify(ctx, e); err != nil {
				a.Log.Error("could not store notification", "kind", e.Kind, "key", e.Key, "err", err)
			}
		}
	}
	line := fmt.Sprintf("Test restore on %s: %d backup(s) restored and checked against the original", now.Format("Mon 2 Jan 2006"), tally.Full)
	if tally.StoredOnly > 0 {
		line += fmt.Sprintf(", %d encrypted one(s) checked without the key", tally.StoredOnly)
	}
	if tally.Failed > 0 {
		line += fmt.Sprintf(", %d FAILED (see the alerts)", tally.Failed)
	}
	var full time.Time
	if tally.Failed == 0 && tally.StoredOnly == 0 {
		full = now
	}
	if err := a.Store.SetDrillResult(ctx, line+".", full); err != nil {
		a.Log.Warn("cannot record the test restore for the weekly report", "err", err)
	}
	a.Log.Info("test restore done", "restored", tally.Full, "checked_without_key", tally.StoredOnly, "failed", tally.Failed)
}

// drillNotes are the weekly report's lines about test restores: the last
// one, and a reminder when no full one ran for a month because the key is
// not on this PC.
func (a *App) drillNotes(ctx context.Context, now time.Time) []string {
	var notes []string
	rec, err := a.Store.Drills(ctx)
	if err != nil {
		a.Log.Warn("cannot read the test restores for the weekly report", "err", err)
		return nil
	}
	if rec.Result != "" {
		notes = append(notes, rec.Result)
	}
	if !rec.LastRun.IsZero() && (rec.FullOK.IsZero() || now.Sub(rec.FullOK) > 30*24*time.Hour) && strings.Contains(rec.Result, "without the key") {
		notes = append(notes, "The encrypted backups' private key is not on this PC, so only a person holding it can test them in full: "+
			"run `offsite verify --restore --identity KEYFILE` this month.")
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

func (a *App) setDrillRun(ctx context.Context, at time.Time) {
	if err := a.Store.SetDrillRun(ctx, at); err != nil {
		a.Log.Warn("cannot record when the test restore ran; it may run again early", "err", err)
	}
}

// recordDrill notes each outcome: a failure is kept, a pass clears it.
func (a *App) recordDrill(ctx context.Context, at time.Time, outcomes []drill.Outcome) {
	tested := make([]queue.TestRestore, 0, len(outcomes))
	for _, o := range outcomes {
		t := queue.TestRestore{At: at, Destination: o.Dest, Remote: o.Remote, Watch: o.Watch, File: o.File}
		if o.Err != nil {
			t.Error = o.Err.Error()
		}
		tested = append(tested, t)
	}
	if err := a.Store.RecordTestRestores(ctx, tested); err != nil {
		a.Log.Warn("cannot record test restore results", "err", err)
	}
}

// repairDrilled queues the copies that failed their test restore again,
// when the watched folder still holds the file as it was uploaded.
func (a *App) repairDrilled(ctx context.Context, w io.Writer, outcomes []drill.Outcome) error {
	for _, o := range outcomes {
		if o.Err == nil {
			continue
		}
		jobs, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Destination: o.Dest})
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j.ID != o.ID {
				continue
			}
			// The damaged copy goes first: its service hash may equal the
			// original's (quickXorHash), and the upload would take it for
			// the file already there.
			ok, err := a.requeueWith(ctx, j, "test restore failed", w, func() error {
				p, err := a.providerByName(ctx, o.Dest)
				if err != nil {
					return err
				}
				if err := p.Delete(ctx, o.Remote); err != nil {
					return fmt.Errorf("remove the damaged copy %s: %w", o.Remote, err)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if ok {
				fmt.Fprintf(w, "  re-queued %s for %s\n", termsafe.Quote(o.Remote), o.Dest)
				if err := a.Store.ClearRestoreFailure(ctx, o.Dest, o.Remote); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
