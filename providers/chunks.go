package providers

import (
	"errors"
	"io"
	"sync"
	"time"
)

// ChunkSizer picks the size of each chunk of a resumable upload. Drive and
// OneDrive take one chunk at a time and answer it before the next may go,
// so on a fast link the round trips, not the bytes, set the pace. It starts
// at the configured size and doubles while chunks go out in under a second,
// up to the service's largest; on a slow link chunks stay small, so little
// is sent again after a failure. Chunks are streamed from the source
// (ChunkReader), so a larger one costs no memory.
type ChunkSizer struct {
	unit, start, max, cur int64
}

// chunkFast is how quickly a chunk must go out for the next to be larger;
// one taking four times as long halves the size again, down to the start.
const chunkFast = time.Second

// NewChunkSizer starts at start and grows up to max, in multiples of unit
// (the service's granularity). A max at or below start keeps start.
func NewChunkSizer(start, max, unit int64) *ChunkSizer {
	start = roundDown(start, unit)
	max = roundDown(max, unit)
	if max < start {
		max = start
	}
	return &ChunkSizer{unit: unit, start: start, max: max, cur: start}
}

func roundDown(n, unit int64) int64 {
	if unit <= 0 || n < unit {
		return max(n, unit)
	}
	return n / unit * unit
}

// Next is the size of the next chunk, with remaining bytes left to send.
func (c *ChunkSizer) Next(remaining int64) int64 { return min(c.cur, remaining) }

// Sent tells how long a chunk of n bytes took, from sending its first byte
// to the service's answer.
func (c *ChunkSizer) Sent(n int64, took time.Duration) {
	if n < c.cur {
		return // the last, short chunk says nothing about the link
	}
	switch {
	case took < chunkFast:
		c.cur = min(c.cur*2, c.max)
	case took > 4*chunkFast:
		c.cur = max(roundDown(c.cur/2, c.unit), c.start)
	}
}

// ChunkReader is one chunk of a source as a request body: n bytes from
// off, read as the request is written. It keeps the source's own read
// error (Err), so a caller can tell a source that failed or shrank from a
// network that did. Detach it once the request is over, before reading Err
// or moving the source: Go's HTTP transport may still be reading a body
// after the request returned (an answer that came before the whole body
// went), and the next attempt reads the same source.
type ChunkReader struct {
	mu     sync.Mutex
	r      io.Reader
	left   int64
	closed bool
	Err    error
}

// errChunkClosed ends a read of a chunk whose request is over.
var errChunkClosed = errors.New("chunk body read after its request ended")

// NewChunkReader positions r at off; the body then yields n bytes.
func NewChunkReader(r io.ReadSeeker, off, n int64) (*ChunkReader, error) {
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return &ChunkReader{r: r, left: n}, nil
}

func (c *ChunkReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, errChunkClosed
	}
	if c.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if errors.Is(err, io.EOF) && c.left > 0 {
		err = io.ErrUnexpectedEOF // the source shrank
	} else if errors.Is(err, io.EOF) {
		err = nil
	}
	if err != nil {
		c.Err = err
	}
	return n, err
}

// Detach parts the chunk from its source: a read under way finishes first
// and none follows.
func (c *ChunkReader) Detach() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}
