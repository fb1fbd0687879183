package providers

import (
	"crypto/sha256"
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
			h.overall.Write(h.block.Sum(nil))
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
		state, _ := h.overall.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
		c.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(state)
		c.Write(h.block.Sum(nil))
		overall = c
	}
	return overall.Sum(b)
}

func (h *contentHash) Reset() {
	h.overall.Reset()
	h.block.Reset()
	h.inBlock = 0
}

func (h *contentHash) Size() int      { return sha256.Size }
func (h *contentHash) BlockSize() int { return sha256.BlockSize }
