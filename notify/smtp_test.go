package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/offsite-backup/offsite/providers"
)

// mailServer is a real SMTP server (go-smtp) on loopback that keeps what it
// receives.
type mailServer struct {
	addr string
	mu   sync.Mutex
	mail []receivedMail
}

type receivedMail struct {
	from, to string
	data     string
	tls      bool
	user     string
}

const (
	smtpUser = "shop@example.com"
	smtpPass = "s3cret-Pa55word"
)

func startMailServer(t *testing.T, implicitTLS bool) *mailServer {
	t.Helper()
	ms := &mailServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{srv: ms, conn: c}, nil
	}))
	srv.Domain = "127.0.0.1"
	srv.TLSConfig = selfSigned(t)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicitTLS {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	ms.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ms
}

func (ms *mailServer) received() []receivedMail {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]receivedMail(nil), ms.mail...)
}

type mailSession struct {
	srv  *mailServer
	conn *smtp.Conn
	user string
	cur  receivedMail
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != smtpUser || pass != smtpPass {
			return errors.New("bad login")
		}
		s.user = user
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = receivedMail{from: from, tls: isTLS, user: s.user}
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = to
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.srv.mu.Lock()
	s.srv.mail = append(s.srv.mail, s.cur)
	s.srv.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// The failure mail goes through smtpmail to a real SMTP server, once per
// recipient, over TLS, with the alert's subject and plain-language text.
func TestFailureMailReachesSMTPServer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		implicit bool
		enc      string
	}{
		{"starttls", false, "ExplicitTLS"},
		{"implicit-tls", true, "ImplicitTLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := startMailServer(t, tc.implicit)
			host, port, _ := net.SplitHostPort(ms.addr)
			// skiptlsverify: the test server's certificate is self-signed.
			rawURL := fmt.Sprintf("smtp://%s:%s@%s:%s/?from=offsite@shop.example&to=owner@shop.example,tech@it.example&encryption=%s&skiptlsverify=yes",
				"shop%40example.com", smtpPass, host, port, tc.enc)
			chs, err := ParseChannels([]string{rawURL}, [][]Kind{{KindFailure}})
			if err != nil {
				t.Fatal(err)
			}
			box := NewMemoryOutbox()
			n := New(chs, box, nil, WithBackoff(10*time.Millisecond, 50*time.Millisecond), WithPollInterval(10*time.Millisecond))
			ev := DestinationFailed("cloud", Service{Type: "dropbox", Name: "Dropbox"}, providers.ReasonAuth, "", errors.New("invalid_grant"))
			if err := n.Notify(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			runUntil(t, n, func() bool { return len(ms.received()) == 2 && len(box.Pending()) == 0 })

			got := ms.received()
			tos := []string{got[0].to, got[1].to}
			if strings.Join(tos, " ") != "owner@shop.example tech@it.example" {
				t.Errorf("recipients = %v", tos)
			}
			for _, m := range got {
				if m.from != "offsite@shop.example" || !m.tls || m.user != smtpUser {
					t.Errorf("mail from=%q tls=%v user=%q", m.from, m.tls, m.user)
				}
				hdr, body, _ := strings.Cut(m.data, "\r\n\r\n")
				for _, want := range []string{
					"Subject: offsite: Dropbox refused the login for 'cloud'",
					"From: <offsite@shop.example>",
					"To: " + m.to,
				} {
					if !strings.Contains(hdr, want) {
						t.Errorf("headers lack %q:\n%s", want, hdr)
					}
				}
				if !strings.Contains(body, "run `offsite auth cloud`") || !strings.Contains(body, "nothing is lost") {
					t.Errorf("body:\n%s", body)
				}
			}
		})
	}
}

// A mail server that refuses the login leaves the message queued with an
// error that does not contain the password.
func TestSMTPFailureIsRetriedWithoutLeakingPassword(t *testing.T) {
	ms := startMailServer(t, false)
	host, port, _ := net.SplitHostPort(ms.addr)
	const wrong = "Wr0ng-passw0rd-123"
	rawURL := fmt.Sprintf("smtp://someone:%s@%s:%s/?from=a@x.example&to=b@x.example&skiptlsverify=yes", wrong, host, port)
	chs, err := ParseChannels([]string{rawURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	box := NewMemoryOutbox()
	n := New(chs, box, nil, WithBackoff(time.Hour, time.Hour), WithPollInterval(10*time.Millisecond))
	if err := n.Notify(context.Background(), FolderMissing("pos", `D:\Backup`)); err != nil {
		t.Fatal(err)
	}
	runUntil(t, n, func() bool { p := box.Pending(); return len(p) == 1 && p[0].Attempts == 1 })
	p := box.Pending()[0]
	if p.LastErr == "" || strings.Contains(p.LastErr, wrong) {
		t.Errorf("last error %q: empty or leaks the password", p.LastErr)
	}
	if len(ms.received()) != 0 {
		t.Error("mail delivered despite a refused login")
	}
}
