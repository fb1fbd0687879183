package app

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/internal/termsafe"
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

// CheckKeys reports, for `offsite check`, how each destination encrypts,
// and with identity files, whether one of them opens what each destination
// stores from now on. It returns the number of problems.
func (a *App) CheckKeys(w io.Writer, identities []string) int {
	problems := 0
	var public map[string]string // public key → identity file
	if len(identities) > 0 {
		public = map[string]string{}
		for _, f := range identities {
			ids, err := codec.ReadIdentities(f)
			if err != nil {
				fmt.Fprintf(w, "✗ %s\n", termsafe.Quote(err.Error()))
				problems++
				continue
			}
			for _, k := range codec.PublicKeys(ids) {
				public[k] = f
			}
		}
	}
	for _, d := range a.Cfg.Destinations {
		spec := d.Codec()
		switch {
		case spec.Passphrase != "":
			fmt.Fprintf(w, "✓ destination %s: encrypts with a passphrase; keep it written down away from this PC\n", d.Name)
		case len(spec.Recipients) > 0:
			if err := spec.Check(); err != nil {
				fmt.Fprintf(w, "✗ destination %s: %s\n", d.Name, termsafe.Quote(err.Error()))
				problems++
				continue
			}
			fmt.Fprintf(w, "✓ destination %s: encrypts to %d key(s): %s\n", d.Name, len(spec.Recipients), strings.Join(spec.Recipients, ", "))
			if public == nil {
				continue
			}
			var opens []string
			for _, r := range spec.Recipients {
				if f, ok := public[strings.TrimSpace(r)]; ok {
					opens = append(opens, f)
				}
			}
			if len(opens) == 0 {
				fmt.Fprintf(w, "✗ destination %s: none of the --identity files is one of its recipients: they cannot restore its new uploads\n    what to do: find the key whose public key is listed, or add this key's public key (`age-keygen -y FILE`) to encrypt: recipients\n", d.Name)
				problems++
				continue
			}
			fmt.Fprintf(w, "✓ destination %s: %s opens its uploads\n", d.Name, termsafe.Quote(opens[0]))
		}
	}
	return problems
}
