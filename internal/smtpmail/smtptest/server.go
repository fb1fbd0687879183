// Package smtptest runs a real SMTP server (go-smtp) on loopback for
// tests: it keeps every message it accepts, can refuse steps with chosen
// answers, and decodes what it received.
package smtptest

import (
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
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The login the server accepts.
const (
	User = "shop@example.com"
	Pass = "s3cret-Pa55word"
)

// Options shape the server.
type Options struct {
	// ImplicitTLS speaks TLS from the first byte (as on port 465);
	// otherwise the server offers STARTTLS.
	ImplicitTLS bool
	// NoTLS offers no STARTTLS at all.
	NoTLS bool
}

// Mail is one accepted message.
type Mail struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

// Fault makes the server answer one step with an error, Times times.
type Fault struct {
	Step     string // "MAIL", "RCPT" or "DATA"
	Code     int
	Enhanced [3]int
	Text     string
	Times    int
}

// Server is a running SMTP server.
type Server struct {
	Addr  string
	Roots *x509.CertPool // trusts the server's certificate

	mu        sync.Mutex
	mails     []Mail
	faults    []Fault
	attempts  int           // DATA commands seen, accepted or not
	dataDelay time.Duration // before the answer to a whole message
}

// SlowAccept makes the server wait d before it answers the end of each
// message, as servers that scan attachments do.
func (s *Server) SlowAccept(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataDelay = d
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "127.0.0.1"
	cfg, roots := selfSigned(t)
	s.Roots = roots
	if !o.NoTLS {
		srv.TLSConfig = cfg
	}
	srv.AllowInsecureAuth = o.NoTLS
	srv.MaxMessageBytes = 256 << 20
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.ImplicitTLS {
		l = tls.NewListener(l, cfg)
	}
	s.Addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// URL is the smtp:// URL of the server with the test login and query
// (from and to, at least); skiptlsverify is added, as its certificate
// is self-signed.
func (s *Server) URL(query string) string {
	u := url.URL{Scheme: "smtp", User: url.UserPassword(User, Pass), Host: s.Addr, Path: "/", RawQuery: query}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += "skiptlsverify=yes"
	return u.String()
}

// Mails returns the messages accepted so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Attempts counts the messages a client began to send.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Fail adds a fault.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

func (s *Server) fault(step string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.Step != step || f.Times == 0 {
			continue
		}
		f.Times--
		return &smtp.SMTPError{Code: f.Code, EnhancedCode: smtp.EnhancedCode(f.Enhanced), Message: f.Text}
	}
	return nil
}

type session struct {
	srv  *Server
	conn *smtp.Conn
	user string
	cur  Mail
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != User || pass != Pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	if err := s.srv.fault("MAIL"); err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = Mail{From: from, TLS: isTLS, User: s.user}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.srv.fault("RCPT"); err != nil {
		return err
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	s.srv.mu.Lock()
	s.srv.attempts++
	s.srv.mu.Unlock()
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	delay := s.srv.dataDelay
	s.srv.mu.Unlock()
	time.Sleep(delay)
	if err := s.srv.fault("DATA"); err != nil {
		return err
	}
	s.cur.Data = b
	s.srv.mu.Lock()
	s.srv.mails = append(s.srv.mails, s.cur)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = Mail{} }
func (s *session) Logout() error { return nil }

func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
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
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// ErrNoAttachment is returned by Attachment when a message has none.
var ErrNoAttachment = errors.New("the message has no attachment")

// String describes a mail briefly for test failures.
func (m Mail) String() string {
	return fmt.Sprintf("mail from %s to %v (%d bytes, tls %v)", m.From, m.To, len(m.Data), m.TLS)
}
