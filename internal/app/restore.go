package app

import (
	"context"
	"fmt"
	"os"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/restore"
)

// PassphraseEnv names the variable a restore takes an age passphrase from
// when the destination's config has none.
const PassphraseEnv = "OFFSITE_PASSPHRASE"

// keys gathers what can open dest's encrypted files: the identity files
// given, and the passphrase from the config or PassphraseEnv.
func (a *App) keys(dest string, identities []string) (codec.Keys, error) {
	ids, err := codec.ReadIdentities(identities...)
	if err != nil {
		return codec.Keys{}, err
	}
	k := codec.Keys{Identities: ids, Passphrase: os.Getenv(PassphraseEnv)}
	if d := a.Cfg.Destination(dest); d != nil && d.Encrypt.Passphrase != "" {
		k.Passphrase = d.Encrypt.Passphrase
	}
	return k, nil
}

// request describes remote at dest for a restore, with what the queue
// knows of it: the original's size and hash, and the keys it was
// encrypted to. A name offsite did not record is restored on what the
// file itself carries.
func (a *App) request(ctx context.Context, dest, remote string, identities []string) (restore.Request, error) {
	if err := a.cannot(dest, "read back"); err != nil {
		return restore.Request{}, err
	}
	p, err := a.providerByName(ctx, dest)
	if err != nil {
		return restore.Request{}, err
	}
	k, err := a.keys(dest, identities)
	if err != nil {
		return restore.Request{}, err
	}
	r := restore.Request{Provider: p, Dest: dest, Remote: remote, Keys: k}
	byRemote, _, err := a.fileVersions(ctx, dest)
	if err != nil {
		return r, err
	}
	if j, ok := byRemote[remote]; ok {
		r.Want = codec.Sum{Size: j.Version.Size, SHA256: j.Version.SHA256}
		r.Recipients = j.Recipients
	}
	return r, nil
}

// RestoreFile restores remote from dest to `to` (a new file, or a folder
// where it keeps its original name), decrypting with the given identity
// files or the passphrase, and returns the path written.
func (a *App) RestoreFile(ctx context.Context, dest, remote, to string, identities []string) (string, restore.Result, error) {
	r, err := a.request(ctx, dest, remote, identities)
	if err != nil {
		return "", restore.Result{}, err
	}
	return restore.File(ctx, r, to)
}

// Restore downloads remote to local (never overwriting a file), and checks
// the bytes against the hash the destination reports and the original's.
func (a *App) Restore(ctx context.Context, dest, remote, local string) (int64, error) {
	_, r, err := a.RestoreFile(ctx, dest, remote, local, nil)
	return r.Original.Size, err
}

// RestoreTarget is the remote path a restore reads: the newest backup of
// watch latest, or the newest version of the file named (named itself
// with exact). note, when set, says which version was picked.
func (a *App) RestoreTarget(ctx context.Context, dest, named, latest string, exact bool) (remote, note string, err error) {
	switch {
	case latest != "" && named != "":
		return "", "", fmt.Errorf("give either REMOTE or --latest WATCH, not both")
	case latest != "":
		remote, err = a.Latest(ctx, dest, latest)
		return remote, "", err
	case named == "":
		return "", "", fmt.Errorf("name the file to restore (see `offsite ls %s`), or give --latest WATCH", dest)
	case exact:
		return named, "", nil
	}
	return a.Newest(ctx, dest, named)
}

// Latest returns the remote path of the newest backup of watch uploaded
// to dest.
func (a *App) Latest(ctx context.Context, dest, watch string) (string, error) {
	if _, err := a.destination(dest); err != nil {
		return "", err
	}
	jobs, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Destination: dest, Watch: watch})
	if err != nil {
		return "", fmt.Errorf("read the queue: %w", err)
	}
	var newest *queue.Job
	for _, j := range jobs {
		if newest == nil || j.Version.ModTime.After(newest.Version.ModTime) ||
			j.Version.ModTime.Equal(newest.Version.ModTime) && j.ID > newest.ID {
			newest = j
		}
	}
	if newest == nil {
		return "", fmt.Errorf("no backup of watch %q is recorded as uploaded to %s; name the file instead (see `offsite ls %s`)", watch, dest, dest)
	}
	return newest.RemotePath, nil
}
