package providers

import (
	"fmt"
	"hash"
	"io"
)

// SendHasher hashes a source as an upload reads it, so a caller that has
// no hash yet reads the source once instead of twice. Each byte is hashed
// once, in order: bytes read again after a Seek back (a retried chunk) are
// not hashed again, and bytes skipped by a Seek forward (a resumed session)
// are read by Sum at the end.
type SendHasher struct {
	r    io.ReadSeeker
	size int64
	kind HashKind
	h    hash.Hash
	pos  int64 // where r is
	done int64 // [0, done) is hashed
}

// NewSendHasher wraps r, of size bytes, hashing it in kind.
func NewSendHasher(r io.ReadSeeker, size int64, kind HashKind) (*SendHasher, error) {
	h, err := NewHash(kind)
	if err != nil {
		return nil, err
	}
	return &SendHasher{r: r, size: size, kind: kind, h: h}, nil
}

func (s *SendHasher) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if end := s.pos + int64(n); s.pos <= s.done && end > s.done {
		s.h.Write(p[s.done-s.pos : n])
		s.done = end
	}
	s.pos += int64(n)
	return n, err
}

func (s *SendHasher) Seek(offset int64, whence int) (int64, error) {
	pos, err := s.r.Seek(offset, whence)
	if err == nil {
		s.pos = pos
	}
	return pos, err
}

// Sum returns the hash of the whole source, reading what the upload did
// not (it leaves the source's position at its end).
func (s *SendHasher) Sum() (string, error) {
	if s.done < s.size {
		if _, err := s.Seek(s.done, io.SeekStart); err != nil {
			return "", err
		}
		if _, err := io.CopyBuffer(io.Discard, io.LimitReader(s, s.size-s.done), make([]byte, 256<<10)); err != nil {
			return "", err
		}
		if s.done < s.size {
			return "", fmt.Errorf("the source ended after %d of %d bytes: %w", s.done, s.size, io.ErrUnexpectedEOF)
		}
	}
	return EncodeHash(s.kind, s.h.Sum(nil)), nil
}
