// Package codec turns a backup into the form it is stored in at a
// destination (optionally zstd-compressed, then optionally age-encrypted)
// and back, streaming with bounded memory. The stored form is readable
// without offsite: `age -d -i key.txt day.bak.zst.age | zstd -d`.
package codec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"strings"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// Suffixes of the stored form, in the order they are added.
const (
	SuffixZstd = ".zst"
	SuffixAge  = ".age"
)

// Spec is how a destination stores its files. The zero Spec stores them
// as they are.
type Spec struct {
	Compress   bool     // zstd
	Recipients []string // age X25519 public keys ("age1…"); any one of their identities decrypts
	Passphrase string   // age scrypt passphrase; exclusive with Recipients

	// WorkFactor is the scrypt work factor (log2 N) for a passphrase;
	// 0 means age's default. Tests lower it.
	WorkFactor int
}

// Plain reports whether files are stored as they are.
func (s Spec) Plain() bool { return !s.Compress && !s.Encrypted() }

// Encrypted reports whether files are stored encrypted.
func (s Spec) Encrypted() bool { return len(s.Recipients) > 0 || s.Passphrase != "" }

// Suffix is what the stored name adds to the original's: "", ".zst",
// ".age" or ".zst.age".
func (s Spec) Suffix() string {
	var b strings.Builder
	if s.Compress {
		b.WriteString(SuffixZstd)
	}
	if s.Encrypted() {
		b.WriteString(SuffixAge)
	}
	return b.String()
}

// Check reports the first problem that would keep Encode from working:
// a recipient that does not parse, or recipients and a passphrase at once.
func (s Spec) Check() error {
	_, err := s.recipients()
	return err
}

func (s Spec) recipients() ([]age.Recipient, error) {
	if s.Passphrase != "" {
		if len(s.Recipients) > 0 {
			return nil, errors.New("encrypt has both recipients and a passphrase; keep one of them")
		}
		r, err := age.NewScryptRecipient(s.Passphrase)
		if err != nil {
			return nil, fmt.Errorf("passphrase: %w", err)
		}
		if s.WorkFactor > 0 {
			r.SetWorkFactor(s.WorkFactor)
		}
		return []age.Recipient{r}, nil
	}
	rs := make([]age.Recipient, 0, len(s.Recipients))
	for i, k := range s.Recipients {
		r, err := ParseRecipient(k)
		if err != nil {
			return nil, fmt.Errorf("recipient %d: %w", i+1, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// ParseRecipient parses an age X25519 public key. Its error never echoes
// the text, which could be a private key pasted in the wrong place.
func ParseRecipient(s string) (*age.X25519Recipient, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-") {
		return nil, errors.New("this is a private key (AGE-SECRET-KEY-…); put its public key (age1…) here and keep the private key off this PC")
	}
	r, err := age.ParseX25519Recipient(s)
	if err != nil {
		return nil, errors.New("not an age public key: it should start with age1 and be one line, as `offsite key generate` or `age-keygen -y` print it")
	}
	return r, nil
}

// Sum is a file's size and SHA-256 (lower-case hex).
type Sum struct {
	Size   int64
	SHA256 string
}

// IsZero reports whether nothing is known.
func (s Sum) IsZero() bool { return s == Sum{} }

// Result describes one encoding: the original that was read and the stored
// form that was written.
type Result struct {
	Original Sum
	Stored   Sum
}

// Encode reads src to its end and writes its stored form to dst. The
// stored form of a compressed file ends with a zstd skippable frame that
// carries the original's size and SHA-256, so a restore can check them
// from the file alone; `zstd -d` ignores it.
func Encode(dst io.Writer, src io.Reader, s Spec) (Result, error) {
	return EncodeChecked(dst, src, s, Sum{})
}

// ErrChanged: the original read was not the one expected.
var ErrChanged = errors.New("the original is not the version expected")

// EncodeChecked is Encode that also proves src is the version want names
// (unless want is zero), from the same pass: when its size or SHA-256
// differ it returns ErrChanged before the stored form is finished (age's
// last chunk, zstd's last frame and the trailer are never written), so a
// stream fed to a destination as it is made is never complete.
func EncodeChecked(dst io.Writer, src io.Reader, s Spec, want Sum) (Result, error) {
	var res Result
	stored := newCounter(dst)
	var w io.Writer = stored
	var closers []io.Closer // innermost last
	if s.Encrypted() {
		rs, err := s.recipients()
		if err != nil {
			return res, err
		}
		aw, err := age.Encrypt(w, rs...)
		if err != nil {
			return res, fmt.Errorf("encrypt: %w", err)
		}
		w = aw
		closers = append(closers, aw)
	}
	var zw *frameWriter
	if s.Compress {
		var err error
		if zw, err = newFrameWriter(w, min(runtime.GOMAXPROCS(0), 4), frameSize, zstd.SpeedFastest); err != nil {
			return res, fmt.Errorf("compress: %w", err)
		}
		// Ends the frames still being compressed when an error returns
		// early; a finished writer has none.
		defer zw.abort()
	}
	orig := newCounter(io.Discard)
	var sink io.Writer = w
	if zw != nil {
		sink = zw
	}
	if _, err := io.Copy(io.MultiWriter(sink, orig), src); err != nil {
		return res, fmt.Errorf("encode: %w", err)
	}
	res.Original = orig.sum()
	if !want.IsZero() && res.Original != want {
		return res, fmt.Errorf("encode: read %d bytes with SHA-256 %s, want %d bytes with %s: %w",
			res.Original.Size, res.Original.SHA256, want.Size, want.SHA256, ErrChanged)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return res, fmt.Errorf("compress: %w", err)
		}
		if _, err := w.Write(trailer(res.Original)); err != nil {
			return res, fmt.Errorf("encode: %w", err)
		}
	}
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i].Close(); err != nil {
			return res, fmt.Errorf("encrypt: %w", err)
		}
	}
	res.Stored = stored.sum()
	return res, nil
}

// counter hashes and counts what passes through it.
type counter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newCounter(w io.Writer) *counter { return &counter{w: w, h: sha256.New()} }

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

func (c *counter) sum() Sum { return Sum{Size: c.n, SHA256: hex.EncodeToString(c.h.Sum(nil))} }
