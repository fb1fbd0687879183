package providers

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// TestSendHasherHashesEachByteOnceWhateverTheReadOrder: an upload that
// retries chunks (seeks back), resumes a session (seeks forward past bytes
// it never reads) or stops early still yields the hash of the whole source.
func TestSendHasherHashesEachByteOnceWhateverTheReadOrder(t *testing.T) {
	src := make([]byte, 1<<20+12345)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = byte(rnd.Uint32())
	}
	for _, kind := range []HashKind{SHA256, MD5, ContentHash, QuickXor} {
		h, _ := NewHash(kind)
		h.Write(src)
		want := EncodeHash(kind, h.Sum(nil))
		for _, tc := range []struct {
			name string
			read func(r io.ReadSeeker)
		}{
			{"straight", func(r io.ReadSeeker) { io.Copy(io.Discard, r) }},
			{"chunks retried", func(r io.ReadSeeker) {
				buf := make([]byte, 64<<10)
				for off := int64(0); off < int64(len(src)); off += 64 << 10 {
					for range 2 {
						r.Seek(off, io.SeekStart)
						io.ReadFull(r, buf)
					}
				}
			}},
			{"resumed past the start", func(r io.ReadSeeker) {
				r.Seek(300000, io.SeekStart)
				io.Copy(io.Discard, r)
			}},
			{"stopped early", func(r io.ReadSeeker) { io.CopyN(io.Discard, r, 5000) }},
			{"rewound after a failed attempt", func(r io.ReadSeeker) {
				io.CopyN(io.Discard, r, 700000)
				r.Seek(0, io.SeekStart)
				io.Copy(io.Discard, r)
			}},
		} {
			sh, err := NewSendHasher(bytes.NewReader(src), int64(len(src)), kind)
			if err != nil {
				t.Fatal(err)
			}
			tc.read(sh)
			got, err := sh.Sum()
			if err != nil || got != want {
				t.Errorf("%s, %s: %q, %v; want %q", kind, tc.name, got, err, want)
			}
		}
	}
	// A source shorter than announced is an error, not a hash of less.
	sh, _ := NewSendHasher(bytes.NewReader(src[:100]), 200, SHA256)
	if _, err := sh.Sum(); err == nil {
		t.Fatal("a short source gave a hash")
	}
}
