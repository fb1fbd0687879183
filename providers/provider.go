// Package providers defines what offsite needs from a remote store: the
// Provider interface, the remote file description, the error kinds every
// adapter classifies into, and the hashes services report.
//
// Adapters live in sub-packages (local, gdrive, dropbox, onedrive, email). They
// must never import the queue, watcher or daemon packages: a provider knows
// how to store bytes, nothing about why.
package providers

import (
	"context"
	"errors"
	"io"
	"time"
)

// Provider stores files in one remote account. Implementations are safe for
// concurrent use. Paths are slash-separated and relative to the
// destination's root folder ("pos/2026/day.bak"); adapters map them onto
// the service, creating folders as needed.
type Provider interface {
	// Put stores exactly size bytes from r at path. It looks before it
	// creates: when a file with the same content (o.Hash) is already at path
	// it returns that file and sends nothing, so a retry after a lost
	// response never makes a second copy (Drive allows duplicate names).
	// Different content stored under exactly this name is replaced, and
	// exactly one file remains; the daemon never asks for that, because it
	// names each version once (see queue), but `push` and schedules rely on
	// it being safe. A file the service only takes for this name (another
	// case or normalisation, see NameRules) is another file: Put never
	// replaces it and fails Permanent with ReasonName. Paths are any bytes;
	// adapters store what the service cannot hold reversibly (EscapeName)
	// and List gives the original bytes back.
	// On any error no partial file may stay visible at path. r may be read
	// more than once (Seek to 0) and an adapter may Seek within it to resume
	// a session.
	Put(ctx context.Context, path string, r io.ReadSeeker, size int64, o PutOptions) (RemoteFile, error)
	// Stat describes path. The error matches ErrNotFound when it is absent.
	Stat(ctx context.Context, path string) (RemoteFile, error)
	// List returns the files directly inside dir ("" is the root), folders
	// flagged with Dir. A missing dir gives an empty list, not an error.
	List(ctx context.Context, dir string) ([]RemoteFile, error)
	// Delete removes the file at path. It returns nil when it is already absent.
	Delete(ctx context.Context, path string) error
	// Get opens the stored content of path for reading.
	Get(ctx context.Context, path string) (io.ReadCloser, error)
	// HashKind names the hash RemoteFile.Hash carries for this service.
	HashKind() HashKind
}

// RemoteFile describes one stored file as the service reports it.
type RemoteFile struct {
	Path    string    // slash-separated, relative to the destination root
	Size    int64     // bytes
	ModTime time.Time // as stored by the service (may be the upload time)
	Hash    string    // the service's own hash in the encoding of HashKind; "" when unknown
	Dir     bool      // a folder, listed by List
}

// PutOptions carries what an upload needs besides the bytes.
type PutOptions struct {
	// ModTime is the source file's modification time, stored where the
	// service allows it.
	ModTime time.Time
	// Hash is the expected hash of the content in the provider's HashKind,
	// computed by the caller from the source before the upload. When set,
	// a stored file whose hash differs is an error, never a success.
	Hash string
	// Parts are the digests of Hash's parts, for kinds built from parts
	// (see Parted), from the same pass over the source as Hash. An adapter
	// that can send each chunk with its own hash then lets the service
	// check every chunk against the source as it was hashed, instead of
	// hashing it again.
	Parts []string
	// Session is resumable-upload state saved from an earlier attempt (via
	// OnSession), possibly by another process. Adapters validate it and
	// start over when it is stale; it is opaque to everyone else.
	Session []byte
	// OnSession, when set, receives new session state each time the service
	// acknowledges data, so the caller can persist it and resume after a
	// crash. A nil state means the session is finished or abandoned.
	// Session state is a secret: it must never be logged.
	OnSession func(state []byte)
	// OnProgress, when set, receives the count of bytes the service has
	// acknowledged so far.
	OnProgress func(done int64)
}

// Quotaer is implemented by providers that can report the account's space.
type Quotaer interface {
	// Quota returns used and total bytes; total is 0 when unlimited or unknown.
	Quota(ctx context.Context) (used, total int64, err error)
}

// ReaderAhead is implemented by adapters that already read the source
// ahead of the network (several chunks in flight): a caller's own
// read-ahead would only add memory.
type ReaderAhead interface {
	ReadsAhead() bool
}

// Closer is implemented by providers that hold resources.
type Closer interface {
	Close() error
}

// Streamer is implemented by providers that can store a body of unknown
// length while it is being made: each write lands atomically on its own
// (a temp file synced and renamed into place) and needs no resumable
// session, so nothing has to be kept to send again. A compressed or
// encrypted copy then goes straight to the destination as it is encoded,
// instead of into the spool first.
type Streamer interface {
	// PutStream stores what r yields, up to io.EOF, at path, replacing
	// what is there, as Put does. r is read once, in order. When a Read
	// fails (the producer gave up, for instance because the source
	// changed) nothing new is visible at path and the error is returned.
	// o.Hash, o.Parts and o.Session are ignored: a stream's hash is known
	// only at its end, and it cannot be resumed.
	PutStream(ctx context.Context, path string, r io.Reader, o PutOptions) (RemoteFile, error)
}

// StreamerOf returns p's Streamer when every layer of p (each wrapper,
// see As) passes streams on and the adapter beneath takes them: a stream
// must meet each wrapper's limits and checks, never slip past one that
// knows only Put.
func StreamerOf(p Provider) (Streamer, bool) {
	top, ok := p.(Streamer)
	if !ok {
		return nil, false
	}
	for {
		if _, ok := p.(Streamer); !ok {
			return nil, false
		}
		u, wraps := p.(interface{ Unwrap() Provider })
		if !wraps {
			return top, true
		}
		if p = u.Unwrap(); p == nil {
			return nil, false // a wrapper whose adapter is not built yet
		}
	}
}

// ErrNoStream is what a wrapper's PutStream answers when nothing beneath
// it takes streams (StreamerOf said no).
var ErrNoStream = Errorf(Permanent, "", "", "this destination cannot take a stream; send the file with Put")

// Unseekable lets a stream pass where an io.ReadSeeker is expected (rate
// limits, gates): reads pass through; any Seek fails, as a stream is
// read once.
func Unseekable(r io.Reader) io.ReadSeeker { return unseekable{r} }

type unseekable struct{ io.Reader }

func (unseekable) Seek(int64, int) (int64, error) {
	return 0, errors.New("a stream cannot be rewound")
}
