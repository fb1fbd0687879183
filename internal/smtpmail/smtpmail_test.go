package smtpmail_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/internal/smtpmail"
	"github.com/offsite-backup/offsite/internal/smtpmail/smtptest"
)

func config(t *testing.T, s *smtptest.Server, query string) smtpmail.Config {
	t.Helper()
	c, err := smtpmail.Parse(s.URL(query))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A message with an attachment reaches both recipients in one
// transaction, over TLS, and decodes to the original bytes, name and type.
func TestSendAttachment(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    smtptest.Options
	}{
		{"starttls", smtptest.Options{}},
		{"implicit-tls", smtptest.Options{ImplicitTLS: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := smtptest.Start(t, tc.o)
			q := "from=shop@example.com&to=owner@example.com,tech@example.com"
			if tc.o.ImplicitTLS {
				q += "&encryption=ImplicitTLS"
			}
			c := config(t, s, q)
			data := bytes.Repeat([]byte("kassa\x00\xff\r\n.\r\n"), 10_000)
			name := "Kassa 1/säkerhetskopia åäö 2026.zip"
			err := c.Send(context.Background(), smtpmail.Message{
				Subject: "Backup pos/säkerhetskopia.zip",
				Text:    "Line one\nline two with ünïcode and a very long line " + strings.Repeat("x", 200),
				Attachments: []smtpmail.Attachment{
					{Name: name[strings.Index(name, "/")+1:], Body: bytes.NewReader(data)},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			mails := s.Mails()
			if len(mails) != 1 {
				t.Fatalf("%d mails, want one for both recipients", len(mails))
			}
			m := mails[0]
			if m.From != "shop@example.com" || strings.Join(m.To, ",") != "owner@example.com,tech@example.com" || !m.TLS || m.User != smtptest.User {
				t.Errorf("got %v user %q", m, m.User)
			}
			p, err := smtptest.Parse(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != "Backup pos/säkerhetskopia.zip" {
				t.Errorf("subject %q", p.Subject)
			}
			if !strings.Contains(p.Text, "ünïcode") || !strings.Contains(p.Text, strings.Repeat("x", 200)) {
				t.Errorf("text %q", p.Text)
			}
			if len(p.Attachments) != 1 {
				t.Fatalf("%d attachments", len(p.Attachments))
			}
			a := p.Attachments[0]
			if a.Name != "säkerhetskopia åäö 2026.zip" || a.Type != "application/zip" {
				t.Errorf("attachment %q of type %q", a.Name, a.Type)
			}
			if sha256.Sum256(a.Body) != sha256.Sum256(data) {
				t.Errorf("attachment decodes to %d bytes that differ from the %d sent", len(a.Body), len(data))
			}
			if !strings.Contains(string(m.Data), "filename*=utf-8''s%C3%A4kerhetskopia%20%C3%A5%C3%A4%C3%B6%202026.zip") {
				t.Errorf("file name not RFC 2231 encoded:\n%.2000s", m.Data)
			}
			for _, line := range strings.Split(string(m.Data), "\r\n") {
				if len(line) > 998 {
					t.Fatalf("a line of %d characters", len(line))
				}
			}
		})
	}
}

// The server's certificate is checked against the given roots.
func TestTrustedRoots(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{})
	c := config(t, s, "from=a@example.com&to=b@example.com")
	c.SkipTLSVerify = false
	if err := c.Send(context.Background(), smtpmail.Message{Subject: "x", Text: "y"}); err == nil {
		t.Fatal("a self-signed certificate was trusted")
	}
	c.RootCAs = s.Roots
	if err := c.Send(context.Background(), smtpmail.Message{Subject: "x", Text: "y"}); err != nil {
		t.Fatal(err)
	}
	if len(s.Mails()) != 1 {
		t.Fatal("not delivered")
	}
}

// A Commit error drops the connection before the end of the data: the
// server began the message and delivered nothing.
func TestCommitAbandons(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{})
	c := config(t, s, "from=a@example.com&to=b@example.com")
	changed := errors.New("the file changed while it was read")
	err := c.Send(context.Background(), smtpmail.Message{
		Subject:     "x",
		Attachments: []smtpmail.Attachment{{Name: "a.bak", Body: bytes.NewReader(make([]byte, 100_000))}},
		Commit:      func() error { return changed },
	})
	if !errors.Is(err, changed) {
		t.Fatalf("Send = %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Attempts() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s.Attempts() != 1 || len(s.Mails()) != 0 {
		t.Fatalf("attempts %d, delivered %d; want 1 begun and none delivered", s.Attempts(), len(s.Mails()))
	}
}

// Refusals come back as ReplyErrors with the code, enhanced code and the
// server's words; a refused login never shows the password.
func TestReplies(t *testing.T) {
	for _, tc := range []struct {
		fault    smtptest.Fault
		code     int
		enhanced string
		temp     bool
	}{
		{smtptest.Fault{Step: "RCPT", Code: 452, Enhanced: [3]int{4, 2, 2}, Text: "Mailbox temporarily full", Times: 1}, 452, "4.2.2", true},
		{smtptest.Fault{Step: "DATA", Code: 552, Enhanced: [3]int{5, 2, 2}, Text: "Mailbox full", Times: 1}, 552, "5.2.2", false},
		{smtptest.Fault{Step: "MAIL", Code: 550, Enhanced: [3]int{5, 7, 1}, Text: "Sender rejected", Times: 1}, 550, "5.7.1", false},
	} {
		s := smtptest.Start(t, smtptest.Options{})
		s.Fail(tc.fault)
		err := config(t, s, "from=a@example.com&to=b@example.com").Send(context.Background(), smtpmail.Message{Text: "x"})
		var re *smtpmail.ReplyError
		if !errors.As(err, &re) || re.Code != tc.code || re.Enhanced != tc.enhanced || re.Temporary() != tc.temp || !strings.Contains(re.Text, tc.fault.Text) {
			t.Errorf("%s %d: err %v (%+v)", tc.fault.Step, tc.code, err, re)
		}
		if len(s.Mails()) != 0 {
			t.Errorf("%d: delivered", tc.code)
		}
	}

	s := smtptest.Start(t, smtptest.Options{})
	const wrong = "Wr0ng-passw0rd-123"
	c := config(t, s, "from=a@example.com&to=b@example.com")
	c.Password = wrong
	err := c.Send(context.Background(), smtpmail.Message{Text: "x"})
	var re *smtpmail.ReplyError
	if !errors.As(err, &re) || re.Code != 535 || strings.Contains(err.Error(), wrong) {
		t.Fatalf("login refused: %v", err)
	}
}

func TestRequireStartTLS(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{NoTLS: true})
	err := config(t, s, "from=a@example.com&to=b@example.com&requirestarttls=yes").Send(context.Background(), smtpmail.Message{Text: "x"})
	if !errors.Is(err, smtpmail.ErrNoStartTLS) {
		t.Fatalf("Send = %v, want ErrNoStartTLS", err)
	}
}

// A server that accepts the connection and never answers is given up on
// after the timeout, or at once when the context ends.
func TestSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	c, err := smtpmail.Parse("smtp://" + l.Addr().String() + "/?from=a@example.com&to=b@example.com&timeout=300ms")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Send(context.Background(), smtpmail.Message{Text: "x"}); err == nil {
		t.Fatal("sent to a silent server")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up after %v, timeout 300ms", d)
	}
	c.Timeout = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = c.Send(ctx, smtpmail.Message{Text: "x"})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("Send = %v after %v", err, time.Since(start))
	}
}

func TestParse(t *testing.T) {
	c, err := smtpmail.Parse("smtp://user%40example.com:p%40ss@mail.example.com:465/?from=a+tag@example.com&to=b@example.com,%20c@example.com&fromname=Shop&auth=Login")
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "user@example.com" || c.Password != "p@ss" || c.Host != "mail.example.com" || c.Port != 465 ||
		c.From != "a+tag@example.com" || strings.Join(c.To, ",") != "b@example.com,c@example.com" || c.FromName != "Shop" || c.Auth != smtpmail.AuthLogin {
		t.Errorf("parsed %+v", c)
	}
	if s := c.String(); strings.Contains(s, "p@ss") || strings.Contains(s, "p%40ss") {
		t.Errorf("String shows the password: %s", s)
	}
	for raw, want := range map[string]string{
		"smtp://u:secretpw@h:587/?to=b@example.com":                         "no sender",
		"smtp://u:secretpw@h:587/?from=a@example.com":                       "no recipient",
		"smtp://u:secretpw@h:587/?from=a@example.com&to=not-an-addr":        "not an e-mail address",
		"smtp://u:secretpw@h:587/?from=a@example.com&to=b@x&bogus=1":        `unknown query key "bogus"`,
		"smtp://u:secretpw@h:587/?from=a@example.com&to=b@x&encryption=ssl": "encryption=ssl",
		"smtp://u:secretpw@:587/?from=a@example.com&to=b@x":                 "no mail server host",
		"http://u:secretpw@h/":                                              "not smtp",
		"smtp://u:secretpw@h:99999/?from=a@example.com&to=b@x":              "not a port",
	} {
		_, err := smtpmail.Parse(raw)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secretpw") {
			t.Errorf("Parse(%s) = %v, want %q", raw, err, want)
		}
	}
}

func TestTypeOf(t *testing.T) {
	for name, want := range map[string]string{
		"a.zip": "application/zip", "a.BAK": "application/octet-stream", "day.bak.zst.age": "application/octet-stream",
		"a.bak.zst": "application/zstd", "a.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "noext": "application/octet-stream",
	} {
		if got := smtpmail.TypeOf(name); got != want {
			t.Errorf("TypeOf(%q) = %q, want %q", name, got, want)
		}
	}
}

// A long subject, plain or encoded, is folded into lines of at most 78
// characters and decodes to itself.
func TestLongSubjectIsFolded(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{})
	c := config(t, s, "from=a@example.com&to=b@example.com")
	for _, subject := range []string{
		"Backup " + strings.Repeat("Kassa ", 60) + "end",
		"Backup " + strings.Repeat("säkerhetskopia åäö ", 30) + "end",
	} {
		if err := c.Send(context.Background(), smtpmail.Message{Subject: subject, Text: "x"}); err != nil {
			t.Fatal(err)
		}
		mails := s.Mails()
		raw := mails[len(mails)-1].Data
		hdr, _, _ := strings.Cut(string(raw), "\r\n\r\n")
		for _, line := range strings.Split(hdr, "\r\n") {
			if len(line) > 78 {
				t.Errorf("header line of %d characters: %q", len(line), line)
			}
		}
		p, err := smtptest.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if p.Subject != subject {
			t.Errorf("subject %q, want %q", p.Subject, subject)
		}
	}
}

// A server that takes longer than the timeout to accept a whole message
// is waited for (sending it again would make a second mail).
func TestSlowAcceptIsWaitedFor(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{})
	s.SlowAccept(time.Second)
	c := config(t, s, "from=a@example.com&to=b@example.com&timeout=200ms")
	if err := c.Send(context.Background(), smtpmail.Message{Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if len(s.Mails()) != 1 {
		t.Fatal("not delivered")
	}
}
