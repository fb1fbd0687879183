package codec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"filippo.io/age"
)

// sample is compressible yet not trivial, like a database dump.
func sample(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"INSERT INTO sales VALUES(", "'2026-11-23'", ",", "19.99", "'kassa 1'", ");\n", "Brot", "Milch"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(10) == 0 {
			b.WriteByte(byte(r.Uint32()))
		}
	}
	return b.Bytes()[:n]
}

func sumOf(b []byte) Sum {
	h := sha256.Sum256(b)
	return Sum{Size: int64(len(b)), SHA256: hex.EncodeToString(h[:])}
}

func newIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type combo struct {
	name string
	spec Spec
	keys Keys
}

func combos(t *testing.T) []combo {
	shop, tech := newIdentity(t), newIdentity(t)
	recips := []string{shop.Recipient().String(), tech.Recipient().String()}
	return []combo{
		{"plain", Spec{}, Keys{}},
		{"zstd", Spec{Compress: true}, Keys{}},
		{"age-recipients", Spec{Recipients: recips}, Keys{Identities: []age.Identity{tech}}},
		{"age-passphrase", Spec{Passphrase: "correct horse", WorkFactor: 10}, Keys{Passphrase: "correct horse"}},
		{"zstd-age", Spec{Compress: true, Recipients: recips}, Keys{Identities: []age.Identity{shop}}},
		{"zstd-passphrase", Spec{Compress: true, Passphrase: "correct horse", WorkFactor: 10}, Keys{Passphrase: "correct horse"}},
	}
}

func TestRoundTrip(t *testing.T) {
	orig := sample(3<<20 + 17)
	want := sumOf(orig)
	for _, c := range combos(t) {
		t.Run(c.name, func(t *testing.T) {
			var stored bytes.Buffer
			res, err := Encode(&stored, bytes.NewReader(orig), c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if res.Original != want {
				t.Fatalf("original = %+v, want %+v", res.Original, want)
			}
			if got := sumOf(stored.Bytes()); res.Stored != got {
				t.Fatalf("stored = %+v, the bytes written are %+v", res.Stored, got)
			}
			if c.spec.Encrypted() && bytes.Contains(stored.Bytes(), orig[:64]) {
				t.Fatal("the encrypted form contains the plaintext")
			}
			if c.spec.Compress && stored.Len() > len(orig)/2 {
				t.Errorf("compressed %d bytes to %d; expected at least 2:1 on this sample", len(orig), stored.Len())
			}
			var out bytes.Buffer
			name := "day.bak" + c.spec.Suffix()
			got, err := Decode(&out, bytes.NewReader(stored.Bytes()), name, c.keys, want)
			if err != nil {
				t.Fatal(err)
			}
			if got != want || !bytes.Equal(out.Bytes(), orig) {
				t.Fatalf("decoded %+v, want %+v", got, want)
			}
			// From a fresh install nothing is known but the file.
			out.Reset()
			if _, err := Decode(&out, bytes.NewReader(stored.Bytes()), name, c.keys, Sum{}); err != nil || !bytes.Equal(out.Bytes(), orig) {
				t.Fatalf("decode without the expected sum: %v", err)
			}
		})
	}
}

func TestSuffix(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{}, ""},
		{Spec{Compress: true}, ".zst"},
		{Spec{Recipients: []string{"age1x"}}, ".age"},
		{Spec{Compress: true, Passphrase: "p"}, ".zst.age"},
	} {
		if got := tc.spec.Suffix(); got != tc.want {
			t.Errorf("%+v: suffix %q, want %q", tc.spec, got, tc.want)
		}
		c, e, orig := Layers("day.bak" + tc.want)
		if c != tc.spec.Compress || e != tc.spec.Encrypted() || orig != "day.bak" {
			t.Errorf("Layers(day.bak%s) = %v %v %q", tc.want, c, e, orig)
		}
	}
}

func TestDamageAndWrongKeysFailClearly(t *testing.T) {
	orig := sample(1<<20 + 5)
	want := sumOf(orig)
	other := newIdentity(t)
	for _, c := range combos(t) {
		t.Run(c.name, func(t *testing.T) {
			var stored bytes.Buffer
			if _, err := Encode(&stored, bytes.NewReader(orig), c.spec); err != nil {
				t.Fatal(err)
			}
			name := "day.bak" + c.spec.Suffix()
			b := stored.Bytes()
			decode := func(data []byte, k Keys, want Sum) error {
				_, err := Decode(io.Discard, bytes.NewReader(data), name, k, want)
				return err
			}
			flipped := bytes.Clone(b)
			flipped[len(flipped)/2] ^= 0x10
			wantErr := ErrDamaged
			if c.spec.Plain() {
				wantErr = ErrMismatch // only the original's hash can tell
			}
			if err := decode(flipped, c.keys, want); !errors.Is(err, wantErr) && !errors.Is(err, ErrMismatch) {
				t.Errorf("one flipped bit: %v, want %v", err, wantErr)
			}
			cut := b[:len(b)*2/3]
			if err := decode(cut, c.keys, want); !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrMismatch) {
				t.Errorf("cut short: %v, want damaged or mismatch", err)
			}
			if c.spec.Compress || c.spec.Encrypted() {
				// Without the queue's record the file itself must notice.
				if err := decode(cut, c.keys, Sum{}); !errors.Is(err, ErrDamaged) {
					t.Errorf("cut short, nothing known: %v, want damaged", err)
				}
			}
			if c.spec.Encrypted() {
				err := decode(b, Keys{Identities: []age.Identity{other}}, want)
				if c.spec.Passphrase != "" {
					err = decode(b, Keys{Passphrase: "wrong"}, want)
				}
				if !errors.Is(err, ErrWrongKey) {
					t.Errorf("wrong key: %v, want ErrWrongKey", err)
				}
				if err := decode(b, Keys{}, want); !errors.Is(err, ErrNoKey) {
					t.Errorf("no key: %v, want ErrNoKey", err)
				}
			}
		})
	}
}

func TestTrailerIsChecked(t *testing.T) {
	orig := sample(100 << 10)
	var stored bytes.Buffer
	if _, err := Encode(&stored, bytes.NewReader(orig), Spec{Compress: true}); err != nil {
		t.Fatal(err)
	}
	b := stored.Bytes()
	if s, ok := parseTrailer(b[len(b)-trailerLen:]); !ok || s != sumOf(orig) {
		t.Fatalf("trailer = %+v %v, want %+v", s, ok, sumOf(orig))
	}
	// A compressed stream whose frames are intact but whose recorded
	// original differs (a file swapped for another) is caught too.
	b[len(b)-1] ^= 1
	if _, err := Decode(io.Discard, bytes.NewReader(b), "x.zst", Keys{}, Sum{}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("altered trailer: %v, want ErrMismatch", err)
	}
}

func TestSourceErrorsAreNotDamage(t *testing.T) {
	var stored bytes.Buffer
	if _, err := Encode(&stored, bytes.NewReader(sample(1<<20)), Spec{Compress: true}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(stored.Bytes()[:1000]), &failReader{boom})
	_, err := Decode(io.Discard, r, "x.zst", Keys{}, Sum{})
	if !errors.Is(err, boom) || errors.Is(err, ErrDamaged) {
		t.Fatalf("got %v, want the reader's own error", err)
	}
}

type failReader struct{ err error }

func (f *failReader) Read([]byte) (int, error) { return 0, f.err }

func TestRecipientErrorsNameTheFix(t *testing.T) {
	id := newIdentity(t)
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Recipients: []string{id.String()}}, "private key"},
		{Spec{Recipients: []string{"age1notakey"}}, "start with age1"},
		{Spec{Recipients: []string{id.Recipient().String()}, Passphrase: "x"}, "keep one"},
	} {
		err := tc.spec.Check()
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%v: want an error about %q", err, tc.want)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), []byte(id.String())) {
			t.Errorf("the error echoes the private key: %v", err)
		}
	}
	if err := (Spec{Recipients: []string{id.Recipient().String()}}).Check(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckStoredWithoutTheKey(t *testing.T) {
	id := newIdentity(t)
	var stored bytes.Buffer
	res, err := Encode(&stored, bytes.NewReader(sample(200<<10)), Spec{Compress: true, Recipients: []string{id.Recipient().String()}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := CheckStored(bytes.NewReader(stored.Bytes()), "x.zst.age")
	if err != nil || got != res.Stored {
		t.Fatalf("CheckStored = %+v, %v; want %+v", got, err, res.Stored)
	}
	b := stored.Bytes()
	b[5] ^= 0x20 // inside "age-encryption.org/v1"
	if _, err := CheckStored(bytes.NewReader(b), "x.zst.age"); !errors.Is(err, ErrDamaged) {
		t.Fatalf("damaged header: %v, want ErrDamaged", err)
	}
}
