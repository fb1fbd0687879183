package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
)

// NewKey makes a new age X25519 identity and returns the identity file's
// text (in the form age-keygen writes) and its public key.
func NewKey(now time.Time) (file []byte, public string, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, "", err
	}
	public = id.Recipient().String()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# created: %s\n# public key: %s\n%s\n", now.UTC().Format(time.RFC3339), public, id)
	return b.Bytes(), public, nil
}

// WriteKeyFile writes an identity file readable only by its owner. It
// never replaces an existing file: that could be the only key to a year
// of backups.
func WriteKeyFile(path string, file []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; it may be the only key to older backups, so choose another file name", path)
	}
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.Write(file); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	return f.Close()
}

// ReadIdentities reads age identity files (as `offsite key generate` or
// age-keygen write them). Errors name the file, never its contents.
func ReadIdentities(paths ...string) ([]age.Identity, error) {
	var ids []age.Identity
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read identity %s: %w", p, err)
		}
		got, err := age.ParseIdentities(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s is not an age identity file (it should hold a line starting with AGE-SECRET-KEY-, as `offsite key generate` writes)", filepath.Clean(p))
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// PublicKeys returns the public keys of the X25519 identities in ids.
func PublicKeys(ids []age.Identity) []string {
	var out []string
	for _, id := range ids {
		if x, ok := id.(*age.X25519Identity); ok {
			out = append(out, x.Recipient().String())
		}
	}
	return out
}
