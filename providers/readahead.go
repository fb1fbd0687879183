package providers

import (
	"context"
	"errors"
	"io"
)

// ReadAhead reads a source one block ahead of its reader, in a goroutine,
// so that reading the source (and hashing it, through a SendHasher) runs
// while the block before goes over the network instead of between the
// blocks. It holds at most three blocks: the one being read from, one
// read ahead, and one being filled. Reads in order are served from the read-ahead; a Seek elsewhere
// restarts it there. Close stops it; it must be called.
type ReadAhead struct {
	ctx   context.Context // a Read waiting for the read-ahead gives up when it ends
	r     io.ReadSeeker
	block int
	pos   int64 // the reader's position
	cur   ahead // the block being read from
	feed  chan ahead
	stop  chan struct{}
	done  chan struct{}
	free  chan []byte
	made  int // blocks allocated: at most three (one read from, one waiting, one being filled)
}

type ahead struct {
	off int64
	b   []byte
	err error // after b: io.EOF at the end, or the source's error
}

// NewReadAhead wraps r, reading block bytes at a time ahead, for as long
// as ctx lasts.
func NewReadAhead(ctx context.Context, r io.ReadSeeker, block int) *ReadAhead {
	return &ReadAhead{ctx: ctx, r: r, block: block, free: make(chan []byte, 3)}
}

// start reads ahead from off; nothing else touches r until stopped.
func (a *ReadAhead) start(off int64) {
	a.feed, a.stop, a.done = make(chan ahead, 1), make(chan struct{}), make(chan struct{})
	go func(feed chan<- ahead, stop <-chan struct{}, done chan<- struct{}) {
		defer close(done)
		if _, err := a.r.Seek(off, io.SeekStart); err != nil {
			select {
			case feed <- ahead{off: off, err: err}:
			case <-stop:
			}
			return
		}
		for {
			var b []byte
			select {
			case b = <-a.free:
			default:
				if a.made < 3 {
					a.made++
					b = make([]byte, a.block)
				} else {
					select {
					case b = <-a.free:
					case <-stop:
						return
					}
				}
			}
			n, err := a.fill(b[:a.block], stop)
			if err == errStopped {
				a.free <- b // never blocks: at most three blocks exist
				return
			}
			select {
			case feed <- ahead{off: off, b: b[:n], err: err}:
			case <-stop:
				a.free <- b // never blocks: at most three blocks exist
				return
			}
			if err != nil {
				return
			}
			off += int64(n)
		}
	}(a.feed, a.stop, a.done)
}

var errStopped = errors.New("read-ahead stopped")

// fill reads b full, looking between reads whether it must stop, so that
// a slow source (a stalled share) cannot hold up halt for a whole block.
func (a *ReadAhead) fill(b []byte, stop <-chan struct{}) (int, error) {
	n := 0
	for n < len(b) {
		select {
		case <-stop:
			return n, errStopped
		default:
		}
		m, err := a.r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// halt stops the read-ahead and waits until it no longer reads.
func (a *ReadAhead) halt() {
	if a.stop == nil {
		return
	}
	close(a.stop)
	<-a.done
	select {
	case next := <-a.feed: // read ahead and never read
		if next.b != nil {
			a.free <- next.b[:cap(next.b)]
		}
	default:
	}
	a.feed, a.stop, a.done = nil, nil, nil
}

func (a *ReadAhead) Read(p []byte) (int, error) {
	for {
		if in := a.pos - a.cur.off; a.cur.b != nil && in >= 0 && in < int64(len(a.cur.b)) {
			n := copy(p, a.cur.b[in:])
			a.pos += int64(n)
			return n, nil
		}
		if a.cur.b != nil && a.pos == a.cur.off+int64(len(a.cur.b)) && a.cur.err != nil {
			return 0, a.cur.err
		}
		if a.feed == nil || a.cur.b != nil && a.pos != a.cur.off+int64(len(a.cur.b)) {
			// Not where the read-ahead goes next: start it here.
			a.halt()
			a.recycle()
			a.cur = ahead{off: a.pos}
			a.start(a.pos)
		}
		var next ahead
		select {
		case next = <-a.feed:
		case <-a.ctx.Done():
			return 0, a.ctx.Err()
		}
		a.recycle()
		a.cur = next
		if len(next.b) == 0 && next.err != nil {
			return 0, next.err
		}
	}
}

func (a *ReadAhead) recycle() {
	if a.cur.b != nil {
		a.free <- a.cur.b[:cap(a.cur.b)] // never blocks: at most three blocks exist
	}
	a.cur.b = nil
}

// Seek moves the reader; the read-ahead follows on the next Read.
func (a *ReadAhead) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		a.pos = offset
	case io.SeekCurrent:
		a.pos += offset
	default:
		a.halt()
		a.recycle()
		pos, err := a.r.Seek(offset, whence)
		if err != nil {
			return pos, err
		}
		a.pos = pos
	}
	return a.pos, nil
}

// Close stops the read-ahead; the source stays open. It cannot fail.
func (a *ReadAhead) Close() {
	a.halt()
}
