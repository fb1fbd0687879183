package setup

import (
	"fmt"
	"io"
	"time"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/internal/termsafe"
)

// GenerateKey is `offsite key generate`: a new age key, written to file
// (0600, never over an existing one) or, with file "", printed to out to
// be printed on paper or stored; then its public key for the config, and
// why the private key must be kept somewhere else too.
func GenerateKey(out io.Writer, file string) error {
	key, public, err := codec.NewKey(time.Now())
	if err != nil {
		return err
	}
	if file == "" {
		fmt.Fprint(out, string(key))
	} else if err := codec.WriteKeyFile(file, key); err != nil {
		return err
	} else {
		fmt.Fprintf(out, "private key written to %s (readable only by you)\n", termsafe.Quote(file))
	}
	_, err = fmt.Fprintf(out, `public key: %s

Put the public key under encrypt: recipients: in the config.
WARNING: whoever loses this private key loses every backup encrypted to it: nobody,
offsite included, can open them without it. Print it, keep it with the lease papers,
and do not keep it only on this PC (see docs/restore.md, key escrow).
`, public)
	return err
}
