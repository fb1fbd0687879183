package providers

import (
	"encoding/binary"
	"hash"
)

// quickXor is OneDrive's QuickXorHash: every input byte is XORed into a
// 160-bit register at a bit offset that advances by 11 per byte, and the
// length is XORed into the last 8 bytes at the end.
type quickXor struct {
	cells  [3]uint64 // 160 bits in 64-bit cells (the last holds 32)
	shift  int       // bit position of the next byte, 0..159
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
	shift := q.shift
	for _, b := range p {
		cell, bit := shift/64, uint(shift%64)
		v := uint64(b)
		q.cells[cell] ^= v << bit
		cellBits := 64
		if cell == 2 {
			cellBits = qxWidth - 128
		}
		if int(bit)+8 > cellBits {
			// Spill into the next cell, wrapping past bit 159 to bit 0.
			next := (cell + 1) % 3
			q.cells[next] ^= v >> (uint(cellBits) - bit)
		}
		shift = (shift + qxShift) % qxWidth
	}
	q.shift = shift
	q.length += uint64(len(p))
	return len(p), nil
}

func (q *quickXor) Sum(b []byte) []byte {
	var out [20]byte
	binary.LittleEndian.PutUint64(out[0:8], q.cells[0])
	binary.LittleEndian.PutUint64(out[8:16], q.cells[1])
	binary.LittleEndian.PutUint32(out[16:20], uint32(q.cells[2]))
	var l [8]byte
	binary.LittleEndian.PutUint64(l[:], q.length)
	for i := range 8 {
		out[12+i] ^= l[i]
	}
	return append(b, out[:]...)
}

func (q *quickXor) Reset()         { *q = quickXor{} }
func (q *quickXor) Size() int      { return 20 }
func (q *quickXor) BlockSize() int { return 64 }
