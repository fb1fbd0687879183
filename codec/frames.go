package codec

import (
	"io"

	"github.com/klauspost/compress/zstd"
)

// frameSize is how much of the original each zstd frame holds. One zstd
// frame is compressed on one core at a time (each block leans on the ones
// before it), so the original is cut into frames compressed independently,
// several at once, and written in order; `zstd -d` and every decoder read
// the frames as one stream. Measured on two cores (codec
// BenchmarkEncodeSpeed): 2 MiB frames compress the till database 2.47 : 1
// like one long frame with an 8 MiB window did (2.48 : 1), about half as
// fast again in the whole pipeline; larger frames compressed no better.
const frameSize = 2 << 20

// frameWriter compresses what is written to it in frames of size bytes,
// up to workers at once. It holds at most workers+1 originals and workers
// compressed frames of that size.
type frameWriter struct {
	dst     io.Writer
	enc     *zstd.Encoder
	workers int
	size    int
	cur     []byte   // the frame being filled
	queue   []*frame // being compressed, oldest first
	ins     [][]byte // buffers to reuse
	outs    [][]byte
	err     error
}

type frame struct {
	in, out []byte
	done    chan struct{}
}

// newFrameWriter compresses at level; Encode uses SpeedFastest: a backup
// must leave within its window on a shop PC, and the default level
// compressed the till database less than 1 % smaller at two thirds of
// the speed.
func newFrameWriter(dst io.Writer, workers, size int, level zstd.EncoderLevel) (*frameWriter, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(workers), zstd.WithEncoderLevel(level),
		zstd.WithWindowSize(size), zstd.WithEncoderCRC(true))
	if err != nil {
		return nil, err
	}
	return &frameWriter{dst: dst, enc: enc, workers: workers, size: size}, nil
}

func (w *frameWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if w.err != nil {
			return n, w.err
		}
		if w.cur == nil {
			w.cur = w.take(&w.ins)
		}
		c := copy(w.cur[len(w.cur):w.size], p)
		w.cur = w.cur[:len(w.cur)+c]
		p, n = p[c:], n+c
		if len(w.cur) == w.size {
			w.submit()
		}
	}
	return n, w.err
}

// take reuses a buffer of the list, or makes one.
func (w *frameWriter) take(list *[][]byte) []byte {
	if l := len(*list); l > 0 {
		b := (*list)[l-1]
		*list = (*list)[:l-1]
		return b[:0]
	}
	return make([]byte, 0, w.size)
}

// submit starts compressing the frame being filled, after writing the
// oldest one out if every worker is busy.
func (w *frameWriter) submit() {
	if len(w.queue) == w.workers {
		w.writeOldest()
	}
	f := &frame{in: w.cur, out: w.take(&w.outs), done: make(chan struct{})}
	w.cur = nil
	go func() {
		f.out = w.enc.EncodeAll(f.in, f.out)
		close(f.done)
	}()
	w.queue = append(w.queue, f)
}

// writeOldest waits for the oldest frame and writes it; after an error it
// only waits, so no compression outlives the writer.
func (w *frameWriter) writeOldest() {
	f := w.queue[0]
	w.queue = w.queue[1:]
	<-f.done
	if w.err == nil {
		_, w.err = w.dst.Write(f.out)
	}
	w.ins, w.outs = append(w.ins, f.in), append(w.outs, f.out)
}

// Close compresses and writes what is left. An empty input writes nothing.
func (w *frameWriter) Close() error {
	if len(w.cur) > 0 && w.err == nil {
		w.submit()
	}
	for len(w.queue) > 0 {
		w.writeOldest()
	}
	w.ins, w.outs, w.cur = nil, nil, nil
	return w.err
}

// abort waits for the frames being compressed and drops them.
func (w *frameWriter) abort() {
	if w.err == nil {
		w.err = io.ErrClosedPipe
	}
	for len(w.queue) > 0 {
		w.writeOldest()
	}
}
