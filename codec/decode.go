package codec

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// The errors Decode wraps, so callers can tell the user what to do.
var (
	// ErrNoKey: the file is encrypted and no identity or passphrase was given.
	ErrNoKey = errors.New("the file is encrypted and no key was given")
	// ErrWrongKey: none of the given identities or passphrase opens it.
	ErrWrongKey = errors.New("none of the given keys opens the file")
	// ErrDamaged: the stored bytes are not what was written (tampered,
	// corrupted or cut short).
	ErrDamaged = errors.New("the stored file is damaged or incomplete")
	// ErrMismatch: the decoded bytes are not the original (size or SHA-256).
	ErrMismatch = errors.New("the restored bytes are not the original backup")
)

// Keys open encrypted files: any identity (or the passphrase) that
// matches one recipient is enough.
type Keys struct {
	Identities []age.Identity
	Passphrase string
}

func (k Keys) identities() ([]age.Identity, error) {
	ids := append([]age.Identity(nil), k.Identities...)
	if k.Passphrase != "" {
		id, err := age.NewScryptIdentity(k.Passphrase)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Layers reports the layers a stored name says it has, and the original's
// name: "day.bak.zst.age" is compressed, encrypted, "day.bak".
func Layers(name string) (compressed, encrypted bool, original string) {
	original = name
	if strings.HasSuffix(original, SuffixAge) {
		encrypted = true
		original = strings.TrimSuffix(original, SuffixAge)
	}
	if strings.HasSuffix(original, SuffixZstd) {
		compressed = true
		original = strings.TrimSuffix(original, SuffixZstd)
	}
	return compressed, encrypted, original
}

// ageMagic starts every binary age file.
const ageMagic = "age-encryption.org/v1\n"

// Decode reads a stored file named name (its suffixes say which layers it
// has) and writes the original to dst. It checks the result against want
// when want is known, and against the size and SHA-256 a compressed file
// carries. It returns what it wrote. Errors wrap ErrNoKey, ErrWrongKey,
// ErrDamaged or ErrMismatch, or are the reader's or writer's own.
//
// dst has received bytes when Decode fails: callers write to a temporary
// file and keep it only on success.
func Decode(dst io.Writer, src io.Reader, name string, k Keys, want Sum) (Sum, error) {
	compressed, encrypted, _ := Layers(name)
	var r io.Reader = &sourceReader{r: src}
	if encrypted {
		br := bufio.NewReader(r)
		head, err := br.Peek(len(ageMagic))
		if err != nil && !isSource(err) {
			return Sum{}, fmt.Errorf("%w: it is too short to be an age file", ErrDamaged)
		} else if err != nil {
			return Sum{}, err
		}
		if string(head) != ageMagic {
			return Sum{}, fmt.Errorf("%w: its name ends in %s but it does not start like an age file", ErrDamaged, SuffixAge)
		}
		ids, err := k.identities()
		if err != nil {
			return Sum{}, err
		}
		if len(ids) == 0 {
			return Sum{}, ErrNoKey
		}
		dr, err := age.Decrypt(br, ids...)
		if err != nil {
			var nomatch *age.NoIdentityMatchError
			switch {
			case isSource(err):
				return Sum{}, err
			case errors.As(err, &nomatch):
				return Sum{}, ErrWrongKey
			default:
				return Sum{}, fmt.Errorf("%w: %v", ErrDamaged, err)
			}
		}
		r = dr
	}
	tail := &tailReader{r: r}
	r = tail
	if compressed {
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(1<<27))
		if err != nil {
			return Sum{}, err
		}
		defer zr.Close()
		r = zr
	}
	out := newCounter(dst)
	if _, err := io.Copy(out, &damageReader{r: r}); err != nil {
		return Sum{}, err
	}
	got := out.sum()
	if !want.IsZero() && got != want {
		return got, fmt.Errorf("%w: got %d bytes with SHA-256 %s, the original had %d bytes with SHA-256 %s",
			ErrMismatch, got.Size, got.SHA256, want.Size, want.SHA256)
	}
	if compressed {
		if carried, ok := parseTrailer(tail.last()); ok && carried != got {
			return got, fmt.Errorf("%w: got %d bytes with SHA-256 %s, the file says the original had %d bytes with SHA-256 %s",
				ErrMismatch, got.Size, got.SHA256, carried.Size, carried.SHA256)
		}
	}
	return got, nil
}

// sourceError marks an error of the underlying reader (a network or disk
// error), which is not evidence of damage.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

type sourceReader struct{ r io.Reader }

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

func isSource(err error) bool {
	var se *sourceError
	return errors.As(err, &se)
}

// damageReader turns a decoding error into ErrDamaged, leaving the
// source's own errors as they are.
type damageReader struct{ r io.Reader }

func (d *damageReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF && !isSource(err) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: it ends too early (cut short in transfer or storage)", ErrDamaged)
		} else {
			err = fmt.Errorf("%w: %v", ErrDamaged, err)
		}
	}
	return n, err
}

// The trailer is a zstd skippable frame (magic 0x184D2A5E) whose 48 bytes
// are "offsite1", the original's size (uint64 LE) and its SHA-256.
const (
	trailerMagic = 0x184D2A5E
	trailerTag   = "offsite1"
	trailerLen   = 8 + 8 + 8 + 32
)

func trailer(s Sum) []byte {
	b := make([]byte, 0, trailerLen)
	b = binary.LittleEndian.AppendUint32(b, trailerMagic)
	b = binary.LittleEndian.AppendUint32(b, trailerLen-8)
	b = append(b, trailerTag...)
	b = binary.LittleEndian.AppendUint64(b, uint64(s.Size))
	sum, _ := hex.DecodeString(s.SHA256)
	return append(b, sum...)
}

func parseTrailer(b []byte) (Sum, bool) {
	if len(b) != trailerLen || binary.LittleEndian.Uint32(b) != trailerMagic ||
		binary.LittleEndian.Uint32(b[4:]) != trailerLen-8 || !bytes.Equal(b[8:16], []byte(trailerTag)) {
		return Sum{}, false
	}
	return Sum{Size: int64(binary.LittleEndian.Uint64(b[16:])), SHA256: hex.EncodeToString(b[24:])}, true
}

// tailReader keeps the last trailerLen bytes that passed through it.
type tailReader struct {
	r   io.Reader
	buf []byte
}

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n >= trailerLen {
		t.buf = append(t.buf[:0], p[n-trailerLen:n]...)
	} else if n > 0 {
		t.buf = append(t.buf, p[:n]...)
		if len(t.buf) > trailerLen {
			t.buf = append(t.buf[:0], t.buf[len(t.buf)-trailerLen:]...)
		}
	}
	return n, err
}

func (t *tailReader) last() []byte { return t.buf }

// CheckStored reads a stored file to its end without any key and returns
// its size and SHA-256; an encrypted one must start with a well-formed age
// header. It is what can be checked where the private key is not.
func CheckStored(r io.Reader, name string) (Sum, error) {
	c := newCounter(io.Discard)
	src := io.TeeReader(&sourceReader{r: r}, c)
	if _, encrypted, _ := Layers(name); encrypted {
		if _, err := age.ExtractHeader(src); err != nil {
			if isSource(err) {
				return Sum{}, err
			}
			return Sum{}, fmt.Errorf("%w: its age header does not parse: %v", ErrDamaged, err)
		}
	}
	if _, err := io.Copy(io.Discard, src); err != nil {
		return Sum{}, err
	}
	return c.sum(), nil
}
