package providers

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// HashKind names a content hash as a service reports it. There is no hash
// all services share, so the uploader computes each destination's own kind
// locally and compares.
type HashKind string

const (
	SHA256      HashKind = "sha256"   // local folders; hex
	MD5         HashKind = "md5"      // Google Drive md5Checksum; hex
	ContentHash HashKind = "dropbox"  // Dropbox content_hash; hex
	QuickXor    HashKind = "quickxor" // OneDrive quickXorHash; base64
)

// NewHash returns a fresh hash.Hash for kind.
func NewHash(kind HashKind) (hash.Hash, error) {
	switch kind {
	case SHA256:
		return sha256.New(), nil
	case MD5:
		return md5.New(), nil
	case ContentHash:
		return NewContentHash(), nil
	case QuickXor:
		return NewQuickXor(), nil
	}
	return nil, fmt.Errorf("unknown hash kind %q", kind)
}

// EncodeHash renders a digest the way the service does.
func EncodeHash(kind HashKind, sum []byte) string {
	if kind == QuickXor {
		return base64.StdEncoding.EncodeToString(sum)
	}
	return hex.EncodeToString(sum)
}

// HashReader reads r to EOF and returns its hash of the given kinds, in one pass.
func HashReader(r io.Reader, kinds ...HashKind) (map[HashKind]string, int64, error) {
	h, err := Hash(r, kinds...)
	return h.Sums, h.N, err
}

// Hashes is what one pass over some content yields.
type Hashes struct {
	Sums  map[HashKind]string
	Parts map[HashKind][]string // for kinds built from parts (see Parted)
	N     int64                 // bytes read
}

// Hash reads r to EOF and returns its hashes of the given kinds, with the
// parts of those built from parts, in one pass.
func Hash(r io.Reader, kinds ...HashKind) (Hashes, error) {
	hs := make([]hash.Hash, len(kinds))
	ws := make([]io.Writer, len(kinds))
	for i, k := range kinds {
		h, err := NewHash(k)
		if err != nil {
			return Hashes{}, err
		}
		hs[i], ws[i] = h, h
	}
	n, err := io.CopyBuffer(io.MultiWriter(ws...), r, make([]byte, 256<<10))
	out := Hashes{N: n}
	if err != nil {
		return out, err
	}
	out.Sums = make(map[HashKind]string, len(kinds))
	for i, k := range kinds {
		out.Sums[k] = EncodeHash(k, hs[i].Sum(nil))
		if p, ok := hs[i].(Parted); ok {
			if out.Parts == nil {
				out.Parts = map[HashKind][]string{}
			}
			out.Parts[k] = p.Parts()
		}
	}
	return out, nil
}

// SameHash compares two encoded hashes of one kind; hex case does not matter.
func SameHash(kind HashKind, a, b string) bool {
	if kind == QuickXor {
		return a == b
	}
	return len(a) == len(b) && (a == b || equalFoldASCII(a, b))
}

func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}
