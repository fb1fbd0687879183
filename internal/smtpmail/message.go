package smtpmail

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"path"
	"strings"
	"time"
)

// write streams m as a MIME message: a plain-text body, and each
// attachment base64-encoded with its type and RFC 2231 file name.
func (c Config) write(dst io.Writer, to []string, m Message) error {
	w := newBuffered(dst)
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}

	var h strings.Builder
	header := func(k, v string) { h.WriteString(fold(k+": "+v) + "\r\n") }
	header("From", (&mail.Address{Name: c.FromName, Address: c.From}).String())
	header("To", strings.Join(to, ", ")) // plain addresses, checked by Parse and RCPT
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", messageID(c.From))
	header("MIME-Version", "1.0")
	const textType = "text/plain; charset=utf-8"
	enc := textEncoding(m.Text)
	if len(m.Attachments) == 0 {
		header("Content-Type", textType)
		header("Content-Transfer-Encoding", enc)
		h.WriteString("\r\n")
		if _, err := io.WriteString(w, h.String()); err != nil {
			return err
		}
		if err := writeText(w, m.Text, enc); err != nil {
			return err
		}
		return w.Flush()
	}
	mw := multipart.NewWriter(w)
	header("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	h.WriteString("\r\n")
	if _, err := io.WriteString(w, h.String()); err != nil {
		return err
	}
	part, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {textType},
		"Content-Transfer-Encoding": {enc},
	})
	if err != nil {
		return err
	}
	if err := writeText(part, m.Text, enc); err != nil {
		return err
	}
	for _, a := range m.Attachments {
		if err := writeAttachment(mw, a); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	return w.Flush()
}

// textEncoding is 7bit for ASCII text with lines SMTP carries as they
// are, so the text stays readable in the raw message; quoted-printable
// otherwise.
func textEncoding(text string) string {
	for _, line := range strings.Split(text, "\n") {
		if len(line) > 900 {
			return "quoted-printable"
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; c >= 0x80 || c < ' ' && c != '\t' && c != '\r' {
				return "quoted-printable"
			}
		}
	}
	return "7bit"
}

// fold breaks a header line longer than 78 characters at spaces, as RFC
// 5322 folds (CRLF then the space). Encoded words hold no spaces, so a
// long subject folds between them.
func fold(line string) string {
	const limit = 78
	var b strings.Builder
	for len(line) > limit {
		i := strings.LastIndexByte(line[:limit], ' ')
		if i <= 0 {
			i = strings.IndexByte(line[limit:], ' ')
			if i < 0 {
				break
			}
			i += limit
		}
		b.WriteString(line[:i] + "\r\n")
		line = line[i:] // keeps the space, which marks the continuation
	}
	b.WriteString(line)
	return b.String()
}

func writeText(w io.Writer, text, enc string) error {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
	if enc == "7bit" {
		_, err := io.WriteString(w, text)
		return err
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, text); err != nil {
		return err
	}
	return qp.Close()
}

func writeAttachment(mw *multipart.Writer, a Attachment) error {
	typ := a.Type
	if typ == "" {
		typ = TypeOf(a.Name)
	}
	ct := mime.FormatMediaType(typ, map[string]string{"name": a.Name})
	if ct == "" {
		ct = mime.FormatMediaType("application/octet-stream", map[string]string{"name": a.Name})
	}
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})
	if ct == "" || cd == "" {
		return fmt.Errorf("attachment name %q cannot be written in a mail header", a.Name)
	}
	part, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {ct},
		"Content-Disposition":       {cd},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return err
	}
	enc := base64.NewEncoder(base64.StdEncoding, &lineBreaker{w: part})
	if _, err := io.Copy(enc, a.Body); err != nil {
		return fmt.Errorf("attach %s: %w", a.Name, err)
	}
	return enc.Close()
}

// lineBreaker ends a line every 76 characters, as MIME asks of base64.
type lineBreaker struct {
	w   io.Writer
	col int
}

const lineLen = 76

func (l *lineBreaker) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		room := lineLen - l.col
		chunk := p[:min(room, len(p))]
		k, err := l.w.Write(chunk)
		n += k
		l.col += k
		if err != nil {
			return n, err
		}
		p = p[len(chunk):]
		if l.col == lineLen {
			if _, err := io.WriteString(l.w, "\r\n"); err != nil {
				return n, err
			}
			l.col = 0
		}
	}
	return n, nil
}

// types are the MIME types of common backup files, so a phone's mail
// app knows what it holds; others come from the system's table.
var types = map[string]string{
	".zip":    "application/zip",
	".7z":     "application/x-7z-compressed",
	".gz":     "application/gzip",
	".zst":    "application/zstd",
	".age":    "application/octet-stream",
	".bak":    "application/octet-stream",
	".xlsx":   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".xls":    "application/vnd.ms-excel",
	".csv":    "text/csv",
	".txt":    "text/plain",
	".pdf":    "application/pdf",
	".sqlite": "application/vnd.sqlite3",
	".db":     "application/vnd.sqlite3",
}

// TypeOf is the MIME type of a file name by its extension,
// application/octet-stream when unknown.
func TypeOf(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := types[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			return mt
		}
	}
	return "application/octet-stream"
}
