// Package push sends one file to one destination now, outside the queue
// (`offsite push`): in the destination's stored form, read once, and never
// over a different file of the same name.
package push

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
	"github.com/offsite-backup/offsite/spool"
)

// Request is one push.
type Request struct {
	Provider providers.Provider // the destination's stack
	Dest     string             // its name, for errors
	File     string
	// As is the remote path; "" is the file's name at the destination's
	// root. The stored form's suffix is added to it.
	As string
	// Spec is the destination's stored form; a compressed or encrypted
	// one is made into Spool first.
	Spec  codec.Spec
	Spool *spool.Dir
	// Look says whether the destination can be looked in (a mailbox
	// cannot: there each push is one more mail).
	Look     bool
	Progress func(done, total int64)
}

// File uploads r.File. A copy with the same content already at the remote
// path is returned as it is; a different file there is never overwritten:
// the upload gets a timestamped name beside it.
func File(ctx context.Context, r Request) (providers.RemoteFile, error) {
	f, err := os.Open(r.File)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return providers.RemoteFile{}, err
	}
	if st.IsDir() {
		return providers.RemoteFile{}, fmt.Errorf("%s is a folder: push takes one file", r.File)
	}
	var body io.ReadSeeker = f
	size := st.Size()
	if !r.Spec.Plain() {
		enc, res, err := r.Spool.Scratch(f, size, r.Spec)
		if err != nil {
			return providers.RemoteFile{}, fmt.Errorf("push %s: make its stored form for %s: %w", r.File, r.Dest, err)
		}
		defer os.Remove(enc.Name())
		defer enc.Close()
		body, size = enc, res.Stored.Size
	}
	p := r.Provider
	remote := r.As
	if remote == "" {
		remote = filepath.Base(r.File)
	}
	if r.Look {
		if rf, err := p.Stat(ctx, remote+r.Spec.Suffix()); err == nil {
			// Only a copy of the same size can be this file: only then is
			// the file hashed before it is sent.
			if rf.Size == size {
				sums, _, err := providers.HashReader(body, p.HashKind())
				if err != nil {
					return providers.RemoteFile{}, fmt.Errorf("read %s: %w", r.File, err)
				}
				if providers.SameHash(p.HashKind(), rf.Hash, sums[p.HashKind()]) {
					return rf, nil // already there
				}
				if _, err := body.Seek(0, io.SeekStart); err != nil {
					return providers.RemoteFile{}, fmt.Errorf("read %s: %w", r.File, err)
				}
			}
			ext := path.Ext(remote)
			remote = strings.TrimSuffix(remote, ext) + "." + st.ModTime().UTC().Format("2006-01-02T150405Z") + ext
		} else if !errors.Is(err, providers.ErrNotFound) {
			return providers.RemoteFile{}, fmt.Errorf("push %s: %w", r.File, err)
		}
	}
	remote += r.Spec.Suffix()
	// No hash up front: the stack hashes the bytes as they are sent and
	// checks the service's against it, so the file is read once.
	opts := providers.PutOptions{ModTime: st.ModTime()}
	if r.Progress != nil {
		total := size
		opts.OnProgress = func(n int64) { r.Progress(n, total) }
	}
	rf, err := p.Put(ctx, remote, body, size, opts)
	if err != nil {
		return rf, fmt.Errorf("push %s to %s: %w", r.File, r.Dest, err)
	}
	return rf, nil
}
