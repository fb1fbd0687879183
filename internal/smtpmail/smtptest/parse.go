package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Parsed is a received message, decoded the way a mail program would.
type Parsed struct {
	Header      mail.Header
	Subject     string // decoded
	Text        string // the plain-text body, decoded
	Attachments []Part
}

// Part is one decoded attachment.
type Part struct {
	Name string // the file name, RFC 2231 and 2047 decoded
	Type string // the media type without parameters
	Body []byte
}

// Parse decodes a raw message.
func Parse(raw []byte) (Parsed, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Parsed{}, err
	}
	var p Parsed
	p.Header = msg.Header
	dec := new(mime.WordDecoder)
	if p.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return p, fmt.Errorf("subject: %w", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return p, fmt.Errorf("content type: %w", err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := decodeBody(msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
		p.Text = string(b)
		return p, err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			return p, nil
		}
		if err != nil {
			return p, err
		}
		body, err := decodeBody(part, part.Header.Get("Content-Transfer-Encoding"))
		if err != nil {
			return p, err
		}
		disp, dparams, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		pt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if disp != "attachment" {
			p.Text += string(body)
			continue
		}
		name, err := dec.DecodeHeader(dparams["filename"])
		if err != nil {
			return p, err
		}
		p.Attachments = append(p.Attachments, Part{Name: name, Type: pt, Body: body})
	}
}

func decodeBody(r io.Reader, enc string) ([]byte, error) {
	switch strings.ToLower(enc) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	return io.ReadAll(r)
}
