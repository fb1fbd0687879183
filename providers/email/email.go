// Package email is the e-mail destination: each file it receives is sent
// as the attachment of one mail. A mailbox cannot be listed, read back or
// pruned by offsite; Stat, List, Get and Delete say so.
package email

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/internal/smtpmail"
	"github.com/offsite-backup/offsite/internal/units"
	"github.com/offsite-backup/offsite/providers"
)

var _ providers.Provider = (*Client)(nil)

// DefaultMaxSize keeps a mail under the 25 MB most providers accept once
// base64 has grown the attachment by a third.
const DefaultMaxSize = 18 << 20

// Retrieve is how a person gets a file back from this destination.
const Retrieve = "open the backup mail and save its attachment"

// Names: every mail stands alone, so no two names can collide.
var Names = providers.NameRules{}

// Config is one e-mail destination.
type Config struct {
	Name    string // the destination's name, for messages
	URL     string // smtp://user:password@host:port/?from=…&to=…
	MaxSize int64  // largest file sent; DefaultMaxSize when 0
	Timeout time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// Client sends files by mail.
type Client struct {
	name string
	smtp smtpmail.Config
	max  int64
	now  func() time.Time
	log  *slog.Logger
}

// New checks the URL; nothing is dialled.
func New(c Config) (*Client, error) {
	mc, err := smtpmail.Parse(c.URL)
	if err != nil {
		return nil, providers.Errorf(providers.Fatal, "", "fix the url of destination "+c.Name+" (see docs/config.md, E-mail)", "url: %v", err)
	}
	if c.Timeout > 0 {
		mc.Timeout = c.Timeout
	}
	cl := &Client{name: c.Name, smtp: mc, max: c.MaxSize, now: c.Now, log: c.Logger}
	if cl.max <= 0 {
		cl.max = DefaultMaxSize
	}
	if cl.now == nil {
		cl.now = time.Now
	}
	if cl.log == nil {
		cl.log = slog.New(slog.DiscardHandler)
	}
	return cl, nil
}

// HashKind: the SHA-256 of the attachment as it was sent.
func (c *Client) HashKind() providers.HashKind { return providers.SHA256 }

// NameRules are the destination's name rules.
func (c *Client) NameRules() providers.NameRules { return Names }

// Put sends the file as one mail. It returns only once the server
// accepted the message, with the SHA-256 of exactly the bytes attached.
// When those bytes are not the expected ones (o.Hash, size) the
// connection is dropped before the end of the message, so the server
// delivers nothing.
func (c *Client) Put(ctx context.Context, p string, r io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	name := AttachmentName(p)
	if size > c.max {
		return providers.RemoteFile{}, providers.Errorf(providers.Permanent, "",
			"compress the backup (compress: zstd), raise max_size if the mail provider takes larger mails, or send this watch to a cloud destination",
			"%s is %s, larger than the %s this mailbox destination sends (max_size); nothing was sent", name, units.Bytes(size), units.Bytes(c.max))
	}
	when := o.ModTime
	if when.IsZero() {
		when = c.now()
	}
	// The text names the hash, and comes before the attachment: hash the
	// file first, then send it and check the bytes sent hash the same.
	pre, n, err := sha256Of(ctxReader{ctx, r}, size)
	if ctx.Err() != nil {
		return providers.RemoteFile{}, ctx.Err()
	}
	if err != nil {
		return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "", "read %s: %w", name, err)
	}
	if n != size {
		return providers.RemoteFile{}, providers.Errorf(providers.Permanent, providers.ReasonSourceGone, "",
			"%s: read %d of %d bytes; the file shrank, nothing was sent", name, n, size)
	}
	if o.Hash != "" && !providers.SameHash(providers.SHA256, pre, o.Hash) {
		return providers.RemoteFile{}, providers.Errorf(providers.Temporary, providers.ReasonChecksum, "",
			"checksum mismatch for %s: read sha256 %s, expected %s; the file changed, nothing was sent", name, pre, o.Hash)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return providers.RemoteFile{}, providers.Errorf(providers.Permanent, providers.ReasonSourceGone, "", "rewind %s: %w", name, err)
	}
	h := sha256.New()
	body := &counter{r: io.TeeReader(io.LimitReader(ctxReader{ctx, r}, size), h)}
	var sum string
	msg := smtpmail.Message{
		Subject:     "Backup " + providers.EscapeName(p) + " " + when.Format("2006-01-02 15:04"),
		Text:        c.body(p, name, size, when, pre),
		Date:        c.now(),
		Attachments: []smtpmail.Attachment{{Name: name, Body: body}},
		// Runs before the server is asked to accept the mail: an error
		// abandons it, so a torn file is never delivered.
		Commit: func() error {
			sum = hex.EncodeToString(h.Sum(nil))
			if body.n != size || sum != pre {
				return providers.Errorf(providers.Temporary, providers.ReasonChecksum, "",
					"%s changed while it was sent (%d of %d bytes, sha256 %s, before %s); nothing was sent", name, body.n, size, sum, pre)
			}
			return nil
		},
	}
	if err := c.smtp.Send(ctx, msg); err != nil {
		return providers.RemoteFile{}, classify(err)
	}
	if o.OnProgress != nil {
		o.OnProgress(size)
	}
	c.log.Debug("backup mailed", "destination", c.name, "file", p, "bytes", size)
	return providers.RemoteFile{Path: p, Size: size, ModTime: when, Hash: sum}, nil
}

// SendTest sends a short mail without attachment, for `offsite check`.
func (c *Client) SendTest(ctx context.Context) error {
	text := fmt.Sprintf("This is a test mail from offsite check.\n\nBackups sent to the destination '%s' arrive at this address as attachments, one mail per file, each of at most %s.\n",
		c.name, units.Bytes(c.max))
	return classify(c.smtp.Send(ctx, smtpmail.Message{Subject: "offsite test mail for " + c.name, Text: text, Date: c.now()}))
}

// ErrWriteOnly is the error of every read of a mailbox.
func ErrWriteOnly(op string) error {
	return providers.Errorf(providers.Permanent, "", Retrieve,
		"a mailbox cannot be %s by offsite", op)
}

func (c *Client) Stat(context.Context, string) (providers.RemoteFile, error) {
	return providers.RemoteFile{}, ErrWriteOnly("read")
}

func (c *Client) List(context.Context, string) ([]providers.RemoteFile, error) {
	return nil, ErrWriteOnly("listed")
}

func (c *Client) Get(context.Context, string) (io.ReadCloser, error) {
	return nil, ErrWriteOnly("read")
}

func (c *Client) Delete(context.Context, string) error {
	return ErrWriteOnly("pruned")
}

// AttachmentName is the file name a remote path is attached under: its
// last element, with bytes that are not UTF-8 escaped.
func AttachmentName(p string) string {
	return providers.EscapeName(path.Base(p))
}

// body is the mail's text: what is attached and how to restore it.
func (c *Client) body(p, name string, size int64, when time.Time, sum string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "offsite sent this backup as the attached file.\n\n")
	fmt.Fprintf(&b, "File:     %s\n", providers.EscapeName(p))
	fmt.Fprintf(&b, "Size:     %s (%d bytes)\n", units.Bytes(size), size)
	fmt.Fprintf(&b, "Made:     %s\n", when.Format("Mon 2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "SHA-256:  %s\n\n", sum)
	fmt.Fprintf(&b, "To restore: save the attachment %q", name)
	plain := name
	switch {
	case strings.HasSuffix(name, ".zst.age"):
		plain = strings.TrimSuffix(name, ".zst.age")
		fmt.Fprintf(&b, ", then decrypt and decompress it:\n\n    age -d -i key.txt %q | zstd -d -o %q\n\n", name, plain)
		b.WriteString("(key.txt is the age identity file; with a passphrase leave out -i key.txt and age asks for it.)\n")
	case strings.HasSuffix(name, ".age"):
		plain = strings.TrimSuffix(name, ".age")
		fmt.Fprintf(&b, ", then decrypt it:\n\n    age -d -i key.txt -o %q %q\n\n", plain, name)
		b.WriteString("(key.txt is the age identity file; with a passphrase leave out -i key.txt and age asks for it.)\n")
	case strings.HasSuffix(name, ".zst"):
		plain = strings.TrimSuffix(name, ".zst")
		fmt.Fprintf(&b, ", then decompress it:\n\n    zstd -d %q -o %q\n\n", name, plain)
	default:
		b.WriteString(".\n\n")
	}
	fmt.Fprintf(&b, "Then put %q back where the program keeps its backups and restore it there as usual.\n", plain)
	b.WriteString("To check the saved file, compare its SHA-256 with the one above (Windows: certutil -hashfile FILE SHA256; macOS and Linux: shasum -a 256 FILE).\n")
	return b.String()
}

func sha256Of(r io.Reader, size int64) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, size))
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// ctxReader stops reading once ctx ends, so a slow source cannot hold
// a cancelled Put.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
