package providers

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"
)

// TestReadAheadReadsAsTheSourceWould: whatever mix of reads and seeks an
// adapter makes (chunks in order, a chunk sent again, a resumed session
// further on, a rewind), it gets exactly the source's bytes and errors.
func TestReadAheadReadsAsTheSourceWould(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{0, 1, 1000, 4096, 4097, 100000} {
		src := make([]byte, size)
		for i := range src {
			src[i] = byte(rnd.Uint32())
		}
		for round := 0; round < 50; round++ {
			want := bytes.NewReader(src)
			a := NewReadAhead(context.Background(), bytes.NewReader(src), 1+rnd.IntN(5000))
			for step := 0; step < 40; step++ {
				if rnd.IntN(4) == 0 {
					off := int64(rnd.IntN(size + 2))
					p1, e1 := want.Seek(off, io.SeekStart)
					p2, e2 := a.Seek(off, io.SeekStart)
					if p1 != p2 || (e1 == nil) != (e2 == nil) {
						t.Fatalf("seek %d: %d, %v; want %d, %v", off, p2, e2, p1, e1)
					}
					continue
				}
				n := 1 + rnd.IntN(9000)
				b1, b2 := make([]byte, n), make([]byte, n)
				n1, e1 := io.ReadFull(want, b1)
				n2, e2 := io.ReadFull(a, b2)
				if n1 != n2 || e1 != e2 || !bytes.Equal(b1[:n1], b2[:n2]) {
					t.Fatalf("size %d round %d step %d: read %d, %v; want %d, %v (same bytes: %v)", size, round, step, n2, e2, n1, e1, bytes.Equal(b1[:n1], b2[:n2]))
				}
			}
			a.Close()
		}
	}
}

// TestReadAheadHashesInOrderOnce: over a SendHasher, reading ahead keeps
// the hash right, also when a chunk is read again.
func TestReadAheadHashesInOrderOnce(t *testing.T) {
	src := bytes.Repeat([]byte("0123456789"), 50000)
	sh, _ := NewSendHasher(bytes.NewReader(src), int64(len(src)), MD5)
	a := NewReadAhead(context.Background(), sh, 4096)
	defer a.Close()
	buf := make([]byte, 70000)
	for off := int64(0); off < int64(len(src)); off += int64(len(buf)) {
		for range 2 {
			a.Seek(off, io.SeekStart)
			io.ReadFull(a, buf)
		}
	}
	a.Close()
	got, err := sh.Sum()
	h, _ := NewHash(MD5)
	h.Write(src)
	if want := EncodeHash(MD5, h.Sum(nil)); err != nil || got != want {
		t.Fatalf("%s, %v; want %s", got, err, want)
	}
}
