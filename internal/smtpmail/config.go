// Package smtpmail sends mail over SMTP: plain-text messages with
// attachments, over STARTTLS or implicit TLS, with a login, to one or more
// recipients. Notifications and the e-mail destination both send through
// it. The password never appears in its errors or in Config's String.
package smtpmail

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Encryption is how the connection is protected.
type Encryption int

const (
	// Auto is implicit TLS on port 465 and STARTTLS (when the server
	// offers it) on any other port.
	Auto Encryption = iota
	// None sends in the clear; a password is then never sent.
	None
	// StartTLS upgrades a plain connection (port 587 or 25).
	StartTLS
	// ImplicitTLS speaks TLS from the first byte (port 465).
	ImplicitTLS
)

// Auth is the login mechanism.
type Auth int

const (
	// AuthAuto picks what the server offers (PLAIN, then LOGIN, then
	// CRAM-MD5) when a user is given, and no login without one.
	AuthAuto Auth = iota
	AuthNone
	AuthPlain
	AuthLogin
	AuthCRAMMD5
)

// DefaultTimeout is how long the server may take to answer, or to take
// the next bytes of a message, before the send is given up.
const DefaultTimeout = 30 * time.Second

// Config is where and how mail is sent.
type Config struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string // the envelope and header sender
	FromName string
	To       []string // recipients
	Subject  string   // a subject from the URL, for messages that do not set one

	Encryption Encryption
	// RequireStartTLS refuses to go on when the server does not offer
	// STARTTLS, instead of sending in the clear (without the password).
	RequireStartTLS bool
	SkipTLSVerify   bool
	// RootCAs, when set, are the certificates trusted instead of the
	// system's.
	RootCAs    *x509.CertPool
	Auth       Auth
	ClientHost string        // the name given in EHLO; default "localhost", "auto" for this computer's name
	Timeout    time.Duration // per answer or write; DefaultTimeout when 0
}

// Parse reads the notification URL form,
//
//	smtp://user:password@host:587/?from=shop@example.com&to=a@example.com,b@example.com
//
// with the optional query keys fromname, subject, encryption
// (auto|none|explicittls|starttls|implicittls), usestarttls, requirestarttls,
// skiptlsverify, auth (plain|login|crammd5|none), clienthost and timeout;
// "fromaddress" and "toaddresses" are accepted for from and to. Errors never
// repeat the URL, which holds the password.
func Parse(rawURL string) (Config, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return Config{}, errors.New("not a valid URL (write it as smtp://user:password@host:port/?from=…&to=…; a password with @, / or ? in it is written with %40, %2F, %3F)")
	}
	if !strings.EqualFold(u.Scheme, "smtp") {
		return Config{}, fmt.Errorf("scheme is %q, not smtp", u.Scheme)
	}
	c := Config{Host: u.Hostname(), Port: 25, ClientHost: "localhost"}
	if c.Host == "" {
		return Config{}, errors.New("has no mail server host (smtp://user:password@mail.example.com:587/…)")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Config{}, fmt.Errorf("port %q is not a port number", p)
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	useStartTLS := true
	for key, vals := range u.Query() {
		v := vals[len(vals)-1]
		switch strings.ToLower(key) {
		case "from", "fromaddress":
			// A "+" in a query reads as a space; addresses have no spaces.
			c.From = strings.ReplaceAll(strings.TrimSpace(v), " ", "+")
		case "fromname":
			c.FromName = v
		case "to", "toaddresses":
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					c.To = append(c.To, strings.ReplaceAll(a, " ", "+"))
				}
			}
		case "subject", "title":
			c.Subject = v
		case "encryption":
			switch strings.ToLower(v) {
			case "auto", "":
				c.Encryption = Auto
			case "none":
				c.Encryption = None
			case "explicittls", "starttls":
				c.Encryption = StartTLS
			case "implicittls", "tls":
				c.Encryption = ImplicitTLS
			default:
				return Config{}, fmt.Errorf("encryption=%s is not one of auto, none, starttls, implicittls", v)
			}
		case "usestarttls", "starttls":
			b, err := parseBool(key, v)
			if err != nil {
				return Config{}, err
			}
			useStartTLS = b
		case "requirestarttls":
			b, err := parseBool(key, v)
			if err != nil {
				return Config{}, err
			}
			c.RequireStartTLS = b
		case "skiptlsverify":
			b, err := parseBool(key, v)
			if err != nil {
				return Config{}, err
			}
			c.SkipTLSVerify = b
		case "auth":
			switch strings.ToLower(v) {
			case "", "unknown", "auto":
				c.Auth = AuthAuto
			case "none":
				c.Auth = AuthNone
			case "plain":
				c.Auth = AuthPlain
			case "login":
				c.Auth = AuthLogin
			case "crammd5", "cram-md5":
				c.Auth = AuthCRAMMD5
			default:
				return Config{}, fmt.Errorf("auth=%s is not one of plain, login, crammd5, none", v)
			}
		case "clienthost":
			c.ClientHost = v
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return Config{}, fmt.Errorf("timeout=%s is not a duration such as 30s", v)
			}
			c.Timeout = d
		case "usehtml":
			if b, err := parseBool(key, v); err != nil || b {
				return Config{}, errors.New("usehtml: offsite sends plain text only; remove it")
			}
		default:
			return Config{}, fmt.Errorf("unknown query key %q (known: from, to, fromname, subject, encryption, usestarttls, requirestarttls, skiptlsverify, auth, clienthost, timeout)", key)
		}
	}
	if !useStartTLS && c.Encryption == Auto && c.Port != 465 {
		c.Encryption = None
	}
	if c.From == "" {
		return Config{}, errors.New("has no sender: add ?from=you@example.com")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return Config{}, fmt.Errorf("from=%s is not an e-mail address", c.From)
	}
	if len(c.To) == 0 {
		return Config{}, errors.New("has no recipient: add &to=you@example.com (several separated by commas)")
	}
	for _, a := range c.To {
		if _, err := mail.ParseAddress(a); err != nil {
			return Config{}, fmt.Errorf("to=%s is not an e-mail address", a)
		}
	}
	return c, nil
}

func parseBool(key, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "true", "1", "on":
		return true, nil
	case "no", "false", "0", "off":
		return false, nil
	}
	return false, fmt.Errorf("%s=%s is not yes or no", key, v)
}

// implicitTLS reports whether the connection speaks TLS from the start.
func (c Config) implicitTLS() bool {
	return c.Encryption == ImplicitTLS || c.Encryption == Auto && c.Port == 465
}

// Addr is host:port.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// String names the server and the user, never the password.
func (c Config) String() string {
	u := &url.URL{Scheme: "smtp", Host: c.Addr(), Path: "/"}
	if c.Username != "" {
		u.User = url.User(c.Username)
	}
	return u.String()
}

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}
