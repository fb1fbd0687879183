package email_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/internal/smtpmail/smtptest"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/email"
	"github.com/offsite-backup/offsite/providers/providertest"
)

const query = "from=shop@example.com&to=owner@example.com"

func newClient(t *testing.T, s *smtptest.Server, q string, maxSize int64) *email.Client {
	t.Helper()
	c, err := email.New(email.Config{Name: "mailbox", URL: s.URL(q), MaxSize: maxSize, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// arrived returns the attachments of the mails sent for remote path name.
func arrived(t *testing.T, s *smtptest.Server, name string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, m := range s.Mails() {
		p, err := smtptest.Parse(m.Data)
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		if !strings.HasPrefix(p.Subject, "Backup "+providers.EscapeName(name)+" ") {
			continue
		}
		if len(p.Attachments) != 1 || p.Attachments[0].Name != email.AttachmentName(name) {
			t.Fatalf("mail %q has attachments %+v", p.Subject, p.Attachments)
		}
		out = append(out, p.Attachments[0].Body)
	}
	return out
}

func TestConformance(t *testing.T) {
	var s *smtptest.Server
	providertest.Run(t, providertest.Options{
		New: func(t *testing.T) providers.Provider {
			s = smtptest.Start(t, smtptest.Options{})
			return newClient(t, s, query, 0)
		},
		Arrived: func(t *testing.T, name string) [][]byte { return arrived(t, s, name) },
	})
}

// One mail per file to both recipients: the subject names the file and
// its date, the text its size, SHA-256 and how to restore it, and the
// attachment decodes to the original bytes; Put returns the hash of what
// was sent.
func TestPutSendsOneMail(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{ImplicitTLS: true})
	c := newClient(t, s, "from=shop@example.com&to=owner@example.com,bookkeeper@example.com&encryption=ImplicitTLS", 0)
	data := providertest.Data(1, 3<<20)
	sum := sha256.Sum256(data)
	want := providertest.HashOf(t, c, data)
	mt := time.Date(2026, 11, 23, 18, 5, 0, 0, time.UTC)
	rf, err := c.Put(context.Background(), "pos/Kassa åäö.bak.zst.age", bytes.NewReader(data), int64(len(data)), providers.PutOptions{ModTime: mt, Hash: want})
	if err != nil {
		t.Fatal(err)
	}
	if rf.Hash != want || rf.Size != int64(len(data)) || rf.Path != "pos/Kassa åäö.bak.zst.age" {
		t.Errorf("Put = %+v", rf)
	}
	mails := s.Mails()
	if len(mails) != 1 || strings.Join(mails[0].To, ",") != "owner@example.com,bookkeeper@example.com" || !mails[0].TLS {
		t.Fatalf("mails %v", mails)
	}
	p, err := smtptest.Parse(mails[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "Backup pos/Kassa åäö.bak.zst.age 2026-11-23 18:05" {
		t.Errorf("subject %q", p.Subject)
	}
	for _, w := range []string{"3 MiB (3145728 bytes)", want, `save the attachment "Kassa åäö.bak.zst.age"`, `age -d -i key.txt "Kassa åäö.bak.zst.age" | zstd -d -o "Kassa åäö.bak"`} {
		if !strings.Contains(p.Text, w) {
			t.Errorf("text lacks %q:\n%s", w, p.Text)
		}
	}
	a := p.Attachments[0]
	if a.Name != "Kassa åäö.bak.zst.age" || a.Type != "application/octet-stream" || sha256.Sum256(a.Body) != sum {
		t.Errorf("attachment %q %q, %d bytes, sha256 matches %v", a.Name, a.Type, len(a.Body), sha256.Sum256(a.Body) == sum)
	}
}

// A file over max_size is refused Permanent before anything is sent,
// with the file, the limit and the fix in the error.
func TestOversizedIsRefused(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{})
	c := newClient(t, s, query, 1000)
	data := providertest.Data(2, 1001)
	_, err := c.Put(context.Background(), "pos/big.bak", bytes.NewReader(data), 1001, providers.PutOptions{})
	if providers.KindOf(err) != providers.Permanent || !strings.Contains(err.Error(), "big.bak is 1001 B, larger than the 1000 B") ||
		!strings.Contains(providers.HintOf(err), "compress") || !strings.Contains(providers.HintOf(err), "cloud") {
		t.Fatalf("Put = %v (hint %q)", err, providers.HintOf(err))
	}
	if s.Attempts() != 0 {
		t.Fatalf("%d mails begun", s.Attempts())
	}
}

// A file that changes between the hash and the send is never delivered.
func TestChangedWhileSentIsAbandoned(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{})
	c := newClient(t, s, query, 0)
	data := providertest.Data(3, 50_000)
	r := &changing{data: data}
	_, err := c.Put(context.Background(), "pos/a.bak", r, int64(len(data)), providers.PutOptions{})
	if providers.ReasonOf(err) != providers.ReasonChecksum || providers.KindOf(err) != providers.Temporary {
		t.Fatalf("Put = %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if len(s.Mails()) != 0 {
		t.Fatal("a torn file was delivered")
	}
}

// changing returns other bytes from the second pass on.
type changing struct {
	data   []byte
	pos    int
	passes int
}

func (c *changing) Read(p []byte) (int, error) {
	if c.pos >= len(c.data) {
		return 0, io.EOF
	}
	n := copy(p, c.data[c.pos:])
	if c.passes > 0 {
		for i := range p[:n] {
			p[i] ^= 0xff
		}
	}
	c.pos += n
	return n, nil
}

func (c *changing) Seek(off int64, whence int) (int64, error) {
	c.pos = int(off)
	c.passes++
	return off, nil
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		fault  smtptest.Fault
		kind   providers.Kind
		reason providers.Reason
	}{
		{smtptest.Fault{Step: "RCPT", Code: 452, Enhanced: [3]int{4, 2, 2}, Text: "Mailbox temporarily full", Times: 1}, providers.Temporary, ""},
		{smtptest.Fault{Step: "DATA", Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Try again later", Times: 1}, providers.Temporary, ""},
		{smtptest.Fault{Step: "DATA", Code: 552, Enhanced: [3]int{5, 2, 2}, Text: "Mailbox full", Times: 1}, providers.Fatal, providers.ReasonQuota},
		{smtptest.Fault{Step: "RCPT", Code: 552, Enhanced: [3]int{5, 2, 2}, Text: "Quota exceeded", Times: 1}, providers.Fatal, providers.ReasonQuota},
		{smtptest.Fault{Step: "DATA", Code: 552, Enhanced: [3]int{5, 3, 4}, Text: "Message size exceeds fixed limit", Times: 1}, providers.Permanent, ""},
		{smtptest.Fault{Step: "RCPT", Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "No such user", Times: 1}, providers.Permanent, ""},
		{smtptest.Fault{Step: "MAIL", Code: 554, Enhanced: [3]int{5, 7, 1}, Text: "Spam", Times: 1}, providers.Permanent, ""},
	} {
		s := smtptest.Start(t, smtptest.Options{})
		s.Fail(tc.fault)
		c := newClient(t, s, query, 0)
		_, err := c.Put(context.Background(), "pos/a.bak", bytes.NewReader([]byte("x")), 1, providers.PutOptions{})
		if providers.KindOf(err) != tc.kind || providers.ReasonOf(err) != tc.reason || !strings.Contains(err.Error(), tc.fault.Text) {
			t.Errorf("%d %v: %v (kind %v reason %q)", tc.fault.Code, tc.fault.Enhanced, err, providers.KindOf(err), providers.ReasonOf(err))
		}
	}
	// A wrong password pauses the destination, and the error does not show it.
	s := smtptest.Start(t, smtptest.Options{})
	c, err := email.New(email.Config{Name: "mailbox", URL: strings.Replace(s.URL(query), smtptest.Pass, "Wr0ng-passw0rd-123", 1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Put(context.Background(), "pos/a.bak", bytes.NewReader([]byte("x")), 1, providers.PutOptions{})
	if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonAuth || strings.Contains(err.Error(), "Wr0ng") {
		t.Errorf("wrong password: %v", err)
	}
	// Nobody listening: Temporary.
	c, err = email.New(email.Config{Name: "mailbox", URL: "smtp://127.0.0.1:1/?" + query})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(context.Background(), "pos/a.bak", bytes.NewReader([]byte("x")), 1, providers.PutOptions{}); providers.KindOf(err) != providers.Temporary || !strings.Contains(providers.HintOf(err), "host and port") {
		t.Errorf("connection refused: %v", err)
	}
}

func TestSendTest(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{})
	c := newClient(t, s, query, 0)
	if err := c.SendTest(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := s.Mails()
	if len(m) != 1 {
		t.Fatalf("%d mails", len(m))
	}
	p, _ := smtptest.Parse(m[0].Data)
	if p.Subject != "offsite test mail for mailbox" || len(p.Attachments) != 0 || !strings.Contains(p.Text, "18 MiB") {
		t.Errorf("test mail %q: %q", p.Subject, p.Text)
	}
}

func TestBadURL(t *testing.T) {
	_, err := email.New(email.Config{Name: "mailbox", URL: "smtp://u:topsecret@host:587/?from=a@example.com"})
	if err == nil || providers.KindOf(err) != providers.Fatal || strings.Contains(err.Error(), "topsecret") || !strings.Contains(err.Error(), "no recipient") {
		t.Fatalf("New = %v", err)
	}
}
