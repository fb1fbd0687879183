// Package httpclient builds the one HTTP transport every cloud adapter and
// its token refreshes go through, so that no call can hang for ever: connect
// and TLS timeouts, a deadline for the answer, a stall detector on request
// and response bodies, and a size limit on every answer read into memory.
package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

// Defaults; Options fields left zero take them.
const (
	// DefaultTimeout is how long a call may wait for an answer, or a body
	// may go without a byte moving, before the call is given up.
	DefaultTimeout = time.Minute
	// DefaultDialTimeout bounds opening a TCP connection.
	DefaultDialTimeout = 30 * time.Second
	// DefaultTLSTimeout bounds the TLS handshake.
	DefaultTLSTimeout = 15 * time.Second
	// DefaultMaxAnswer bounds a successful answer read into memory (JSON
	// metadata; a Dropbox listing page of 2,000 entries is about 1 MiB).
	DefaultMaxAnswer = 16 << 20
	// DefaultMaxErrorBody bounds an error answer: only its code matters.
	DefaultMaxErrorBody = 1 << 20
)

// Options tunes the transport. The zero value gives the defaults.
type Options struct {
	// Timeout is the longest wait for an answer after the request went
	// out, and the longest a request or response body may move no byte.
	Timeout time.Duration
	// DialTimeout and TLSTimeout bound connecting; each is capped by Timeout.
	DialTimeout time.Duration
	TLSTimeout  time.Duration
	// MaxAnswer and MaxErrorBody bound answers not marked Streaming.
	MaxAnswer    int64
	MaxErrorBody int64
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.TLSTimeout <= 0 {
		o.TLSTimeout = DefaultTLSTimeout
	}
	o.DialTimeout = min(o.DialTimeout, o.Timeout)
	o.TLSTimeout = min(o.TLSTimeout, o.Timeout)
	if o.MaxAnswer <= 0 {
		o.MaxAnswer = DefaultMaxAnswer
	}
	if o.MaxErrorBody <= 0 {
		o.MaxErrorBody = DefaultMaxErrorBody
	}
	return o
}

// New returns the transport for one destination: base (nil: a clone of
// http.DefaultTransport, which honours HTTPS_PROXY and the system CA pool,
// SSL_CERT_FILE included, given the connect and answer timeouts of o)
// wrapped with the stall detector and the answer size limits.
func New(base http.RoundTripper, o Options) http.RoundTripper {
	o = o.withDefaults()
	if base == nil {
		base = baseTransport(o)
	}
	return &transport{base: base, o: o}
}

// Client is an http.Client over New(base, o), for token refreshes and
// plain requests.
func Client(base http.RoundTripper, o Options) *http.Client {
	return &http.Client{Transport: New(base, o)}
}

func baseTransport(o Options) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = o.TLSTimeout
	// A backstop: the stall detector already gives up on a missing answer
	// after Timeout, with a clearer message.
	t.ResponseHeaderTimeout = o.Timeout + 5*time.Second
	return t
}

type streamingKey struct{}

// Streaming marks ctx's requests as downloads of file content: their
// successful answers are streamed to the caller, not limited in size (the
// stall detector still watches them).
func Streaming(ctx context.Context) context.Context {
	return context.WithValue(ctx, streamingKey{}, true)
}

func isStreaming(ctx context.Context) bool {
	v, _ := ctx.Value(streamingKey{}).(bool)
	return v
}

// errStall is the cause the watchdog cancels a request with.
var errStall = errors.New("stall detector fired")

type transport struct {
	base http.RoundTripper
	o    Options
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	// Until the answer's headers arrive: the request body must keep moving,
	// and once it is sent (or when there is none) the answer must come.
	send := newWatchdog(cancel)
	r := req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		r.Body = &sendBody{ReadCloser: req.Body, w: send, stall: t.o.Timeout}
		if req.GetBody != nil {
			// The transport rewinds through GetBody when a reused
			// connection fails early; the fresh body is watched too.
			r.GetBody = func() (io.ReadCloser, error) {
				rc, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				return &sendBody{ReadCloser: rc, w: send, stall: t.o.Timeout}, nil
			}
		}
		send.arm(t.o.Timeout, fmt.Sprintf("no data moved for %s", t.o.Timeout))
	} else {
		send.arm(t.o.Timeout, fmt.Sprintf("no answer for %s", t.o.Timeout))
	}
	resp, err := t.base.RoundTrip(r)
	send.finish()
	if err != nil {
		defer cancel(nil)
		return nil, t.failure(req.Context(), send, err)
	}
	limit := int64(-1)
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		limit = t.o.MaxErrorBody
	case !isStreaming(req.Context()):
		limit = t.o.MaxAnswer
	}
	resp.Body = &recvBody{
		rc: resp.Body, t: t, parent: req.Context(), cancel: cancel,
		w: newWatchdog(cancel), limit: limit,
	}
	return resp, nil
}

// failure turns an error of a request the watchdog gave up on into the
// shared Temporary stall error; a timeout of the base transport (connect,
// TLS, answer backstop) says it stalled too. The caller's own
// cancellation stays as it is.
func (t *transport) failure(parent context.Context, w *watchdog, err error) error {
	if parent.Err() != nil {
		return err
	}
	if what := w.fired(); what != "" {
		return providers.Stalled(what)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return providers.Stalled(err.Error())
	}
	return err
}

// watchdog cancels a request when its timer runs out. Arming and pausing
// follow the body's reads so that only time spent waiting on the network
// counts, never time spent by the source or the consumer.
type watchdog struct {
	cancel context.CancelCauseFunc

	mu    sync.Mutex
	timer *time.Timer
	what  string // what the running timer means, for the error
	gone  string // set when the timer fired
	done  bool
}

func newWatchdog(cancel context.CancelCauseFunc) *watchdog {
	return &watchdog{cancel: cancel}
}

func (w *watchdog) arm(d time.Duration, what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done || w.gone != "" {
		return
	}
	w.what = what
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
		return
	}
	w.timer.Reset(d)
}

func (w *watchdog) pause() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

// finish stops the watchdog for good.
func (w *watchdog) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *watchdog) fire() {
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return
	}
	w.gone = w.what
	w.mu.Unlock()
	w.cancel(errStall)
}

// fired returns what the watchdog gave up waiting for, or "".
func (w *watchdog) fired() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gone
}

// sendBody is a request body under watch: the transport must come back
// for more within the timeout of taking the last bytes.
type sendBody struct {
	io.ReadCloser
	w     *watchdog
	stall time.Duration
}

func (b *sendBody) Read(p []byte) (int, error) {
	b.w.pause()
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.w.arm(b.stall, fmt.Sprintf("no answer for %s", b.stall))
	} else {
		b.w.arm(b.stall, fmt.Sprintf("no data moved for %s", b.stall))
	}
	return n, err
}

// recvBody is an answer under watch and under a size limit (limit < 0:
// none). Each Read must get bytes within the timeout.
type recvBody struct {
	rc     io.ReadCloser
	t      *transport
	parent context.Context
	cancel context.CancelCauseFunc
	w      *watchdog
	limit  int64
	n      int64
}

func (b *recvBody) Read(p []byte) (int, error) {
	if b.limit >= 0 {
		if b.n > b.limit {
			return 0, b.tooLarge()
		}
		if int64(len(p)) > b.limit-b.n+1 {
			p = p[:b.limit-b.n+1] // one byte past the limit shows it is exceeded
		}
	}
	b.w.arm(b.t.o.Timeout, fmt.Sprintf("no data moved for %s", b.t.o.Timeout))
	n, err := b.rc.Read(p)
	b.w.pause()
	b.n += int64(n)
	if b.limit >= 0 && b.n > b.limit {
		return n - 1, b.tooLarge()
	}
	if err != nil && err != io.EOF {
		err = b.t.failure(b.parent, b.w, err)
	}
	return n, err
}

func (b *recvBody) tooLarge() error {
	return providers.Errorf(providers.Temporary, "", "",
		"the service's answer is larger than %d bytes, more than offsite reads into memory", b.limit)
}

func (b *recvBody) Close() error {
	b.w.finish()
	err := b.rc.Close()
	b.cancel(nil)
	return err
}
