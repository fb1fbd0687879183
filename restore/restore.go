// Package restore downloads a stored backup, undoes its stored form
// (decrypts, decompresses) and checks it against the original, writing
// nothing unless every check passes.
package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/providers"
)

// Request names one stored file and what is known about it.
type Request struct {
	Provider providers.Provider
	Dest     string // the destination's name, for messages
	Remote   string // its path there
	Keys     codec.Keys
	// Want is the original's size and SHA-256 when the queue knows them;
	// zero from a fresh install (a compressed file carries its own).
	Want codec.Sum
	// Recipients the file was encrypted to, when the queue knows them, to
	// say which key a wrong-key error needs.
	Recipients []string
}

// Result is what a restore or check found.
type Result struct {
	Original codec.Sum // the bytes written (or checked)
	Stored   int64     // bytes downloaded
}

// File restores r to to: a file that must not exist yet, or a folder,
// in which the file gets its original name (the stored name without
// .zst/.age). It writes to a temporary file beside the target and renames
// it only when the download, decoding and every hash check succeeded.
// It returns the path written.
func File(ctx context.Context, r Request, to string) (string, Result, error) {
	target := to
	if fi, err := os.Stat(to); err == nil && fi.IsDir() {
		_, _, orig := codec.Layers(path.Base(r.Remote))
		target = filepath.Join(to, orig)
	}
	if _, err := os.Lstat(target); err == nil {
		return target, Result{}, fmt.Errorf("%s already exists: choose another --to, restore never overwrites", target)
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".offsite-restore-*")
	if err != nil {
		return target, Result{}, fmt.Errorf("restore %s: %w", r.Remote, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	res, rf, err := decode(ctx, r, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return target, res, err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return target, res, fmt.Errorf("restore %s: %w", r.Remote, err)
	}
	if !rf.ModTime.IsZero() {
		// Cosmetic: the bytes are restored and checked.
		_ = os.Chtimes(target, rf.ModTime, rf.ModTime)
	}
	return target, res, nil
}

// Check downloads and decodes r without writing anything, as a test
// restore does.
func Check(ctx context.Context, r Request) (Result, error) {
	res, _, err := decode(ctx, r, io.Discard)
	return res, err
}

// decode streams the stored file through its service hash and the codec
// into w.
func decode(ctx context.Context, r Request, w io.Writer) (Result, providers.RemoteFile, error) {
	p := r.Provider
	rf, err := p.Stat(ctx, r.Remote)
	if err != nil {
		return Result{}, rf, fmt.Errorf("restore %s from %s: %w", r.Remote, r.Dest, err)
	}
	rc, err := p.Get(ctx, r.Remote)
	if err != nil {
		return Result{}, rf, fmt.Errorf("restore %s from %s: %w", r.Remote, r.Dest, err)
	}
	defer rc.Close()
	h, err := providers.NewHash(p.HashKind())
	if err != nil {
		return Result{}, rf, err
	}
	counted := &countReader{r: io.TeeReader(rc, h)}
	sum, err := codec.Decode(w, counted, path.Base(r.Remote), r.Keys, r.Want)
	res := Result{Original: sum, Stored: counted.n}
	if err != nil {
		return res, rf, r.explain(err)
	}
	// The codec read the stream to its end; the service's hash covers
	// every byte, so damage to a plain file is caught here too.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return res, rf, fmt.Errorf("restore %s from %s: %w", r.Remote, r.Dest, err)
	}
	got := providers.EncodeHash(p.HashKind(), h.Sum(nil))
	if rf.Hash != "" && !providers.SameHash(p.HashKind(), got, rf.Hash) {
		return res, rf, fmt.Errorf("%s at %s: the downloaded bytes hash to %s but %s reports %s: the download was damaged; try again",
			r.Remote, r.Dest, got, r.Dest, rf.Hash)
	}
	return res, rf, nil
}

// explain turns a codec error into one that names the file and the fix.
func (r Request) explain(err error) error {
	where := r.Remote + " at " + r.Dest
	switch {
	case errors.Is(err, codec.ErrNoKey):
		return fmt.Errorf("%s is encrypted: give its private key with --identity FILE, or the passphrase in the config or OFFSITE_PASSPHRASE", where)
	case errors.Is(err, codec.ErrWrongKey):
		hint := "give the --identity file whose public key was in encrypt: recipients when it was uploaded"
		if len(r.Recipients) > 0 && r.Recipients[0] != "passphrase" {
			hint = "it was encrypted to " + strings.Join(r.Recipients, ", ") + "; give the --identity file of one of them"
		} else if len(r.Recipients) > 0 {
			hint = "it was encrypted with a passphrase; give that one (config or OFFSITE_PASSPHRASE)"
		}
		return fmt.Errorf("none of the given keys opens %s: %s", where, hint)
	case errors.Is(err, codec.ErrDamaged), errors.Is(err, codec.ErrMismatch):
		return fmt.Errorf("%s is not the original backup (%w): restore an older copy or another destination's, and run `offsite verify --restore %s --repair` to replace it while the original is still in the watched folder", where, err, r.Dest)
	default:
		return fmt.Errorf("restore %s: %w", where, err)
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// CheckStored downloads r without decoding it, for an encrypted file whose
// key is not at hand: the stored bytes must be those that were sent
// (stored, when known) and the age header must parse.
func CheckStored(ctx context.Context, r Request, stored codec.Sum) (Result, error) {
	p := r.Provider
	where := r.Remote + " at " + r.Dest
	rf, err := p.Stat(ctx, r.Remote)
	if err != nil {
		return Result{}, fmt.Errorf("check %s: %w", where, err)
	}
	rc, err := p.Get(ctx, r.Remote)
	if err != nil {
		return Result{}, fmt.Errorf("check %s: %w", where, err)
	}
	defer rc.Close()
	h, err := providers.NewHash(p.HashKind())
	if err != nil {
		return Result{}, err
	}
	got, err := codec.CheckStored(io.TeeReader(rc, h), path.Base(r.Remote))
	res := Result{Stored: got.Size}
	if err != nil {
		if errors.Is(err, codec.ErrDamaged) {
			return res, r.explain(err)
		}
		return res, fmt.Errorf("check %s: %w", where, err)
	}
	if sum := providers.EncodeHash(p.HashKind(), h.Sum(nil)); rf.Hash != "" && !providers.SameHash(p.HashKind(), sum, rf.Hash) {
		return res, fmt.Errorf("%s: the downloaded bytes hash to %s but %s reports %s: the download was damaged; try again", where, sum, r.Dest, rf.Hash)
	}
	if !stored.IsZero() && got != stored {
		return res, r.explain(fmt.Errorf("%w: the stored bytes (%d, SHA-256 %s) are not those sent (%d, SHA-256 %s)",
			codec.ErrDamaged, got.Size, got.SHA256, stored.Size, stored.SHA256))
	}
	return res, nil
}
