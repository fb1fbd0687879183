package fakedropbox

import (
	"io"
	"os"
	"sync"
	"time"
)

// session is one upload session. Its bytes live in sessions/<File>.
type session struct {
	File    string    `json:"file"`
	Offset  int64     `json:"offset"`
	Closed  bool      `json:"closed,omitempty"`
	Created time.Time `json:"created"`

	mu sync.Mutex // held while a request writes into the session
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
func (s *Server) newSession() (string, *session, error) {
	ss := &session{File: randomHex(12), Created: time.Now()}
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
	n, err := io.CopyBuffer(w, body, make([]byte, 1<<20))
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
