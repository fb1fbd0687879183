// Package verify checks that what the queue records as uploaded is still
// at its destination (`offsite verify`): by the service's size and hash,
// or by a test restore (`--restore`). With repair, a copy that is missing,
// changed or damaged is made due again in the queue, so the daemon uploads
// it once more from the watched folder, through the same path as any
// upload.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/offsite-backup/offsite/drill"
	"github.com/offsite-backup/offsite/internal/termsafe"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
)

// Verifier checks the done uploads in Store.
type Verifier struct {
	Store *queue.Store
	// Provider gives a destination's provider.
	Provider func(ctx context.Context, dest string) (providers.Provider, error)
	// Cannot says why dest cannot be op ("verified", "read back"), nil when
	// it can (a mailbox cannot be looked in).
	Cannot func(dest, op string) error
	// Readable says whether dest is still configured and can be read
	// back, for test restores.
	Readable func(dest string) bool
	// Folder is a watch's folder, "" when the watch is no longer configured.
	Folder func(watch string) string
	Log    *slog.Logger
}

// Result sums up a verify run.
type Result struct {
	OK        int // still there with the recorded hash
	Bad       int // missing, changed, or could not be checked
	Requeued  int // bad ones put back in the queue (with repair)
	Unchecked int // of Bad: the destination could not be asked
}

// All checks that every done upload is still at its destination with the
// recorded size and hash, printing a line for each that is not; with
// repair, a copy that is missing or changed is put back in the queue.
func (v *Verifier) All(ctx context.Context, w io.Writer, repair bool) (Result, error) {
	var r Result
	jobs, err := v.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}})
	if err != nil {
		return r, fmt.Errorf("read the queue: %w", err)
	}
	provs := map[string]providers.Provider{}
	unverifiable := map[string]int{}
	for _, j := range jobs {
		if v.Cannot(j.Destination, "verified") != nil {
			unverifiable[j.Destination]++
			continue
		}
		p, seen := provs[j.Destination]
		if !seen {
			p, err = v.Provider(ctx, j.Destination)
			if err != nil {
				fmt.Fprintf(w, "✗ %s: %s\n", j.Destination, termsafe.Quote(err.Error()))
			}
			provs[j.Destination] = p
		}
		if p == nil {
			r.Bad++
			r.Unchecked++
			continue
		}
		rf, why, err := Check(ctx, p, j)
		switch {
		case err != nil:
			// Not known to be gone: nothing to repair, only to report.
			fmt.Fprintf(w, "✗ %s:%s: could not check: %s\n", j.Destination, termsafe.Quote(j.RemotePath), termsafe.Quote(err.Error()))
			r.Bad++
			r.Unchecked++
			continue
		case why == "":
			r.OK++
			continue
		}
		if why == Missing {
			fmt.Fprintf(w, "✗ %s:%s: %s\n", j.Destination, termsafe.Quote(j.RemotePath), why)
		} else {
			fmt.Fprintf(w, "✗ %s:%s: changed since upload (size %d, hash %s; uploaded %d, %s)\n", j.Destination, termsafe.Quote(j.RemotePath), rf.Size, rf.Hash, storedSize(j), j.RemoteHash)
		}
		r.Bad++
		if !repair {
			continue
		}
		ok, err := v.Requeue(ctx, j, why, w, nil)
		if err != nil {
			return r, err
		}
		if ok {
			r.Requeued++
		}
	}
	for _, dest := range slices.Sorted(maps.Keys(unverifiable)) {
		fmt.Fprintf(w, "- %s: %d upload(s) not checked: %s\n", dest, unverifiable[dest], v.Cannot(dest, "verified"))
	}
	fmt.Fprintf(w, "%d upload(s) verified, %d missing or changed", r.OK, r.Bad)
	if r.Unchecked > 0 {
		fmt.Fprintf(w, " (%d could not be checked)", r.Unchecked)
	}
	fmt.Fprintln(w)
	if repair {
		fmt.Fprintf(w, "%d upload(s) re-queued; the running daemon sends them within a minute (without one, run `offsite once`)\n", r.Requeued)
	} else if r.Bad > r.Unchecked {
		fmt.Fprintln(w, "run `offsite verify --repair` to upload the missing or changed ones again")
	}
	return r, nil
}

// What Check finds wrong with a copy.
const (
	Missing = "missing at the destination"
	Changed = "changed at the destination since upload"
)

// Check asks p whether j's copy is still there as it was uploaded: why is
// "" when it is, else Missing or Changed (rf is what the service holds);
// err is set when the destination could not be asked.
func Check(ctx context.Context, p providers.Provider, j *queue.Job) (rf providers.RemoteFile, why string, err error) {
	rf, err = p.Stat(ctx, j.RemotePath)
	switch {
	case errors.Is(err, providers.ErrNotFound):
		return rf, Missing, nil
	case err != nil:
		return rf, "", err
	case rf.Size != storedSize(j) || (j.RemoteHash != "" && rf.Hash != "" && !providers.SameHash(p.HashKind(), rf.Hash, j.RemoteHash)):
		return rf, Changed, nil
	}
	return rf, "", nil
}

// storedSize is the size of what was sent for j: its stored form's, when
// the destination compressed or encrypted it.
func storedSize(j *queue.Job) int64 {
	if j.Form != "" {
		return j.StoredSize
	}
	return j.Version.Size
}

// Requeue puts a done job whose copy is gone back in the queue, when its
// source is still in the watched folder as it was uploaded. before, when
// set, runs once the source is known to be there, and may refuse.
func (v *Verifier) Requeue(ctx context.Context, j *queue.Job, why string, w io.Writer, before func() error) (bool, error) {
	name := j.Version.Watch + "/" + j.Version.Rel
	dir := v.Folder(j.Version.Watch)
	if dir == "" {
		fmt.Fprintf(w, "  cannot re-queue %s: watch %s is no longer in the config\n", name, j.Version.Watch)
		return false, nil
	}
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(j.Version.Rel)))
	if err != nil || fi.Size() != j.Version.Size || !fi.ModTime().Equal(j.Version.ModTime) {
		fmt.Fprintf(w, "  cannot re-queue %s: the watched folder no longer holds it as it was uploaded; restore it from another destination with `offsite restore`\n", name)
		return false, nil
	}
	if before != nil {
		if err := before(); err != nil {
			fmt.Fprintf(w, "  cannot re-queue %s: %s\n", name, termsafe.Quote(err.Error()))
			return false, nil
		}
	}
	ok, err := v.Store.Redo(ctx, j.ID, "verify: "+why+"; uploading again")
	if err != nil {
		return false, err
	}
	if ok {
		fmt.Fprintf(w, "  ↻ re-queued %s → %s\n", name, j.Destination)
	}
	return ok, nil
}

// Restore test-restores the newest backup of each watch at dest ("" =
// every destination) and sample older ones, opening them with open,
// printing one line each, and records the outcomes. It returns the tally;
// Failed > 0 means a stored copy is not the original.
func (v *Verifier) Restore(ctx context.Context, w io.Writer, dest string, open drill.Opener, sample int, repair bool) (drill.Tally, error) {
	all, err := drill.Targets(ctx, v.Store, dest, v.Readable)
	if err != nil {
		return drill.Tally{}, err
	}
	now := time.Now()
	picked := drill.Pick(all, sample, rand.New(rand.NewPCG(uint64(now.UnixNano()), 1)))
	outcomes := drill.Run(ctx, picked, open)
	for _, o := range outcomes {
		fmt.Fprintln(w, termsafe.Quote(o.Line()))
	}
	if err := drill.Record(ctx, v.Store, now, outcomes); err != nil {
		v.Log.Warn("cannot record test restore results", "err", err)
	}
	t := drill.Count(outcomes)
	if repair {
		if err := v.repairDrilled(ctx, w, outcomes); err != nil {
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

// repairDrilled queues the copies that failed their test restore again,
// when the watched folder still holds the file as it was uploaded.
func (v *Verifier) repairDrilled(ctx context.Context, w io.Writer, outcomes []drill.Outcome) error {
	for _, o := range outcomes {
		if o.Err == nil {
			continue
		}
		jobs, err := v.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Destination: o.Dest})
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
			ok, err := v.Requeue(ctx, j, "test restore failed", w, func() error {
				p, err := v.Provider(ctx, o.Dest)
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
				if err := v.Store.ClearRestoreFailure(ctx, o.Dest, o.Remote); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
