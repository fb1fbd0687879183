package daemon

import (
	"context"
	"errors"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/spool"
)

// Reasons of the stored-form errors, for pauses and alerts.
const (
	reasonSpoolFull providers.Reason = "spool-full"
	reasonNoKeys    providers.Reason = "encrypt-removed"
)

// uploadStored sends a job whose destination compresses or encrypts: the
// stored form is made once into the spool and the upload (and every
// resume after a restart) sends those same bytes, since age output
// differs on every run. The service's hash is checked against them.
func (d *Daemon) uploadStored(ctx context.Context, dst *Destination, w Watch, j *queue.Job) (providers.RemoteFile, error) {
	if s, ok := providers.StreamerOf(dst.Provider); ok {
		return d.streamStored(ctx, s, dst, w, j)
	}
	sp := d.o.Spool
	if sp == nil {
		return providers.RemoteFile{}, errors.New("no spool folder configured for compressed or encrypted uploads")
	}
	kind := dst.Provider.HashKind()
	f, err := sp.Open(j.ID, j.Form)
	if err == nil && j.StoredSHA256 == "" {
		// Made, but the record did not land (a crash in between): the
		// record is what a resumed session is checked against, so make it again.
		f.Close()
		err = fs.ErrNotExist
	}
	var hs providers.Hashes
	if errors.Is(err, fs.ErrNotExist) {
		// Made now, with the service's hash of it on the way: no pass
		// over the copy before it is sent.
		f, hs, err = d.makeStored(ctx, dst, w, j, kind)
	} else if err == nil {
		hs, err = d.checkSpooled(f, j, kind)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return providers.RemoteFile{}, err
	}
	defer f.Close()
	opts := d.putOptions(ctx, j, hs.Sums[kind], hs.Parts[kind])
	defer d.clearAcked(j.ID)
	var body io.ReadSeeker = f
	if dst.Body != nil {
		body = dst.Body(ctx, body)
	}
	return dst.Provider.Put(ctx, j.RemotePath, body, j.StoredSize, opts)
}

// checkSpooled hashes a copy an earlier attempt (or process) spooled, and
// drops it unless it still is what was recorded.
func (d *Daemon) checkSpooled(f *os.File, j *queue.Job, kind providers.HashKind) (providers.Hashes, error) {
	kinds := []providers.HashKind{providers.SHA256}
	if kind != providers.SHA256 {
		kinds = append(kinds, kind)
	}
	hs, err := providers.Hash(f, kinds...)
	if err != nil {
		return hs, providers.Errorf(providers.Temporary, "", "check the disk of the state folder", "read the spooled copy of %s: %w", j.Version.Rel, err)
	}
	if hs.Sums[providers.SHA256] != j.StoredSHA256 || hs.N != j.StoredSize {
		d.dropSpool(j)
		return hs, providers.Errorf(providers.Temporary, "", "nothing to do: it is made again from the backup; if it recurs, check the state folder's disk",
			"the spooled copy of %s changed on disk since it was made", j.Version.Rel)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return hs, err
	}
	return hs, nil
}

// makeStored encodes the job's version into the spool, checking it is
// still the queued version, and records what was made. It returns the
// copy open at its start, with its SHA-256 and its hash of kind.
func (d *Daemon) makeStored(ctx context.Context, dst *Destination, w Watch, j *queue.Job, kind providers.HashKind) (*os.File, providers.Hashes, error) {
	spec, err := jobSpec(dst, j)
	if err != nil {
		return nil, providers.Hashes{}, err
	}
	src, err := openVersion(w, j)
	if err != nil {
		return nil, providers.Hashes{}, err
	}
	defer src.Close()
	sp := d.o.Spool
	var svc hash.Hash
	var also []io.Writer
	if kind != providers.SHA256 {
		if svc, err = providers.NewHash(kind); err != nil {
			return nil, providers.Hashes{}, err
		}
		also = append(also, svc)
	}
	res, err := sp.Make(j.ID, j.Form, src, j.Version.Size, spec, also...)
	switch {
	case errors.Is(err, spool.ErrNoSpace):
		return nil, providers.Hashes{}, providers.Errorf(providers.Fatal, reasonSpoolFull,
			"free space on the state folder's disk, or move state_dir to a larger disk; uploads to "+dst.Name+" go on by themselves then",
			"cannot make the %s copy of %s: %w", codecWords(j.Form), j.Version.Rel, err)
	case err != nil:
		return nil, providers.Hashes{}, providers.Errorf(providers.Temporary, "", "check that the backup and the state folder can be read and written",
			"make the %s copy of %s: %w", codecWords(j.Form), j.Version.Rel, err)
	}
	if res.Original.SHA256 != j.Version.SHA256 || res.Original.Size != j.Version.Size {
		d.dropSpool(j)
		return nil, providers.Hashes{}, errSuperseded
	}
	recipients := spec.Recipients
	if spec.Passphrase != "" {
		recipients = []string{"passphrase"}
	}
	if err := d.store.SetStored(context.WithoutCancel(ctx), j.ID, res.Stored.Size, res.Stored.SHA256, recipients); err != nil {
		d.dropSpool(j)
		return nil, providers.Hashes{}, providers.Errorf(providers.Temporary, "", "", "%w", err)
	}
	j.StoredSize, j.StoredSHA256, j.Recipients = res.Stored.Size, res.Stored.SHA256, recipients
	hs := providers.Hashes{N: res.Stored.Size, Sums: map[providers.HashKind]string{providers.SHA256: res.Stored.SHA256}}
	if svc != nil {
		hs.Sums[kind] = providers.EncodeHash(kind, svc.Sum(nil))
		if p, ok := svc.(providers.Parted); ok {
			hs.Parts = map[providers.HashKind][]string{kind: p.Parts()}
		}
	}
	f, err := sp.Open(j.ID, j.Form)
	return f, hs, err
}

// openVersion opens the job's source, if it still looks like the queued
// version (its content is proven while it is read).
func openVersion(w Watch, j *queue.Job) (*os.File, error) {
	src, err := openSource(w.Path, j.Version.Rel)
	if err != nil {
		return nil, sourceError(filepath.Join(w.Path, filepath.FromSlash(j.Version.Rel)), err)
	}
	st, err := src.Stat()
	if err == nil && !sameFile(st, j.Version) {
		err = errSuperseded
	}
	if err != nil {
		src.Close()
		return nil, err
	}
	return src, nil
}

// errPutEnded is what the encoder meets when the destination stopped
// reading the stream (its own error says why).
var errPutEnded = errors.New("the destination stopped reading")

// streamStored sends a job's stored form to a destination that takes
// streams (a local folder: a temp file renamed into place is atomic
// without a session): it is encoded straight into the destination, with
// no copy in the spool and no free space needed there. The original is
// proven to be the queued version in the same pass; if it is not, the
// stream is cut before its end and nothing lands. The stored form's size
// and SHA-256 are recorded once the destination holds it and its hash
// matched what was sent.
func (d *Daemon) streamStored(ctx context.Context, s providers.Streamer, dst *Destination, w Watch, j *queue.Job) (providers.RemoteFile, error) {
	spec, err := jobSpec(dst, j)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	src, err := openVersion(w, j)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	defer src.Close()
	// A copy an earlier attempt spooled (before this destination took
	// streams) is not sent: a stream is made afresh each time.
	d.dropSpool(j)
	pr, pw := io.Pipe()
	type encoded struct {
		res codec.Result
		err error
	}
	done := make(chan encoded, 1)
	go func() {
		res, err := codec.EncodeChecked(pw, src, spec, codec.Sum{Size: j.Version.Size, SHA256: j.Version.SHA256})
		pw.CloseWithError(err) // nil: the stream ends with io.EOF
		done <- encoded{res, err}
	}()
	// No session to save: a stream is never resumed.
	opts := providers.PutOptions{ModTime: j.Version.ModTime}
	var body io.Reader = pr
	if dst.Body != nil {
		body = dst.Body(ctx, providers.Unseekable(pr))
	}
	rf, err := s.PutStream(ctx, j.RemotePath, body, opts)
	pr.CloseWithError(errPutEnded) // unblocks the encoder if the destination gave up early
	enc := <-done
	switch {
	case errors.Is(enc.err, codec.ErrChanged):
		if err == nil {
			// Cannot happen (the stream was cut before its end), but a
			// changed source must never count as this version.
			_ = dst.Provider.Delete(context.WithoutCancel(ctx), j.RemotePath)
		}
		return providers.RemoteFile{}, errSuperseded
	case err != nil && enc.err != nil && errors.Is(err, enc.err) && ctx.Err() == nil:
		// The destination stopped because the encoder did (the backup
		// could not be read): that is the cause to report.
		return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "check that the backup can be read",
			"make the %s copy of %s: %w", codecWords(j.Form), j.Version.Rel, enc.err)
	case err != nil:
		return providers.RemoteFile{}, err
	case enc.err != nil:
		// The destination took a stream that did not end well; it is
		// not this version.
		_ = dst.Provider.Delete(context.WithoutCancel(ctx), j.RemotePath)
		return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "",
			"make the %s copy of %s: %w", codecWords(j.Form), j.Version.Rel, enc.err)
	}
	res := enc.res
	recipients := spec.Recipients
	if spec.Passphrase != "" {
		recipients = []string{"passphrase"}
	}
	if err := d.store.SetStored(context.WithoutCancel(ctx), j.ID, res.Stored.Size, res.Stored.SHA256, recipients); err != nil {
		// Unrecorded, it is not counted; the next attempt makes it again.
		_ = dst.Provider.Delete(context.WithoutCancel(ctx), j.RemotePath)
		return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "", "%w", err)
	}
	j.StoredSize, j.StoredSHA256, j.Recipients = res.Stored.Size, res.Stored.SHA256, recipients
	return rf, nil
}

// jobSpec is how the job is encoded: the form fixed when it was queued,
// with the destination's keys of today.
func jobSpec(dst *Destination, j *queue.Job) (codec.Spec, error) {
	compress, encrypt, _ := codec.Layers("x" + j.Form)
	spec := dst.Codec
	spec.Compress = compress
	if !encrypt {
		spec.Recipients, spec.Passphrase = nil, ""
	} else if !spec.Encrypted() {
		return spec, providers.Errorf(providers.Permanent, reasonNoKeys,
			"put encrypt back in the destination's config and run `offsite retry`; files queued from now on are sent unencrypted",
			"%s was queued to be stored encrypted at %s, whose config no longer has encrypt", j.Version.Rel, dst.Name)
	}
	return spec, nil
}

func codecWords(form string) string {
	compress, encrypt, _ := codec.Layers("x" + form)
	switch {
	case compress && encrypt:
		return "compressed, encrypted"
	case encrypt:
		return "encrypted"
	default:
		return "compressed"
	}
}

// dropSpool removes a job's stored form once nothing will send it again.
func (d *Daemon) dropSpool(j *queue.Job) {
	if j.Form == "" || d.o.Spool == nil {
		return
	}
	if err := d.o.Spool.Remove(j.ID); err != nil {
		d.log.Warn("cannot remove a spooled copy; it is removed at the next start", "file", j.Version.Rel, "err", err)
	}
}

// sweepSpool removes the spooled copies of jobs that ended while offsite
// was not running (or whose removal failed), and partial ones.
func (d *Daemon) sweepSpool(ctx context.Context) {
	if d.o.Spool == nil {
		return
	}
	live, err := d.store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Pending, queue.Failed, queue.Uploading}})
	if err != nil {
		d.log.Warn("cannot read the queue to clean the spool; trying at the next start", "err", err)
		return
	}
	keep := map[int64]bool{}
	for _, j := range live {
		keep[j.ID] = true
	}
	n, err := d.o.Spool.Sweep(func(id int64) bool { return keep[id] })
	if err != nil {
		d.log.Warn("cannot remove every finished spooled copy", "err", err)
	}
	if n > 0 {
		d.log.Info("removed spooled copies of finished uploads", "files", n)
	}
}

// sourceError is what the user is told when the backup cannot be opened.
func sourceError(abs string, err error) error {
	if errors.Is(err, errLinked) {
		return providers.Errorf(providers.Permanent, "",
			"find out who replaced the backup with a link, remove it, and let the program write the backup again",
			"%s: %w; nothing was sent", abs, errLinked)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotRegular) {
		return providers.Errorf(providers.Permanent, providers.ReasonSourceGone, "", "%s was removed before it was sent", abs)
	}
	return providers.Errorf(providers.Temporary, "", "check that the service's user may read the backup folder", "open %s: %w", abs, err)
}
