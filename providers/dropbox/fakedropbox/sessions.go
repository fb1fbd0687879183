package fakedropbox

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

// session is one upload session. Its bytes live in sessions/<File>.
type session struct {
	File    string    `json:"file"`
	Offset  int64     `json:"offset"`
	Closed  bool      `json:"closed,omitempty"`
	Created time.Time `json:"created"`

	// A concurrent session takes appends in any order, 4 MiB-aligned;
	// the closing one sets End, the file's size.
	Concurrent bool             `json:"concurrent,omitempty"`
	Pieces     map[int64]*piece `json:"pieces,omitempty"`
	End        int64            `json:"end,omitempty"`

	mu sync.Mutex // held while a request writes into the session
	// use is read-held by a concurrent session's appends while they write
	// and held by its finish, which sets gone: no append writes into a
	// file that has become a stored blob.
	use  sync.RWMutex
	gone bool
	// running hashes every byte from 0 to Offset, so finish need not read
	// the file again; nil after a restart or a failed append.
	running *sums
}

// sessionLife is how long Dropbox keeps an upload session.
const sessionLife = 7 * 24 * time.Hour

// ExpireSessions ends every open upload session, as a week's wait would:
// later calls that name them get not_found.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ss := range s.sessions {
		os.Remove(s.sessionPath(ss.File))
		delete(s.sessions, id)
	}
	s.saveLocked()
}

// newSession creates an empty session and returns its id.
func (s *Server) newSession(concurrent bool) (string, *session, error) {
	ss := &session{File: randomHex(12), Created: time.Now(), Concurrent: concurrent}
	f, err := os.Create(s.sessionPath(ss.File))
	if err != nil {
		return "", nil, err
	}
	f.Close()
	id := "pid_upload_session:" + randomHex(24)
	s.mu.Lock()
	s.sessions[id] = ss
	s.saveLocked()
	s.mu.Unlock()
	return id, ss, nil
}

// session returns the live session id names, or nil.
func (s *Server) session(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[id]
	if ss != nil && time.Since(ss.Created) > sessionLife {
		os.Remove(s.sessionPath(ss.File))
		delete(s.sessions, id)
		s.saveLocked()
		return nil
	}
	return ss
}

// dropSession forgets a finished session; its data file has moved.
func (s *Server) dropSession(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.sessions[id]; ss != nil {
		ss.gone = true
	}
	delete(s.sessions, id)
	s.saveLocked()
}

// appendBody writes body at the session's end, checking wantHash (the
// content_hash of this call's bytes) when set. A failed or mismatching
// body is cut off again, so the offset only moves by whole requests.
// Callers hold ss.mu.
func (s *Server) appendBody(ss *session, body io.Reader, wantHash string) (mismatch bool, err error) {
	f, err := os.OpenFile(s.sessionPath(ss.File), os.O_WRONLY, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if _, err := f.Seek(ss.Offset, io.SeekStart); err != nil {
		return false, err
	}
	// Hash the appended bytes only when the client sent a hash to check:
	// the whole file is hashed once, at finish.
	if ss.Offset == 0 {
		ss.running = newSums()
	}
	w := io.Writer(f)
	var chunk *sums
	if wantHash != "" {
		chunk = newSums()
		w = io.MultiWriter(w, chunk)
	}
	// The running hash is fed as the bytes land; it is dropped if they do not stay.
	if ss.running != nil {
		w = io.MultiWriter(w, ss.running)
	}
	n, err := s.copyBody(w, body)
	mismatch = err == nil && chunk != nil && wantHash != chunk.contentHash()
	if err != nil || mismatch {
		f.Truncate(ss.Offset)
		ss.running = nil
		return mismatch, err
	}
	s.mu.Lock()
	ss.Offset += n
	s.saveLocked()
	s.mu.Unlock()
	return false, nil
}

// concurrentUnit is the alignment Dropbox asks of a concurrent session's
// appends: every offset, and every length but the closing one's. It is
// also content_hash's block, so each piece's blocks are hashed on their own.
const concurrentUnit = 4 << 20

// piece is one append to a concurrent session.
type piece struct {
	Len    int64    `json:"len"`
	Blocks []string `json:"blocks"` // SHA-256 of each 4 MiB block, hex
}

// appendAt writes one append of a concurrent session at off. Appends run
// side by side, so the session lock is held only to record the piece;
// appending at an offset again replaces that piece (a client resending
// after a lost answer).
func (s *Server) appendAt(ss *session, off int64, closing bool, body io.Reader, wantHash string) map[string]any {
	ss.use.RLock()
	defer ss.use.RUnlock()
	if ss.gone {
		return union("not_found")
	}
	f, err := os.OpenFile(s.sessionPath(ss.File), os.O_WRONLY, 0)
	if err != nil {
		return union("not_found")
	}
	defer f.Close()
	h := newSums() // content_hash, whose parts are the piece's blocks
	n, err := s.copyBody(io.MultiWriter(io.NewOffsetWriter(f, off), h), io.LimitReader(body, maxRequest+1))
	if err != nil {
		return nil // the client is gone; nothing is recorded
	}
	switch {
	case n > maxRequest:
		return union("payload_too_large")
	case n%concurrentUnit != 0 && !closing:
		return union("concurrent_session_invalid_data_size")
	case wantHash != "" && wantHash != h.contentHash():
		return union("content_hash_mismatch")
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch {
	case ss.Closed && off+n > ss.End:
		return union("closed")
	case ss.Closed && closing && off+n != ss.End:
		return union("closed")
	}
	// What the index saves changes under s.mu too: another request may be
	// saving the index meanwhile.
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > 0 {
		if ss.Pieces == nil {
			ss.Pieces = map[int64]*piece{}
		}
		ss.Pieces[off] = &piece{Len: n, Blocks: h.content.(providers.Parted).Parts()}
	}
	if closing {
		ss.Closed, ss.End = true, off+n
	}
	s.saveLocked()
	return nil
}

// assemble checks that a closed concurrent session's pieces cover it
// without gaps and returns its content_hash. Callers hold ss.mu.
func (ss *session) assemble() (*sums, map[string]any) {
	if !ss.Closed {
		return nil, union("concurrent_session_not_closed")
	}
	var blocks []string
	for off := int64(0); off < ss.End; {
		p := ss.Pieces[off]
		if p == nil {
			return nil, union("concurrent_session_missing_data")
		}
		blocks = append(blocks, p.Blocks...)
		off += p.Len
	}
	return &sums{n: ss.End, fixed: providers.ContentHashOfParts(blocks)}, nil
}
