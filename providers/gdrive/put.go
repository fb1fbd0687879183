package gdrive

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"

	"github.com/offsite-backup/offsite/providers"
)

// Put stores size bytes from r at p. It looks before it creates: a file of
// that name with the same md5 is returned as it is (so a create retried
// after a lost answer makes no duplicate); otherwise the new content is
// uploaded and older files of that name are removed, so one remains.
func (c *Client) Put(ctx context.Context, p string, r io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	rel, dir, name, err := c.split(p)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	f, err := c.put(ctx, rel, dir, name, r, size, o)
	if errors.Is(err, providers.ErrNotFound) {
		// A cached folder was deleted under us: find or make it again.
		c.forgetFolders()
		f, err = c.put(ctx, rel, dir, name, r, size, o)
	}
	if err != nil {
		if ctx.Err() != nil {
			return providers.RemoteFile{}, fmt.Errorf("upload %s: %w", rel, ctx.Err())
		}
		return providers.RemoteFile{}, fmt.Errorf("upload %s: %w", rel, err)
	}
	return c.remote(rel, f), nil
}

func (c *Client) put(ctx context.Context, rel string, dir []string, name string, r io.ReadSeeker, size int64, o providers.PutOptions) (*drive.File, error) {
	parent, err := c.folder(ctx, dir, true)
	if err != nil {
		return nil, err
	}
	older, err := c.children(ctx, parent, name)
	if err != nil {
		return nil, err
	}
	want := o.Hash
	if want == "" && len(older) > 0 {
		if want, err = md5Of(ctx, r, size); err != nil {
			return nil, err
		}
	}
	if f := sameContent(older, size, want); f != nil {
		c.removeOthers(ctx, older, f.Id)
		if o.OnSession != nil {
			o.OnSession(nil)
		}
		return f, nil
	}
	var f *drive.File
	if size < c.chunk {
		f, err = c.putSmall(ctx, parent, name, r, size, o, want)
	} else {
		f, err = c.putResumable(ctx, parent, name, r, size, o, want)
	}
	if err != nil {
		return nil, err
	}
	if f.Size != size {
		_ = c.deleteID(ctx, f.Id)
		return nil, providers.Errorf(providers.Temporary, providers.ReasonChecksum, "",
			"Drive stored %d bytes of %d", f.Size, size)
	}
	// Keep the older versions when the new one is suspect: the caller
	// compares hashes and removes what it does not trust.
	if want == "" || providers.SameHash(providers.MD5, f.Md5Checksum, want) {
		c.removeOthers(ctx, older, f.Id)
	}
	return f, nil
}

// sameContent returns the newest file among fs that holds exactly this content.
func sameContent(fs []*drive.File, size int64, md5hex string) *drive.File {
	if md5hex == "" {
		return nil
	}
	for i := len(fs) - 1; i >= 0; i-- {
		f := fs[i]
		if f.MimeType != folderMime && f.Size == size && providers.SameHash(providers.MD5, f.Md5Checksum, md5hex) {
			return f
		}
	}
	return nil
}

// removeOthers deletes the same-named files other than keep. It is
// tidying: a failure leaves an older version behind, never loses the new one.
func (c *Client) removeOthers(ctx context.Context, fs []*drive.File, keep string) {
	for _, f := range fs {
		if f.Id != keep && f.MimeType != folderMime {
			_ = c.deleteID(ctx, f.Id)
		}
	}
}

// putSmall uploads a file below one chunk in one multipart request. The
// bytes are read once into memory (less than a chunk), so a failing source
// fails before anything is sent and a retry sends the same bytes.
func (c *Client) putSmall(ctx context.Context, parent, name string, r io.ReadSeeker, size int64, o providers.PutOptions, want string) (*drive.File, error) {
	buf := make([]byte, size)
	if err := readAt(ctx, r, 0, buf); err != nil {
		return nil, err
	}
	meta := &drive.File{Name: name, Parents: []string{parent}}
	if !o.ModTime.IsZero() {
		meta.ModifiedTime = o.ModTime.UTC().Format(time.RFC3339Nano)
	}
	if want == "" {
		sum := md5.Sum(buf)
		want = hex.EncodeToString(sum[:])
	}
	// More than size, so the SDK sees EOF inside its first chunk and sends multipart.
	chunk := int((size/chunkUnit + 1) * chunkUnit)
	var f *drive.File
	tried := false
	err := c.do(ctx, func(ctx context.Context) error {
		if tried {
			// The previous attempt may have stored the file and lost the answer.
			found, err := c.children(ctx, parent, name)
			if err != nil {
				return err
			}
			if f = sameContent(found, size, want); f != nil {
				return nil
			}
		}
		tried = true
		var err error
		f, err = c.svc.Files.Create(meta).Fields(fileFields).Context(ctx).
			Media(bytes.NewReader(buf), googleapi.ChunkSize(chunk), googleapi.ContentType("application/octet-stream")).Do()
		return err
	})
	if err == nil && o.OnProgress != nil {
		o.OnProgress(size)
	}
	return f, err
}

// md5Of hashes the source, for a Put without an expected hash that finds
// same-named files to compare with.
func md5Of(ctx context.Context, r io.ReadSeeker, size int64) (string, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", sourceError(err)
	}
	h := md5.New()
	n, err := io.CopyBuffer(h, &ctxReader{ctx: ctx, r: io.LimitReader(r, size)}, make([]byte, 256<<10))
	if err != nil {
		return "", sourceError(err)
	}
	if n != size {
		return "", sourceError(io.ErrUnexpectedEOF)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readAt fills buf from r at off: exactly len(buf) bytes.
func readAt(ctx context.Context, r io.ReadSeeker, off int64, buf []byte) error {
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		return sourceError(err)
	}
	if _, err := io.ReadFull(&ctxReader{ctx: ctx, r: r}, buf); err != nil {
		return sourceError(err)
	}
	return nil
}

// sourceError classifies a failure to read the local file. One that ends
// early shrank while being read; the watcher will offer it again.
func sourceError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return providers.Errorf(providers.Permanent, providers.ReasonSourceGone,
			"the file shrank while it was read; it will be picked up again once it is stable",
			"short read: %w", err)
	}
	return providers.Errorf(providers.Temporary, "", "", "read source: %w", err)
}

// ctxReader stops reading once ctx ends, so a stalled source cannot hold
// an upload past its cancellation.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
