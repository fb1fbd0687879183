package retry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

// store is a provider that keeps what it is sent, optionally damaged.
type store struct {
	providers.Provider
	flip    bool // damage one byte of what it stores
	got     []byte
	deleted int
}

func (s *store) HashKind() providers.HashKind { return providers.SHA256 }

func (s *store) Put(_ context.Context, path string, r io.ReadSeeker, size int64, _ providers.PutOptions) (providers.RemoteFile, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	if s.flip {
		b[len(b)/2] ^= 1
	}
	s.got = b
	sum := sha256.Sum256(b)
	return providers.RemoteFile{Path: path, Size: int64(len(b)), Hash: hex.EncodeToString(sum[:])}, nil
}

func (s *store) Delete(context.Context, string) error { s.deleted++; return nil }

// reads counts the bytes read from a source.
type reads struct {
	*bytes.Reader
	n int
}

func (r *reads) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	r.n += n
	return n, err
}

// TestPutWithoutHashChecksWhatWasSent: a caller without a hash (push) gets
// the same guarantee as one with: damaged bytes at the service are removed
// and reported, never counted; and the source is read once.
func TestPutWithoutHashChecksWhatWasSent(t *testing.T) {
	data := bytes.Repeat([]byte("backup "), 100000)
	ok := &store{}
	src := &reads{Reader: bytes.NewReader(data)}
	p := New(ok, Policy{Initial: time.Millisecond, Attempts: 2}, nil)
	if _, err := p.Put(context.Background(), "a.bak", src, int64(len(data)), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if src.n != len(data) {
		t.Fatalf("read %d bytes of the source for a %d-byte upload, want each byte once", src.n, len(data))
	}
	bad := &store{flip: true}
	_, err := New(bad, Policy{Initial: time.Millisecond, Attempts: 2}, nil).
		Put(context.Background(), "a.bak", bytes.NewReader(data), int64(len(data)), providers.PutOptions{})
	if providers.ReasonOf(err) != providers.ReasonChecksum || bad.deleted != 2 {
		t.Fatalf("damaged at the service: %v, %d deletes; want a checksum error and each bad copy removed", err, bad.deleted)
	}
}
