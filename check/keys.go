package check

import (
	"fmt"
	"io"
	"strings"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/termsafe"
)

// Keys reports, for `offsite check`, how each destination encrypts, and
// with identity files, whether one of them opens what each destination
// stores from now on. It returns the number of problems.
func Keys(w io.Writer, cfg *config.Config, identities []string) int {
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
	for _, d := range cfg.Destinations {
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
