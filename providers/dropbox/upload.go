package dropbox

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/files"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/retry"
)

// Put stores size bytes from r at p. Files up to one chunk go in one
// request; larger ones through an upload session that resumes from
// o.Session. A file already at p with the same content_hash counts as this
// upload (a lost answer must not make "file (1).bak"); one with other
// content is replaced, so exactly one file remains.
func (c *Client) Put(ctx context.Context, p string, r io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	full, rel, err := c.remote(p)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	u := &upload{c: c, full: full, rel: rel, r: r, size: size, o: o}
	if size <= c.chunk {
		return u.single(ctx)
	}
	return u.session(ctx)
}

// upload is one Put in progress.
type upload struct {
	c    *Client
	full string // Dropbox path
	rel  string // destination-relative path, for messages and results
	r    io.ReadSeeker
	size int64
	o    providers.PutOptions
}

// sessionState is what OnSession hands out and Session brings back.
type sessionState struct {
	V      int    `json:"v"`
	ID     string `json:"id"`
	Offset int64  `json:"offset"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Hash   string `json:"hash,omitempty"`
}

func (u *upload) single(ctx context.Context) (providers.RemoteFile, error) {
	buf := make([]byte, u.size)
	if err := u.read(ctx, 0, buf); err != nil {
		return providers.RemoteFile{}, err
	}
	sum := contentHash(buf)
	if err := u.checkHash(sum); err != nil {
		return providers.RemoteFile{}, err
	}
	commit := func(mode string) (*files.FileMetadata, error) {
		var md *files.FileMetadata
		err := u.c.chunkCall(ctx, "upload "+u.rel, func(ctx context.Context) (err error) {
			arg := &files.UploadArg{CommitInfo: *u.commitInfo(mode), ContentHash: sum}
			md, err = u.c.files.UploadContext(ctx, arg, bytes.NewReader(buf))
			return err
		})
		return md, err
	}
	md, err := commit(files.WriteModeAdd)
	if conflict := conflictOf(err); conflict != "" {
		rf, same, serr := u.sameFile(ctx, sum, conflict)
		if serr != nil {
			return providers.RemoteFile{}, serr
		}
		if same {
			if u.o.OnProgress != nil {
				u.o.OnProgress(u.size)
			}
			return rf, nil
		}
		md, err = commit(files.WriteModeOverwrite)
	}
	if err != nil {
		return providers.RemoteFile{}, err
	}
	if u.o.OnProgress != nil {
		u.o.OnProgress(u.size)
	}
	return u.result(md), nil
}

// session uploads in chunks: start, append_v2 for each acknowledged chunk,
// finish with the last one. Memory is one chunk.
func (u *upload) session(ctx context.Context) (providers.RemoteFile, error) {
	buf := make([]byte, u.c.chunk)
	whole := &runningHash{h: providers.NewContentHash()}
	st := u.resume()
	for restarts := 0; ; restarts++ {
		if restarts > 2 {
			return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "",
				"upload %s: Dropbox keeps losing the upload session", u.rel)
		}
		if st == nil {
			var err error
			if st, err = u.start(ctx, buf, whole); err != nil {
				return providers.RemoteFile{}, err
			}
		}
		rf, err := u.send(ctx, st, buf, whole)
		if errors.Is(err, errSessionGone) {
			st = nil
			u.save(nil)
			continue
		}
		if err == nil {
			u.save(nil)
		}
		return rf, err
	}
}

// errSessionGone means the service forgot the session (expired, or
// finished by an attempt whose answer was lost): start over.
var errSessionGone = errors.New("upload session gone")

// resume returns the saved session when it belongs to this upload.
func (u *upload) resume() *sessionState {
	if len(u.o.Session) == 0 {
		return nil
	}
	var st sessionState
	if json.Unmarshal(u.o.Session, &st) != nil || st.V != 1 || st.ID == "" || st.Path != u.full ||
		st.Size != u.size || st.Offset <= 0 || st.Offset > u.size || st.Hash != u.o.Hash {
		return nil
	}
	return &st
}

func (u *upload) save(st *sessionState) {
	if u.o.OnSession == nil {
		return
	}
	if st == nil {
		u.o.OnSession(nil)
		return
	}
	b, _ := json.Marshal(st)
	u.o.OnSession(b)
}

func (u *upload) acked(st *sessionState, off int64) {
	st.Offset = off
	u.save(st)
	if u.o.OnProgress != nil {
		u.o.OnProgress(off)
	}
}

// start opens a session carrying the first chunk.
func (u *upload) start(ctx context.Context, buf []byte, whole *runningHash) (*sessionState, error) {
	chunk := buf[:min(u.c.chunk, u.size)]
	if err := u.read(ctx, 0, chunk); err != nil {
		return nil, err
	}
	whole.add(0, chunk)
	var res *files.UploadSessionStartResult
	err := u.c.chunkCall(ctx, "upload "+u.rel, func(ctx context.Context) (err error) {
		arg := &files.UploadSessionStartArg{}
		res, err = u.c.files.UploadSessionStartContext(ctx, arg, chunkBody(chunk))
		return err
	})
	if err != nil {
		return nil, err
	}
	st := &sessionState{V: 1, ID: res.SessionId, Path: u.full, Size: u.size, Hash: u.o.Hash}
	u.acked(st, int64(len(chunk)))
	return st, nil
}

// send appends from st.Offset on and finishes. While one chunk is in
// flight the next is read into a second buffer, so reading the source and
// sending overlap (memory: two chunks).
func (u *upload) send(ctx context.Context, st *sessionState, buf []byte, whole *runningHash) (providers.RemoteFile, error) {
	off := st.Offset
	spare := make([]byte, len(buf))
	var ahead *readAhead
	defer func() { ahead.wait() }() // never leave a read of the source running
	for corrections := 0; ; {
		chunk := buf[:min(u.c.chunk, u.size-off)]
		last := off+int64(len(chunk)) == u.size
		// The read-ahead must be over before the source is read again.
		ready := ahead.wait() && ahead.off == off && len(ahead.buf) == len(chunk)
		if err := whole.catchUp(ctx, u, off, buf); err != nil {
			return providers.RemoteFile{}, err
		}
		if ready {
			buf, spare = spare, buf
			chunk = buf[:len(chunk)]
		} else if err := u.read(ctx, off, chunk); err != nil {
			return providers.RemoteFile{}, err
		}
		ahead = nil
		whole.add(off, chunk)
		cur := files.NewUploadSessionCursor(st.ID, uint64(off))
		if !last {
			nextOff := off + int64(len(chunk))
			ahead = u.readAhead(ctx, nextOff, spare[:min(u.c.chunk, u.size-nextOff)])
			err := u.c.chunkCall(ctx, "upload "+u.rel, func(ctx context.Context) error {
				arg := &files.UploadSessionAppendArg{Cursor: cur}
				return u.c.files.UploadSessionAppendV2Context(ctx, arg, chunkBody(chunk))
			})
			next, err := u.after(err, nextOff)
			if err != nil {
				return providers.RemoteFile{}, err
			}
			if next != nextOff {
				if corrections++; corrections > 5 {
					return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "",
						"upload %s: Dropbox keeps moving the session offset", u.rel)
				}
			}
			off = next
			u.acked(st, off)
			continue
		}
		fileSum := whole.sum()
		if err := u.checkHash(fileSum); err != nil {
			return providers.RemoteFile{}, err
		}
		md, err := u.finish(ctx, cur, chunk, contentHash(chunk), files.WriteModeAdd)
		if conflict := conflictOf(err); conflict != "" {
			rf, same, serr := u.sameFile(ctx, fileSum, conflict)
			if serr != nil {
				return providers.RemoteFile{}, serr
			}
			if same {
				u.acked(st, u.size)
				return rf, nil
			}
			// The bytes are in the session already: commit them again, empty.
			cur = files.NewUploadSessionCursor(st.ID, uint64(u.size))
			md, err = u.finish(ctx, cur, nil, contentHash(nil), files.WriteModeOverwrite)
		}
		if errors.Is(err, errSessionGone) {
			// An earlier finish may have landed with its answer lost.
			if rf, serr := u.c.stat(ctx, u.full, u.rel); serr == nil && providers.SameHash(providers.ContentHash, rf.Hash, fileSum) {
				u.acked(st, u.size)
				return rf, nil
			}
			return providers.RemoteFile{}, err
		}
		if r, ok := routeErrorOf(err); ok && r.session == files.UploadSessionLookupErrorIncorrectOffset &&
			r.correct > 0 && r.correct <= u.size && corrections < 5 {
			corrections++
			off = r.correct
			continue
		}
		if err != nil {
			return providers.RemoteFile{}, err
		}
		u.acked(st, u.size)
		return u.result(md), nil
	}
}

func (u *upload) finish(ctx context.Context, cur *files.UploadSessionCursor, body []byte, sum, mode string) (*files.FileMetadata, error) {
	var md *files.FileMetadata
	err := u.c.chunkCall(ctx, "upload "+u.rel, func(ctx context.Context) (err error) {
		arg := &files.UploadSessionFinishArg{Cursor: cur, Commit: u.commitInfo(mode), ContentHash: sum}
		md, err = u.c.files.UploadSessionFinishContext(ctx, arg, bytes.NewReader(body))
		return err
	})
	if r, ok := routeErrorOf(err); ok && r.session == files.UploadSessionLookupErrorNotFound {
		return nil, fmt.Errorf("upload %s: %w", u.rel, errSessionGone)
	}
	return md, err
}

// after turns an append's outcome into the next offset: the end of the
// chunk, or wherever the service says it has data up to.
func (u *upload) after(err error, end int64) (int64, error) {
	if err == nil {
		return end, nil
	}
	r, ok := routeErrorOf(err)
	switch {
	case ok && r.session == files.UploadSessionLookupErrorIncorrectOffset && r.correct > 0 && r.correct <= u.size:
		return r.correct, nil
	case ok && r.session == files.UploadSessionLookupErrorNotFound:
		return 0, fmt.Errorf("upload %s: %w", u.rel, errSessionGone)
	}
	return 0, err
}

// chunkCall runs one upload request under the shared retry policy and
// pacer. Answers the upload logic handles itself (offset corrections, a
// vanished session, a name conflict) are not retried.
func (c *Client) chunkCall(ctx context.Context, op string, fn func(context.Context) error) error {
	var handled error
	err := retry.Do(ctx, c.policy, c.pacer, func(ctx context.Context) error {
		err := c.call(ctx, op, fn)
		if r, ok := routeErrorOf(err); ok && (r.session != "" || r.conflictTag() != "") {
			handled = err
			return nil
		}
		return err
	})
	if err == nil {
		err = handled
	}
	return err
}

// conflictOf returns the conflict tag of a write that found something in the way.
func conflictOf(err error) string {
	r, _ := routeErrorOf(err)
	return r.conflictTag()
}

// sameFile looks at what is in the way of a commit: the same content
// (same = true) is this upload done; another file may be replaced; a
// folder may not.
func (u *upload) sameFile(ctx context.Context, sum, conflict string) (providers.RemoteFile, bool, error) {
	if conflict != files.WriteConflictErrorFile {
		return providers.RemoteFile{}, false, providers.Errorf(providers.Permanent, providers.ReasonName,
			"rename or remove what is in the way in Dropbox", "upload %s: a folder is in the way (%s)", u.rel, conflict)
	}
	rf, err := u.c.stat(ctx, u.full, u.rel)
	if errors.Is(err, providers.ErrNotFound) {
		return providers.RemoteFile{}, false, nil // gone meanwhile: write it
	}
	if err != nil {
		return providers.RemoteFile{}, false, err
	}
	if !rf.Dir && providers.SameHash(providers.ContentHash, rf.Hash, sum) {
		return rf, true, nil
	}
	return providers.RemoteFile{}, false, nil
}

func (u *upload) commitInfo(mode string) *files.CommitInfo {
	ci := files.NewCommitInfo(u.full)
	ci.Mode = &files.WriteMode{Tagged: dropbox.Tagged{Tag: mode}}
	ci.Autorename = false
	ci.Mute = true // a backup landing is no news to the account's desktop apps
	if !u.o.ModTime.IsZero() {
		t := dropbox.DBXTime(u.o.ModTime)
		ci.ClientModified = &t
	}
	return ci
}

func (u *upload) result(md *files.FileMetadata) providers.RemoteFile {
	rf, _ := remoteFile(u.rel, md)
	return rf
}

// checkHash refuses to commit bytes that are not what the caller hashed:
// the source changed since.
func (u *upload) checkHash(sum string) error {
	if u.o.Hash == "" || providers.SameHash(providers.ContentHash, u.o.Hash, sum) {
		return nil
	}
	return providers.Errorf(providers.Temporary, providers.ReasonChecksum, "",
		"upload %s: the source's content_hash %s differs from the expected %s", u.rel, sum, u.o.Hash)
}

// read fills buf from the source at off, giving up promptly when ctx ends.
func (u *upload) read(ctx context.Context, off int64, buf []byte) error {
	if _, err := u.r.Seek(off, io.SeekStart); err != nil {
		return providers.Errorf(providers.Permanent, providers.ReasonSourceGone, "", "upload %s: seek source: %w", u.rel, err)
	}
	for n := 0; n < len(buf); {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("upload %s: %w", u.rel, err)
		}
		m, err := u.r.Read(buf[n:])
		n += m
		switch {
		case n == len(buf):
		case errors.Is(err, io.EOF):
			return providers.Errorf(providers.Permanent, providers.ReasonSourceGone, "",
				"upload %s: source ended at %d of %d bytes", u.rel, off+int64(n), u.size)
		case err != nil:
			return providers.Classify(providers.Temporary, fmt.Errorf("upload %s: read source: %w", u.rel, err))
		}
	}
	return nil
}

// chunkBody sends a middle chunk without a hash of its own, which the SDK
// would otherwise compute: the whole file's content_hash is checked against
// the source's before the finish and against Dropbox's answer after it, so
// hashing every chunk once more only costs CPU.
func chunkBody(b []byte) io.Reader { return files.WithoutAutoContentHash(bytes.NewReader(b)) }

// readAhead is the next chunk being read from the source in the
// background.
type readAhead struct {
	off  int64
	buf  []byte
	err  error
	done chan struct{}
}

func (u *upload) readAhead(ctx context.Context, off int64, buf []byte) *readAhead {
	a := &readAhead{off: off, buf: buf, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.err = u.read(ctx, off, buf)
	}()
	return a
}

// wait waits for the read to end and reports whether it filled its buffer.
// A nil readAhead has nothing to wait for.
func (a *readAhead) wait() bool {
	if a == nil {
		return false
	}
	<-a.done
	return a.err == nil
}

func contentHash(b []byte) string {
	h := providers.NewContentHash()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// runningHash is the whole file's content_hash, fed as chunks go out. When
// the upload skips ahead (a resumed session, a corrected offset) the
// skipped bytes are read from the source just to hash them.
type runningHash struct {
	h hash.Hash
	n int64 // bytes hashed so far
}

func (w *runningHash) add(off int64, b []byte) {
	if off <= w.n && off+int64(len(b)) > w.n {
		w.h.Write(b[w.n-off:])
		w.n = off + int64(len(b))
	}
}

func (w *runningHash) catchUp(ctx context.Context, u *upload, to int64, buf []byte) error {
	for w.n < to {
		part := buf[:min(int64(len(buf)), to-w.n)]
		if err := u.read(ctx, w.n, part); err != nil {
			return err
		}
		w.add(w.n, part)
	}
	return nil
}

func (w *runningHash) sum() string { return hex.EncodeToString(w.h.Sum(nil)) }
