package providers

import (
	"crypto/subtle"
	"encoding/binary"
	"hash"
)

// quickXor is OneDrive's QuickXorHash: every input byte is XORed into a
// 160-bit register at a bit offset that advances by 11 per byte, and the
// length is XORed into the last 8 bytes at the end.
//
// The offset of byte n depends only on n mod 160, and XOR is linear, so
// bytes 160 apart are XORed together first (whole blocks at once, with
// the SIMD XOR of crypto/subtle) and the 160 sums are shifted into the
// register only when the digest is asked for: the per-byte shifting of
// the plain algorithm made uploads to OneDrive wait on the hash.
type quickXor struct {
	acc    [qxWidth]byte // acc[k]: XOR of every byte n with n mod 160 == k
	length uint64
}

const (
	qxWidth = 160
	qxShift = 11
)

// NewQuickXor returns a hash.Hash computing OneDrive's quickXorHash. Encode
// the digest with base64 (EncodeHash does).
func NewQuickXor() hash.Hash { return &quickXor{} }

func (q *quickXor) Write(p []byte) (int, error) {
	n := len(p)
	pos := int(q.length % qxWidth)
	q.length += uint64(n)
	if pos != 0 {
		k := subtle.XORBytes(q.acc[pos:], q.acc[pos:], p)
		p = p[k:]
	}
	for len(p) >= qxWidth {
		subtle.XORBytes(q.acc[:], q.acc[:], p[:qxWidth])
		p = p[qxWidth:]
	}
	if len(p) > 0 {
		subtle.XORBytes(q.acc[:len(p)], q.acc[:len(p)], p)
	}
	return n, nil
}

func (q *quickXor) Sum(b []byte) []byte {
	var cells [3]uint64 // 160 bits in 64-bit cells (the last holds 32)
	for k, c := range q.acc {
		if c == 0 {
			continue
		}
		shift := k * qxShift % qxWidth
		cell, bit := shift/64, uint(shift%64)
		v := uint64(c)
		cells[cell] ^= v << bit
		cellBits := 64
		if cell == 2 {
			cellBits = qxWidth - 128
		}
		if int(bit)+8 > cellBits {
			// Spill into the next cell, wrapping past bit 159 to bit 0.
			cells[(cell+1)%3] ^= v >> (uint(cellBits) - bit)
		}
	}
	var out [20]byte
	binary.LittleEndian.PutUint64(out[0:8], cells[0])
	binary.LittleEndian.PutUint64(out[8:16], cells[1])
	binary.LittleEndian.PutUint32(out[16:20], uint32(cells[2]))
	var l [8]byte
	binary.LittleEndian.PutUint64(l[:], q.length)
	for i := range 8 {
		out[12+i] ^= l[i]
	}
	return append(b, out[:]...)
}

func (q *quickXor) Reset()         { *q = quickXor{} }
func (q *quickXor) Size() int      { return 20 }
func (q *quickXor) BlockSize() int { return qxWidth }
