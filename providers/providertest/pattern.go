package providertest

import (
	"errors"
	"io"
)

// Pattern is size deterministic bytes made on the fly: a large upload for
// tests and benchmarks that holds nothing in memory, as a file would not.
type Pattern struct {
	Size, pos int64
}

// NewPattern returns a Pattern of size bytes.
func NewPattern(size int64) *Pattern { return &Pattern{Size: size} }

// At is the byte at offset x.
func (p *Pattern) At(x int64) byte { return byte(x*31 ^ x>>11) }

func (p *Pattern) Read(b []byte) (int, error) {
	if p.pos >= p.Size {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.Size-p.pos)
	for i := range n {
		b[i] = p.At(p.pos + i)
	}
	p.pos += n
	return int(n), nil
}

// ReadAt reads at off without moving the position, as a file's does.
func (p *Pattern) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.Size {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.Size-off)
	for i := range n {
		b[i] = p.At(off + i)
	}
	if n < int64(len(b)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

func (p *Pattern) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += p.pos
	case io.SeekEnd:
		off += p.Size
	default:
		return 0, errors.New("pattern: bad whence")
	}
	if off < 0 {
		return 0, errors.New("pattern: negative position")
	}
	p.pos = off
	return off, nil
}
