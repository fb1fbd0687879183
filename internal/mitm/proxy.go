package mitm

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// CloudHosts are the service host names the offsite adapters and common
// third-party clients talk to; fakecloud serves all of them by path.
var CloudHosts = []string{
	"www.googleapis.com", "oauth2.googleapis.com", "accounts.google.com",
	"api.dropboxapi.com", "content.dropboxapi.com",
	"graph.microsoft.com", "login.microsoftonline.com",
}

// Proxy is an HTTP proxy that accepts only CONNECT to an allowed host on
// port 443, terminates TLS there with a certificate from its CA, and sends
// every decrypted request to one loopback upstream with the same path and
// query, adding X-Forwarded-Proto and X-Forwarded-Host so the upstream can
// build absolute URLs under the original host. Serve it with an
// http.Server; Close ends the intercepted connections.
type Proxy struct {
	ca    *CA
	hosts map[string]bool
	log   *slog.Logger

	inner *http.Server // serves the decrypted connections
	conns *connQueue
	done  chan struct{} // closed when inner.Serve returns
}

type ctxKey struct{}

// Options tune a Proxy. The zero value intercepts CloudHosts and logs nothing.
type Options struct {
	Hosts []string     // host names to intercept; default CloudHosts
	Log   *slog.Logger // default: discard
	// StripAuthUnder lists path prefixes whose requests lose their
	// Authorization header before forwarding. It works around a client
	// that sends its bearer token to pre-authenticated upload URLs, which
	// the real service (and so the emulator) may reject with 401; every
	// stripped request is logged.
	StripAuthUnder []string
}

// New returns a proxy forwarding to upstream, which must be an http URL on
// a loopback address: nothing an intercepted client sends may leave the
// machine.
func New(ca *CA, upstream string, o Options) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("mitm: upstream %q: want http://127.0.0.1:PORT", upstream)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("mitm: upstream %q is not a loopback address", upstream)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hosts := o.Hosts
	if hosts == nil {
		hosts = CloudHosts
	}
	p := &Proxy{ca: ca, hosts: map[string]bool{}, log: log, conns: newConnQueue(), done: make(chan struct{})}
	for _, h := range hosts {
		p.hosts[h] = true
	}
	stripAuth := func(r *http.Request) bool {
		for _, prefix := range o.StripAuthUnder {
			if strings.HasPrefix(r.URL.Path, prefix) {
				return true
			}
		}
		return false
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Header.Set("X-Forwarded-Proto", "https")
			pr.Out.Header.Set("X-Forwarded-Host", pr.In.Context().Value(ctxKey{}).(string))
			if pr.Out.Header.Get("Authorization") != "" && stripAuth(pr.In) {
				pr.Out.Header.Del("Authorization")
				// The path of an upload URL is a secret; the method and host are not.
				log.Info("mitm: stripped Authorization from an upload-URL request", "host", pr.In.Host, "method", pr.In.Method)
			}
		},
		Transport: &http.Transport{
			Proxy:                 nil, // the upstream is loopback; never chain to an environment proxy
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			DisableCompression:    true, // pass encodings through untouched
			ResponseHeaderTimeout: 5 * time.Minute,
		},
		FlushInterval: -1, // stream responses (downloads) as they arrive
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// A *url.Error would carry the URL, and session URLs are secrets.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				log.Warn("mitm: upstream unreachable", "host", r.Host, "err", err)
				http.Error(w, "mitm: upstream unreachable", http.StatusBadGateway)
				return
			}
			if !errors.Is(err, context.Canceled) {
				log.Debug("mitm: upstream dropped the request", "host", r.Host, "method", r.Method, "err", err)
			}
			// The upstream hung up (an injected connection reset): hang up on
			// the client too, so it sees the network failure it would see
			// without the proxy rather than a 502 no service would send.
			panic(http.ErrAbortHandler)
		},
	}
	p.inner = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host := r.Context().Value(ctxKey{}).(string)
			if h := hostname(r.Host); h != host {
				// The tunnel was opened for one host; another Host header would
				// make the upstream build URLs under a name nobody allowed.
				http.Error(w, "mitm: Host "+h+" does not match the tunnel's host "+host, http.StatusMisdirectedRequest)
				return
			}
			rp.ServeHTTP(w, r)
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			host := ""
			if tc, ok := c.(*tls.Conn); ok {
				if tc, ok := tc.NetConn().(*tunnel); ok {
					host = tc.host
				}
			}
			return context.WithValue(ctx, ctxKey{}, host)
		},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(p.done)
		_ = p.inner.Serve(p.conns) // ends when the proxy is closed
	}()
	return p, nil
}

// ServeHTTP handles the client-facing side: CONNECT to an allowed host
// opens an intercepted tunnel; everything else is refused.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "mitm: only CONNECT to the emulated cloud hosts is proxied", http.StatusMethodNotAllowed)
		return
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil || port != "443" || !p.hosts[host] {
		p.log.Warn("mitm: refused CONNECT", "target", r.Host)
		http.Error(w, "mitm: "+r.Host+" is not an intercepted host; nothing leaves this machine", http.StatusForbidden)
		return
	}
	leaf, err := p.ca.Leaf(host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "mitm: connection cannot be hijacked", http.StatusInternalServerError)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		p.log.Warn("mitm: hijack", "err", err)
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	tc := tls.Server(&tunnel{Conn: conn, r: brw.Reader, host: host}, &tls.Config{
		Certificates: []tls.Certificate{*leaf},
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
	})
	if !p.conns.push(tc) {
		conn.Close()
	}
}

// Close ends every intercepted connection. The caller closes the
// client-facing server.
func (p *Proxy) Close() error {
	err := p.inner.Close()
	<-p.done
	return err
}

func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// tunnel is a hijacked client connection; reads go through the bufio.Reader
// the server used, which may already hold the start of the TLS handshake.
type tunnel struct {
	net.Conn
	r    *bufio.Reader
	host string
}

func (t *tunnel) Read(p []byte) (int, error) { return t.r.Read(p) }

// connQueue is a net.Listener fed by ServeHTTP with intercepted connections,
// so one http.Server handles keep-alive, TLS and shutdown for all of them.
type connQueue struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnQueue() *connQueue {
	return &connQueue{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (q *connQueue) push(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
