package smtpmail

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Message is one mail.
type Message struct {
	To          []string // the recipients; Config.To when empty
	Subject     string   // Config.Subject when empty
	Text        string   // the plain-text body
	Date        time.Time
	Attachments []Attachment
	// Commit, when set, is called once the whole message has been written
	// and before the server is asked to accept it. An error abandons the
	// message: the connection is dropped before the end of the data, so
	// nothing is delivered, and Send returns that error.
	Commit func() error
}

// Attachment is one attached file.
type Attachment struct {
	Name string    // the file name the recipient sees; any characters
	Type string    // the MIME type; TypeOf(Name) when empty
	Body io.Reader // streamed, never held in memory
}

// ReplyError is an answer of the server that refused a step.
type ReplyError struct {
	Command  string // the step: "AUTH", "MAIL FROM", "RCPT TO", "DATA", "end of data", ...
	Code     int    // 452, 535, 552, ...
	Enhanced string // the enhanced status code ("5.2.2") when the server gave one
	Text     string // the server's words
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("the mail server refused %s: %d %s", e.Command, e.Code, e.Text)
}

// Temporary reports a 4xx answer: the same message may succeed later.
func (e *ReplyError) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// ErrNoStartTLS is matched by the error of a send to a server that does
// not offer STARTTLS when it is required.
var ErrNoStartTLS = errors.New("the mail server does not offer STARTTLS")

// ErrCleartextLogin is matched when a password would have been sent
// unencrypted; it is never sent.
var ErrCleartextLogin = errors.New("the connection is not encrypted, so the password was not sent")

// Send delivers m in one transaction to all its recipients. It returns
// nil only once the server has accepted the message. ctx cancels it at
// any step; Config.Timeout bounds each wait for the server.
func (c Config) Send(ctx context.Context, m Message) (err error) {
	defer func() { err = scrub(err, c.Password) }()
	to := m.To
	if len(to) == 0 {
		to = c.To
	}
	if len(to) == 0 {
		return errors.New("the message has no recipient")
	}
	if m.Subject == "" {
		m.Subject = c.Subject
	}
	d := net.Dialer{Timeout: c.timeout()}
	raw, err := d.DialContext(ctx, "tcp", c.Addr())
	if err != nil {
		return fmt.Errorf("connect to the mail server %s: %w", c.Addr(), err)
	}
	// Dropping the connection is also how a message is abandoned: the
	// server discards data that never saw its end.
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()
	fail := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("send mail via %s: %w", c.Addr(), ctx.Err())
		}
		return err
	}

	idle := newIdleConn(raw, c.timeout())
	var conn net.Conn = idle
	if c.implicitTLS() {
		tc := tls.Client(conn, c.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(fmt.Errorf("TLS with the mail server %s: %w", c.Addr(), err))
		}
		conn = tc
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		return fail(reply("the connection", err))
	}
	if err := cl.Hello(c.helloName()); err != nil {
		return fail(reply("EHLO", err))
	}
	if !c.implicitTLS() && c.Encryption != None {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(c.tlsConfig()); err != nil {
				return fail(reply("STARTTLS", err))
			}
		} else if c.Encryption == StartTLS || c.RequireStartTLS {
			return fmt.Errorf("%s: %w", c.Addr(), ErrNoStartTLS)
		}
	}
	if err := c.login(cl); err != nil {
		return fail(err)
	}
	if err := cl.Mail(c.From); err != nil {
		return fail(reply("MAIL FROM", err))
	}
	for _, r := range to {
		if err := cl.Rcpt(r); err != nil {
			return fail(reply("RCPT TO "+r, err))
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fail(reply("DATA", err))
	}
	if err := c.write(w, to, m); err != nil {
		return fail(err)
	}
	if m.Commit != nil {
		if err := m.Commit(); err != nil {
			return err
		}
	}
	// Servers scan a large message before they answer its end; giving
	// up early would send it again. RFC 5321 gives them 10 minutes.
	idle.setTimeout(max(c.timeout(), finalReplyTimeout))
	if err := w.Close(); err != nil {
		return fail(reply("the message", err))
	}
	// Accepted. A QUIT that fails changes nothing about that.
	_ = cl.Quit()
	return nil
}

// helloName is the name given in EHLO: clienthost, where "auto" is this
// computer's name.
func (c Config) helloName() string {
	switch c.ClientHost {
	case "":
		return "localhost"
	case "auto":
		if h, err := os.Hostname(); err == nil && h != "" {
			return h
		}
		return "localhost"
	}
	return c.ClientHost
}

func (c Config) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         c.Host,
		RootCAs:            c.RootCAs,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: c.SkipTLSVerify, //nolint:gosec // only when the URL asks for it
	}
}

// login authenticates with the configured or the best offered mechanism.
func (c Config) login(cl *smtp.Client) error {
	if c.Auth == AuthNone || c.Auth == AuthAuto && c.Username == "" {
		return nil
	}
	mech := c.Auth
	if mech == AuthAuto {
		ok, offered := cl.Extension("AUTH")
		if !ok {
			return fmt.Errorf("the mail server %s offers no login (AUTH) on this connection: check the port and encryption, or remove the user from the URL", c.Addr())
		}
		names := strings.Fields(strings.ToUpper(offered))
		switch {
		case slices.Contains(names, "PLAIN"):
			mech = AuthPlain
		case slices.Contains(names, "LOGIN"):
			mech = AuthLogin
		case slices.Contains(names, "CRAM-MD5"):
			mech = AuthCRAMMD5
		default:
			return fmt.Errorf("the mail server %s offers no login offsite knows (it offers %s)", c.Addr(), offered)
		}
	}
	var a smtp.Auth
	switch mech {
	case AuthPlain:
		a = smtp.PlainAuth("", c.Username, c.Password, c.Host)
	case AuthLogin:
		a = &loginAuth{user: c.Username, pass: c.Password, host: c.Host}
	default:
		a = smtp.CRAMMD5Auth(c.Username, c.Password)
	}
	if err := cl.Auth(a); err != nil {
		var te *textproto.Error
		if !errors.As(err, &te) && strings.Contains(err.Error(), "unencrypted") {
			return fmt.Errorf("%s: %w", c.Addr(), ErrCleartextLogin)
		}
		return reply("the login of "+c.Username, err)
	}
	return nil
}

// loginAuth is the LOGIN mechanism many providers (Outlook among them)
// still prefer; like net/smtp's PLAIN it never sends the password in the
// clear to another host.
type loginAuth struct{ user, pass, host string }

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLocalhost(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch p := strings.ToLower(strings.TrimSpace(string(fromServer))); {
	case strings.HasPrefix(p, "user"):
		return []byte(a.user), nil
	case strings.HasPrefix(p, "pass"):
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN challenge %q", fromServer)
}

func isLocalhost(name string) bool {
	return name == "localhost" || name == "127.0.0.1" || name == "::1"
}

var enhancedCode = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}\b`)

// reply turns the server's refusal into a ReplyError; other errors (a
// dropped connection) are wrapped with the step.
func reply(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		text := strings.Join(strings.Fields(te.Msg), " ")
		return &ReplyError{Command: step, Code: te.Code, Enhanced: enhancedCode.FindString(text), Text: text}
	}
	return fmt.Errorf("mail server, at %s: %w", step, err)
}

// idleConn gives up a read or write that waits longer than timeout, so
// a server that stops answering cannot hold a send forever, while a long
// message that keeps moving is never cut off.
type idleConn struct {
	net.Conn
	timeout atomic.Int64 // nanoseconds
}

// finalReplyTimeout is how long the server may take to accept a whole
// message (RFC 5321, 4.5.3.2.6).
const finalReplyTimeout = 10 * time.Minute

func newIdleConn(c net.Conn, timeout time.Duration) *idleConn {
	ic := &idleConn{Conn: c}
	ic.setTimeout(timeout)
	return ic
}

func (c *idleConn) setTimeout(d time.Duration) { c.timeout.Store(int64(d)) }

func (c *idleConn) deadline() time.Time {
	return time.Now().Add(time.Duration(c.timeout.Load()))
}

func (c *idleConn) Read(b []byte) (int, error) {
	_ = c.SetReadDeadline(c.deadline())
	return c.Conn.Read(b)
}

func (c *idleConn) Write(b []byte) (int, error) {
	_ = c.SetWriteDeadline(c.deadline())
	return c.Conn.Write(b)
}

// scrub keeps the password out of err's text, whatever put it there.
func scrub(err error, password string) error {
	if err == nil || len(password) < 3 || !strings.Contains(err.Error(), password) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), password, "***"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

func messageID(from string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	domain := "offsite.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" {
		domain = d
	}
	return "<" + hex.EncodeToString(b[:]) + "@" + domain + ">"
}

// bufferSize is what is gathered before a write to the server.
const bufferSize = 32 << 10

func newBuffered(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, bufferSize) }
