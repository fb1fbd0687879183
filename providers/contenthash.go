package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// contentHashBlock is Dropbox's block size for content_hash.
const contentHashBlock = 4 << 20

// contentHash is Dropbox's content_hash: the SHA-256 of the concatenated
// SHA-256 digests of each 4 MiB block. It streams in any piece sizes.
type contentHash struct {
	overall hash.Hash
	block   hash.Hash
	inBlock int
	parts   []string // each whole block's digest, hex
}

// Parted is implemented by hashes built from the digests of fixed-size
// parts of the content (Dropbox's content_hash: 4 MiB blocks).
type Parted interface {
	// Parts returns the digest of each part written so far, hex; a last,
	// partial part counts.
	Parts() []string
}

// ContentHashOfParts is the content_hash of content whose 4 MiB blocks
// have the given SHA-256 digests (hex, as Parts returns them), or "" when
// one is not such a digest.
func ContentHashOfParts(parts []string) string {
	overall := sha256.New()
	for _, p := range parts {
		b, err := hex.DecodeString(p)
		if err != nil || len(b) != sha256.Size {
			return ""
		}
		overall.Write(b)
	}
	return hex.EncodeToString(overall.Sum(nil))
}

func (h *contentHash) Parts() []string {
	out := append([]string(nil), h.parts...)
	if h.inBlock > 0 {
		out = append(out, hex.EncodeToString(h.block.Sum(nil)))
	}
	return out
}

// NewContentHash returns a hash.Hash computing Dropbox's content_hash.
func NewContentHash() hash.Hash {
	return &contentHash{overall: sha256.New(), block: sha256.New()}
}

func (h *contentHash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		take := min(contentHashBlock-h.inBlock, len(p))
		h.block.Write(p[:take])
		h.inBlock += take
		p = p[take:]
		if h.inBlock == contentHashBlock {
			sum := h.block.Sum(nil)
			h.overall.Write(sum)
			h.parts = append(h.parts, hex.EncodeToString(sum))
			h.block.Reset()
			h.inBlock = 0
		}
	}
	return n, nil
}

func (h *contentHash) Sum(b []byte) []byte {
	overall := h.overall
	if h.inBlock > 0 {
		// Sum must not change the state: finish on a copy.
		c := sha256.New()
		// sha256 digests implement encoding.BinaryMarshaler; cloning
		// through it keeps Sum side-effect free.
		state, err := h.overall.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
		if err == nil {
			err = c.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(state)
		}
		if err != nil {
			panic("content hash: cannot clone sha256 state: " + err.Error()) // cannot happen with crypto/sha256
		}
		c.Write(h.block.Sum(nil))
		overall = c
	}
	return overall.Sum(b)
}

func (h *contentHash) Reset() {
	h.overall.Reset()
	h.block.Reset()
	h.inBlock = 0
	h.parts = nil
}

func (h *contentHash) Size() int      { return sha256.Size }
func (h *contentHash) BlockSize() int { return sha256.BlockSize }
