package providers

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestQuickXorVectors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		{"Sg==", "SgAAAAAAAAAAAAAAAQAAAAAAAAA="},
		{"tbQ=", "taAFAAAAAAAAAAAAAgAAAAAAAAA="},
	} {
		in, _ := base64.StdEncoding.DecodeString(tc.in)
		got, _, err := HashReader(bytes.NewReader(in), QuickXor)
		if err != nil {
			t.Fatal(err)
		}
		if got[QuickXor] != tc.want {
			t.Errorf("quickxor(%s) = %s, want %s", tc.in, got[QuickXor], tc.want)
		}
	}
}

// quickXorReference is the algorithm as documented, one bit at a time.
func quickXorReference(p []byte) []byte {
	var reg [20]byte
	for i, b := range p {
		off := (i * 11) % 160
		for bit := 0; bit < 8; bit++ {
			if b&(1<<bit) != 0 {
				pos := (off + bit) % 160
				reg[pos/8] ^= 1 << (pos % 8)
			}
		}
	}
	n := uint64(len(p))
	for i := 0; i < 8; i++ {
		reg[12+i] ^= byte(n >> (8 * i))
	}
	return reg[:]
}

func TestQuickXorMatchesReferenceInPieces(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{1, 19, 20, 21, 159, 160, 161, 1000, 65537} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		h := NewQuickXor()
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+r.IntN(300))
			h.Write(rest[:n])
			rest = rest[n:]
		}
		if got, want := h.Sum(nil), quickXorReference(data); !bytes.Equal(got, want) {
			t.Fatalf("size %d: got %x want %x", size, got, want)
		}
	}
}

func TestContentHashVectors(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{1, "1cd6ef71e6e0ff46ad2609d403dc3fee244417089aa4461245a4e4fe23a55e42"},
		{4194304, "d4d63bac5b866c71620185392a8a6218ac1092454a2d16f820363b69852befa3"},
		{4194305, "8f553da8d00d0bf509d8470e242888be33019c20c0544811f5b2b89e98360b92"},
	} {
		h := NewContentHash()
		h.Write([]byte(strings.Repeat("A", tc.n)))
		before := EncodeHash(ContentHash, h.Sum(nil))
		if again := EncodeHash(ContentHash, h.Sum(nil)); again != before {
			t.Fatalf("Sum changed the state: %s then %s", before, again)
		}
		if before != tc.want {
			t.Errorf("content_hash(%d×A) = %s, want %s", tc.n, before, tc.want)
		}
	}
}

func TestHashReaderOnePass(t *testing.T) {
	got, n, err := HashReader(strings.NewReader("abc"), SHA256, MD5)
	if err != nil || n != 3 {
		t.Fatal(n, err)
	}
	if got[SHA256] != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || got[MD5] != "900150983cd24fb0d6963f7d28e17f72" {
		t.Errorf("got %v", got)
	}
	if !SameHash(MD5, "900150983CD24FB0D6963F7D28E17F72", got[MD5]) {
		t.Error("hex case should not matter")
	}
}

// TestContentHashParts: the parts are each 4 MiB block's SHA-256, the last
// one possibly short, and the content_hash is the SHA-256 of them joined.
func TestContentHashParts(t *testing.T) {
	for _, n := range []int{0, 1, 4 << 20, 4<<20 + 1, 9 << 20} {
		data := bytes.Repeat([]byte("A"), n)
		h, err := Hash(bytes.NewReader(data), ContentHash, SHA256)
		if err != nil {
			t.Fatal(err)
		}
		parts := h.Parts[ContentHash]
		if want := (n + 4<<20 - 1) / (4 << 20); len(parts) != want {
			t.Fatalf("%d bytes: %d parts, want %d", n, len(parts), want)
		}
		whole := sha256.New()
		for i, p := range parts {
			block := data[i*4<<20 : min((i+1)*4<<20, n)]
			sum := sha256.Sum256(block)
			if p != hex.EncodeToString(sum[:]) {
				t.Errorf("%d bytes: part %d is not its block's SHA-256", n, i)
			}
			whole.Write(sum[:])
		}
		if got := hex.EncodeToString(whole.Sum(nil)); got != h.Sums[ContentHash] {
			t.Errorf("%d bytes: parts join to %s, content_hash is %s", n, got, h.Sums[ContentHash])
		}
		if got := ContentHashOfParts(parts); got != h.Sums[ContentHash] {
			t.Errorf("%d bytes: ContentHashOfParts = %s, want %s", n, got, h.Sums[ContentHash])
		}
		if _, ok := h.Parts[SHA256]; ok {
			t.Error("SHA-256 has no parts")
		}
	}
	if ContentHashOfParts([]string{"not hex"}) != "" {
		t.Error("a part that is no digest makes a content_hash")
	}
}

// BenchmarkHashes: each service's hash over the same bytes; MB/s is what
// an upload that hashes while it sends can reach at most on one core.
// SHA-256 is the baseline to read the others against.
func BenchmarkHashes(b *testing.B) {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for _, kind := range []HashKind{SHA256, MD5, ContentHash, QuickXor} {
		b.Run(string(kind), func(b *testing.B) {
			h, _ := NewHash(kind)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				h.Write(buf)
			}
		})
	}
}
