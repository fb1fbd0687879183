// Package drill runs test restores: it picks stored backups (each watch's
// newest at each destination, and a random sample of older ones),
// downloads them, decrypts and decompresses what it can, and compares the
// result with the original's SHA-256. A backup nobody has restored is a
// hope; this turns it into a checked fact, and it is the one check that
// catches damage a service's own weak hash (OneDrive's quickXorHash) lets
// through.
package drill

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/restore"
)

// Target is one stored backup.
type Target struct {
	ID         int64 // the queue's job, for a repair
	Dest       string
	Remote     string
	Watch      string
	File       string    // path in the watch
	Uploaded   time.Time // when the upload finished
	Modified   time.Time // the version's modification time: which is newest
	Original   codec.Sum
	Stored     codec.Sum // the stored form's, when it has one
	Encrypted  bool
	Recipients []string
}

// Pick returns the newest target of each watch at each destination, then
// up to sample older ones drawn at random with r.
func Pick(all []Target, sample int, r *rand.Rand) []Target {
	newest := map[string]int{}
	for i, t := range all {
		k := t.Watch + "\x00" + t.Dest
		j, ok := newest[k]
		if !ok || t.Modified.After(all[j].Modified) || t.Modified.Equal(all[j].Modified) && t.Uploaded.After(all[j].Uploaded) {
			newest[k] = i
		}
	}
	picked := map[int]bool{}
	var out, older []Target
	for _, i := range newest {
		picked[i] = true
		out = append(out, all[i])
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Watch != out[j].Watch {
			return out[i].Watch < out[j].Watch
		}
		return out[i].Dest < out[j].Dest
	})
	for i, t := range all {
		if !picked[i] {
			older = append(older, t)
		}
	}
	if r != nil {
		r.Shuffle(len(older), func(i, j int) { older[i], older[j] = older[j], older[i] })
	}
	return append(out, older[:min(sample, len(older))]...)
}

// Outcome is one target's test restore.
type Outcome struct {
	Target
	// Full: decrypted (when encrypted), decompressed and compared with the
	// original. Otherwise the key was not at hand and only the stored
	// bytes and the age header were checked.
	Full bool
	Err  error
}

// Opener gives a destination's provider and the keys that open its
// encrypted files (zero Keys when none are at hand).
type Opener func(ctx context.Context, dest string) (providers.Provider, codec.Keys, error)

// Run test-restores each target in turn, keeping nothing on disk.
func Run(ctx context.Context, targets []Target, open Opener) []Outcome {
	out := make([]Outcome, 0, len(targets))
	for _, t := range targets {
		if ctx.Err() != nil {
			break
		}
		o := Outcome{Target: t}
		p, keys, err := open(ctx, t.Dest)
		if err != nil {
			o.Err = err
			out = append(out, o)
			continue
		}
		req := restore.Request{Provider: p, Dest: t.Dest, Remote: t.Remote, Keys: keys, Want: t.Original, Recipients: t.Recipients}
		if t.Encrypted && len(keys.Identities) == 0 && keys.Passphrase == "" {
			_, o.Err = restore.CheckStored(ctx, req, t.Stored)
		} else {
			o.Full = true
			_, o.Err = restore.Check(ctx, req)
		}
		out = append(out, o)
	}
	return out
}

// Tally counts outcomes.
type Tally struct {
	Full, StoredOnly, Failed int
}

// Count sums up outcomes.
func Count(os []Outcome) Tally {
	var t Tally
	for _, o := range os {
		switch {
		case o.Err != nil:
			t.Failed++
		case o.Full:
			t.Full++
		default:
			t.StoredOnly++
		}
	}
	return t
}

// Line is one outcome as a person reads it.
func (o Outcome) Line() string {
	switch {
	case o.Err != nil:
		return fmt.Sprintf("✗ %s:%s: %v", o.Dest, o.Remote, o.Err)
	case o.Full:
		return fmt.Sprintf("✓ %s:%s: restored and checked (%d bytes, SHA-256 %s)", o.Dest, o.Remote, o.Original.Size, o.Original.SHA256)
	default:
		return fmt.Sprintf("~ %s:%s: stored bytes and age header checked; a full test restore needs its private key (--identity)", o.Dest, o.Remote)
	}
}
