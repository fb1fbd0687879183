package dropbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"

	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/files"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/retry"
)

// Put stores size bytes from r at p. Files up to one chunk go in one
// request; larger ones through an upload session that resumes from
// o.Session. A file already at p with the same content_hash counts as this
// upload (a lost answer must not make "file (1).bak"). Nothing is written
// in overwrite mode: a file with other content under exactly this name is
// replaced only in the revision Put looked at (update by rev), so exactly
// one file remains and none written meanwhile is lost; a file under a name
// Dropbox takes for this one (it ignores case: "Kassa.bak" for
// "kassa.bak") is another file and is never replaced (Permanent, name).
func (c *Client) Put(ctx context.Context, p string, r io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	full, rel, err := c.remote(p)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	u := &upload{c: c, full: full, rel: rel, r: r, size: size, o: o, given: givenBlocks(o, size)}
	if ra, ok := r.(io.ReaderAt); ok && u.given != nil {
		u.ra = ra
	}
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
	// given are the content_hash blocks of the caller's pass over the
	// source (PutOptions.Parts), or nil: then the upload hashes each
	// chunk itself.
	given []string
	// ra is the source read in place, set when it can be and given is:
	// then each append streams its chunk straight from the source, with
	// no chunk buffer and nothing to hash.
	ra io.ReaderAt
}

// givenBlocks returns o.Parts when they are the blocks of o.Hash for size
// bytes, and nil otherwise.
func givenBlocks(o providers.PutOptions, size int64) []string {
	if o.Hash == "" || int64(len(o.Parts)) != (size+hashBlock-1)/hashBlock ||
		!providers.SameHash(providers.ContentHash, providers.ContentHashOfParts(o.Parts), o.Hash) {
		return nil
	}
	return o.Parts
}

// sessionState is what OnSession hands out and Session brings back: a
// concurrent upload session and the chunks it has acknowledged.
type sessionState struct {
	V      int     `json:"v"` // 2: concurrent session
	ID     string  `json:"id"`
	Path   string  `json:"path"`
	Size   int64   `json:"size"`
	Chunk  int64   `json:"chunk"`
	Hash   string  `json:"hash,omitempty"`
	Offset int64   `json:"offset"`          // every chunk below is acknowledged
	Ahead  []int64 `json:"ahead,omitempty"` // acknowledged chunks past Offset, by offset
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
	commit := func(mode *files.WriteMode) (*files.FileMetadata, error) {
		var md *files.FileMetadata
		err := u.c.chunkCall(ctx, "upload "+u.rel, func(ctx context.Context) (err error) {
			arg := &files.UploadArg{CommitInfo: *u.commitInfo(mode), ContentHash: sum}
			md, err = u.c.files.UploadContext(ctx, arg, bytes.NewReader(buf))
			return err
		})
		return md, err
	}
	md, err := commit(addMode)
	if conflict := conflictOf(err); conflict != "" {
		rf, mode, serr := u.inTheWay(ctx, sum, conflict)
		if serr != nil {
			return providers.RemoteFile{}, serr
		}
		if mode == nil {
			if u.o.OnProgress != nil {
				u.o.OnProgress(u.size)
			}
			return rf, nil
		}
		md, err = u.replaced(commit(mode))
	}
	if err != nil {
		return providers.RemoteFile{}, err
	}
	if u.o.OnProgress != nil {
		u.o.OnProgress(u.size)
	}
	return u.result(md, sum)
}

// inFlight is how many appends a session upload keeps going at once.
// Dropbox answers each append only once it has stored it; two in flight
// keep the line busy through those waits, and each hashes its own chunk.
const inFlight = 2

// buffers is how many chunks a session upload holds in memory: one per
// append in flight, and one being read meanwhile.
const buffers = inFlight + 1

// session uploads through a concurrent upload session: start (empty),
// appends of whole chunks at their offsets, two at a time, the last one
// closing, then finish (empty). Memory is three chunks.
func (u *upload) session(ctx context.Context) (providers.RemoteFile, error) {
	st := u.resume()
	for restarts := 0; ; restarts++ {
		if restarts > 2 {
			return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "",
				"upload %s: Dropbox keeps losing the upload session", u.rel)
		}
		if st == nil {
			var err error
			if st, err = u.start(ctx); err != nil {
				return providers.RemoteFile{}, err
			}
		}
		rf, err := u.send(ctx, st)
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
// finished by an attempt whose answer was lost) or holds it in a state
// this upload cannot continue from: start over.
var errSessionGone = errors.New("upload session gone")

// resume returns the saved session when it belongs to this upload.
func (u *upload) resume() *sessionState {
	if len(u.o.Session) == 0 {
		return nil
	}
	var st sessionState
	if json.Unmarshal(u.o.Session, &st) != nil || st.V != 2 || st.ID == "" || st.Path != u.full ||
		st.Size != u.size || st.Chunk != u.c.chunk || st.Hash != u.o.Hash ||
		st.Offset < 0 || st.Offset > u.size || st.Offset%st.Chunk != 0 && st.Offset != u.size {
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

// start opens an empty concurrent session.
func (u *upload) start(ctx context.Context) (*sessionState, error) {
	var res *files.UploadSessionStartResult
	err := u.c.chunkCall(ctx, "upload "+u.rel, func(ctx context.Context) (err error) {
		arg := files.NewUploadSessionStartArg()
		arg.SessionType = &files.UploadSessionType{Tagged: dropbox.Tagged{Tag: files.UploadSessionTypeConcurrent}}
		res, err = u.c.files.UploadSessionStartContext(ctx, arg, emptyBody())
		return err
	})
	if err != nil {
		return nil, err
	}
	st := &sessionState{V: 2, ID: res.SessionId, Path: u.full, Size: u.size, Chunk: u.c.chunk, Hash: u.o.Hash}
	u.save(st)
	return st, nil
}

// piece is one chunk of the source on its way.
type piece struct {
	off int64
	n   int64
	b   []byte // the chunk read: buf[:n]; nil when it streams from u.ra
	buf []byte
	err error // the append's outcome
}

// send appends every chunk the session lacks and finishes it. One
// goroutine reads the source in order into the chunk buffers (or, when
// chunks stream from the source, just hands out their offsets); appends
// run at most inFlight at once, and never further than inFlight+1 chunks
// past the first unacknowledged one, so the saved state stays small. The
// content_hash is assembled from each chunk's block hashes, so the whole
// source is checked before the finish without a serial pass over it.
func (u *upload) send(ctx context.Context, st *sessionState) (providers.RemoteFile, error) {
	chunk := st.Chunk
	blocks := u.given // only read when given
	if blocks == nil {
		blocks = make([]string, (u.size+hashBlock-1)/hashBlock)
	}
	done := map[int64]bool{}
	for off := int64(0); off < st.Offset; off += chunk {
		done[off] = true
	}
	for _, off := range st.Ahead {
		done[off] = true
	}
	skip := maps.Clone(done) // the reader's own copy
	var acked int64
	for off := range done {
		acked += min(chunk, u.size-off)
	}

	// Appends may run past the first unacknowledged chunk by this much, so
	// one that finishes before an earlier one does not stall the next.
	window := (inFlight + 1) * chunk
	rctx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	free := make(chan []byte, buffers)
	for range buffers {
		free <- nil // taken on first use: a resumed upload may need few
	}
	defer func() { // every buffer is back in free once the loop below ends
		for range buffers {
			if b := <-free; b != nil {
				u.c.bufs.Put(&b)
			}
		}
	}()
	filled := make(chan piece)
	readDone := make(chan error, 1)
	go func() {
		readDone <- u.readPieces(rctx, chunk, skip, free, filled, blocks)
	}()

	results := make(chan piece)
	var (
		pending  *piece
		running  int
		reading  = true
		firstErr error
	)
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
			stopReading()
		}
	}
	for reading || running > 0 {
		in := filled
		if pending != nil || firstErr != nil {
			in = nil
		}
		select {
		case p := <-in:
			pending = &p
		case err := <-readDone:
			reading = false
			if err != nil {
				fail(err)
			}
		case p := <-results:
			running--
			if p.buf != nil {
				free <- p.buf
			}
			if p.err != nil {
				fail(p.err)
				break
			}
			done[p.off] = true
			for done[st.Offset] && st.Offset < u.size {
				st.Offset += chunk
			}
			st.Offset = min(st.Offset, u.size)
			st.Ahead = st.Ahead[:0]
			for off := st.Offset + chunk; off < st.Offset+window && off < u.size; off += chunk {
				if done[off] {
					st.Ahead = append(st.Ahead, off)
				}
			}
			acked += p.n
			if u.o.OnProgress != nil {
				u.o.OnProgress(acked)
			}
			u.save(st)
		}
		if pending != nil && firstErr != nil {
			if pending.buf != nil {
				free <- pending.buf
			}
			pending = nil
		}
		if pending != nil && running < inFlight && pending.off < st.Offset+window {
			p := *pending
			pending = nil
			running++
			go func() {
				p.err = u.appendPiece(ctx, st.ID, p, blocks)
				results <- p
			}()
		}
	}
	if firstErr != nil {
		return providers.RemoteFile{}, firstErr
	}
	return u.commit(ctx, st, blocks)
}

// readPieces reads the source in chunk order and hands out the chunks not
// in skip (a resumed session sent those before). Without given hashes it
// reads the skipped chunks too, to hash them; appends hash their own.
func (u *upload) readPieces(ctx context.Context, chunk int64, skip map[int64]bool, free chan []byte, filled chan<- piece, blocks []string) error {
	for off := int64(0); off < u.size; off += chunk {
		n := min(chunk, u.size-off)
		if skip[off] && u.given != nil {
			continue // sent before, and its hash is known: nothing to read
		}
		if u.ra != nil {
			select {
			case filled <- piece{off: off, n: n}:
				continue
			case <-ctx.Done():
				return fmt.Errorf("upload %s: %w", u.rel, ctx.Err())
			}
		}
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
			return fmt.Errorf("upload %s: %w", u.rel, ctx.Err())
		}
		if buf == nil {
			if bp, _ := u.c.bufs.Get().(*[]byte); bp != nil && int64(len(*bp)) == chunk {
				buf = *bp
			} else {
				buf = make([]byte, chunk)
			}
		}
		b := buf[:n]
		if err := u.read(ctx, off, b); err != nil {
			free <- buf
			return err
		}
		if skip[off] {
			hashBlocks(b, off, blocks)
			free <- buf
			continue
		}
		select {
		case filled <- piece{off: off, n: n, b: b, buf: buf}:
		case <-ctx.Done():
			free <- buf
			return fmt.Errorf("upload %s: %w", u.rel, ctx.Err())
		}
	}
	return nil
}

// appendPiece hashes a chunk's content_hash blocks and appends it with
// its own content_hash (made from those blocks), so Dropbox checks every
// chunk as it lands; the last chunk closes the session.
func (u *upload) appendPiece(ctx context.Context, id string, p piece, blocks []string) error {
	if u.given == nil {
		hashBlocks(p.b, p.off, blocks)
	}
	first := p.off / hashBlock
	sum := providers.ContentHashOfParts(blocks[first : first+(p.n+hashBlock-1)/hashBlock])
	last := p.off+p.n == u.size
	err := u.c.chunkCall(ctx, "upload "+u.rel, func(ctx context.Context) error {
		arg := files.NewUploadSessionAppendArg(files.NewUploadSessionCursor(id, uint64(p.off)))
		arg.Close = last
		arg.ContentHash = sum // set, so the SDK does not hash the chunk again
		var body io.Reader = bytes.NewReader(p.b)
		if p.b == nil {
			body = &section{r: io.NewSectionReader(u.ra, p.off, p.n), u: u, off: p.off}
		}
		return u.c.files.UploadSessionAppendV2Context(ctx, arg, body)
	})
	if r, ok := routeErrorOf(err); ok && r.session != "" {
		// not_found, or a session that no longer fits this upload.
		return fmt.Errorf("upload %s: %s: %w", u.rel, r.session, errSessionGone)
	}
	return err
}

// commit checks the source's hash and finishes the session into the file.
func (u *upload) commit(ctx context.Context, st *sessionState, blocks []string) (providers.RemoteFile, error) {
	fileSum := providers.ContentHashOfParts(blocks)
	if err := u.checkHash(fileSum); err != nil {
		return providers.RemoteFile{}, err
	}
	cur := files.NewUploadSessionCursor(st.ID, uint64(u.size))
	md, err := u.finish(ctx, cur, addMode)
	if conflict := conflictOf(err); conflict != "" {
		rf, mode, serr := u.inTheWay(ctx, fileSum, conflict)
		if serr != nil {
			return providers.RemoteFile{}, serr
		}
		if mode == nil {
			return rf, nil
		}
		// The bytes stay in the session: commit them again, replacing.
		md, err = u.replaced(u.finish(ctx, cur, mode))
	}
	if errors.Is(err, errSessionGone) {
		// An earlier finish may have landed with its answer lost.
		if rf, serr := u.c.stat(ctx, u.full, u.rel); serr == nil && providers.SameHash(providers.ContentHash, rf.Hash, fileSum) {
			return rf, nil
		}
		return providers.RemoteFile{}, err
	}
	if err != nil {
		return providers.RemoteFile{}, err
	}
	return u.result(md, fileSum)
}

func (u *upload) finish(ctx context.Context, cur *files.UploadSessionCursor, mode *files.WriteMode) (*files.FileMetadata, error) {
	var md *files.FileMetadata
	err := u.c.chunkCall(ctx, "upload "+u.rel, func(ctx context.Context) (err error) {
		arg := &files.UploadSessionFinishArg{Cursor: cur, Commit: u.commitInfo(mode)}
		md, err = u.c.files.UploadSessionFinishContext(ctx, arg, emptyBody())
		return err
	})
	if r, ok := routeErrorOf(err); ok && r.session != "" {
		// not_found, or pieces the session lacks after all: start over.
		return nil, fmt.Errorf("upload %s: %s: %w", u.rel, r.session, errSessionGone)
	}
	return md, err
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

// addMode creates the file and never replaces one.
var addMode = &files.WriteMode{Tagged: dropbox.Tagged{Tag: files.WriteModeAdd}}

// inTheWay looks at what is in the way of an add. The same content (mode
// nil) is this upload, done. A file of other content stored under exactly
// this name may be replaced in the revision seen: mode is that update. A
// file whose stored name differs (case or normalisation) is another file,
// and a folder is no file: both are Permanent name errors. Gone meanwhile:
// add again.
func (u *upload) inTheWay(ctx context.Context, sum, conflict string) (providers.RemoteFile, *files.WriteMode, error) {
	if conflict != files.WriteConflictErrorFile {
		return providers.RemoteFile{}, nil, providers.Errorf(providers.Permanent, providers.ReasonName,
			"rename or remove what is in the way in Dropbox", "upload %s: a folder is in the way (%s)", u.rel, conflict)
	}
	var md files.IsMetadata
	err := u.c.call(ctx, "stat "+u.rel, func(ctx context.Context) (err error) {
		md, err = u.c.files.GetMetadataContext(ctx, files.NewGetMetadataArg(u.full))
		return err
	})
	if errors.Is(err, providers.ErrNotFound) {
		return providers.RemoteFile{}, addMode, nil
	}
	if err != nil {
		return providers.RemoteFile{}, nil, err
	}
	fm, ok := md.(*files.FileMetadata)
	if !ok {
		return providers.RemoteFile{}, addMode, nil // deleted meanwhile
	}
	if providers.SameHash(providers.ContentHash, fm.ContentHash, sum) {
		rf, _ := remoteFile(u.rel, fm)
		return rf, nil, nil
	}
	if want := path.Base(u.full); fm.Name != want {
		return providers.RemoteFile{}, nil, providers.Errorf(providers.Permanent, providers.ReasonName,
			"Dropbox ignores case and accents' encoding in names; offsite gives such a file a name of its own, so this is a file stored by something else: rename one of them",
			"upload %s: Dropbox holds another file as %q, which it takes for the same name", u.rel, providers.UnescapeName(fm.Name))
	}
	return providers.RemoteFile{}, &files.WriteMode{Tagged: dropbox.Tagged{Tag: files.WriteModeUpdate}, Update: fm.Rev}, nil
}

// replaced classifies the answer to a commit in update mode: a conflict
// then means the file changed since it was looked at, and a new attempt
// looks again.
func (u *upload) replaced(md *files.FileMetadata, err error) (*files.FileMetadata, error) {
	if conflictOf(err) != "" {
		return nil, providers.Errorf(providers.Temporary, "", "",
			"upload %s: the file in Dropbox changed while it was being replaced: %w", u.rel, err)
	}
	return md, err
}

func (u *upload) commitInfo(mode *files.WriteMode) *files.CommitInfo {
	ci := files.NewCommitInfo(u.full)
	ci.Mode = mode
	ci.Autorename = false
	ci.Mute = true // a backup landing is no news to the account's desktop apps
	if !u.o.ModTime.IsZero() {
		t := dropbox.DBXTime(u.o.ModTime)
		ci.ClientModified = &t
	}
	return ci
}

// result is the stored file, once Dropbox's content_hash is found to be
// that of the bytes sent.
func (u *upload) result(md *files.FileMetadata, sent string) (providers.RemoteFile, error) {
	rf, _ := remoteFile(u.rel, md)
	if !providers.SameHash(providers.ContentHash, rf.Hash, sent) {
		return providers.RemoteFile{}, providers.Errorf(providers.Temporary, providers.ReasonChecksum, "",
			"upload %s: Dropbox stored content_hash %s, but the bytes sent hash to %s", u.rel, rf.Hash, sent)
	}
	return rf, nil
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

// section is one chunk read in place from the source as the request
// streams it (a retry seeks back). A source that ends early fails the
// request with ReasonSourceGone, as reading it into a buffer would.
type section struct {
	r   *io.SectionReader
	u   *upload
	off int64
}

func (s *section) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if errors.Is(err, io.EOF) {
		if pos, _ := s.r.Seek(0, io.SeekCurrent); pos < s.r.Size() {
			return n, providers.Errorf(providers.Permanent, providers.ReasonSourceGone, "",
				"upload %s: source ended at %d of %d bytes", s.u.rel, s.off+pos, s.u.size)
		}
	} else if err != nil {
		return n, providers.Classify(providers.Temporary, fmt.Errorf("upload %s: read source: %w", s.u.rel, err))
	}
	return n, err
}

func (s *section) Seek(off int64, whence int) (int64, error) { return s.r.Seek(off, whence) }

// emptyBody is the body of a concurrent session's start and finish, sent
// without the hash the SDK would otherwise add for it.
func emptyBody() io.Reader { return files.WithoutAutoContentHash(bytes.NewReader(nil)) }

// hashBlock is content_hash's block: chunks are multiples of it, so each
// chunk's blocks can be hashed on their own, in parallel.
const hashBlock = 4 << 20

// hashBlocks stores the SHA-256 of each block of b, which starts at off,
// as content_hash's parts.
func hashBlocks(b []byte, off int64, blocks []string) {
	for i := 0; i < len(b); i += hashBlock {
		sum := sha256.Sum256(b[i:min(i+hashBlock, len(b))])
		blocks[(off+int64(i))/hashBlock] = hex.EncodeToString(sum[:])
	}
}

func contentHash(b []byte) string {
	h := providers.NewContentHash()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}
