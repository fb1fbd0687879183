package app

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/offsite-backup/offsite/check"
)

// RetiredKeyCopies counts, per destination, the stored backups that only
// keys no longer in its encrypt: recipients can open: after a key sheet
// was lost and the recipients changed, these still need the old key.
func (a *App) RetiredKeyCopies(ctx context.Context) (map[string]int, error) {
	counts, err := a.Store.StoredByRecipients(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for dest, byKeys := range counts {
		d := a.Cfg.Destination(dest)
		for keys, n := range byKeys {
			used := strings.Split(keys, ",")
			if used[0] == "passphrase" {
				continue // one passphrase; nothing to retire
			}
			current := []string{}
			if d != nil {
				current = d.Encrypt.Recipients
			}
			if !slices.ContainsFunc(used, func(k string) bool { return slices.Contains(current, k) }) {
				out[dest] += n
			}
		}
	}
	return out, nil
}

// keyNotes are the weekly report's lines about stored backups that depend
// on a retired key.
func (a *App) keyNotes(ctx context.Context) []string {
	retired, err := a.RetiredKeyCopies(ctx)
	if err != nil || len(retired) == 0 {
		return nil
	}
	dests := make([]string, 0, len(retired))
	for d := range retired {
		dests = append(dests, d)
	}
	sort.Strings(dests)
	var notes []string
	for _, d := range dests {
		notes = append(notes, fmt.Sprintf("%d stored backup(s) at %s can only be opened with a key no longer in its encrypt: recipients; keep that key until they are pruned.", retired[d], d))
	}
	return notes
}

// CheckKeys reports, for `offsite check`, how each destination encrypts
// and whether the identity files open it (see check.Keys).
func (a *App) CheckKeys(w io.Writer, identities []string) int {
	return check.Keys(w, a.Cfg, identities)
}
