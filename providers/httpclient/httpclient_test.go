package httpclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

const short = 300 * time.Millisecond

// silent accepts connections and never answers or reads.
func silent(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// wantStalled checks err is the shared Temporary stall error, saying what.
func wantStalled(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, providers.ErrStalled) || providers.KindOf(err) != providers.Temporary {
		t.Fatalf("err = %v (kind %v), want a Temporary stall error", err, providers.KindOf(err))
	}
	if !strings.Contains(err.Error(), what) {
		t.Fatalf("err = %q, want it to say %q", err, what)
	}
}

func TestNoAnswerGivesUp(t *testing.T) {
	hc := Client(nil, Options{Timeout: short})
	start := time.Now()
	resp, err := hc.Get(silent(t) + "/x")
	if err == nil {
		resp.Body.Close()
		t.Fatal("a listener that never answers gave an answer")
	}
	wantStalled(t, err, "no answer for 300ms")
	if d := time.Since(start); d > 3*short {
		t.Fatalf("gave up after %v, want about %v", d, short)
	}
}

// endless is a request body of any length, made up as it is read.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

func TestUploadIntoSilenceGivesUp(t *testing.T) {
	hc := Client(nil, Options{Timeout: short})
	req, _ := http.NewRequest(http.MethodPut, silent(t)+"/upload", io.LimitReader(endless{}, 1<<40))
	start := time.Now()
	_, err := hc.Do(req)
	wantStalled(t, err, "no data moved for 300ms")
	if d := time.Since(start); d > 10*short {
		t.Fatalf("gave up after %v, want about %v once the socket buffers filled", d, short)
	}
}

func TestAnswerThatStopsGivesUp(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("the first bytes"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	hc := Client(nil, Options{Timeout: short})
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	b, err := io.ReadAll(resp.Body)
	wantStalled(t, err, "no data moved for 300ms")
	if string(b) != "the first bytes" || time.Since(start) > 3*short {
		t.Fatalf("read %q in %v", b, time.Since(start))
	}
}

// slowSource is a request body whose every read takes a while, as a
// throttled or busy disk would.
type slowSource struct {
	r     io.Reader
	delay time.Duration
}

func (s slowSource) Read(p []byte) (int, error) {
	time.Sleep(s.delay)
	return s.r.Read(p[:min(len(p), 4)])
}

func TestSlowSourceAndSlowTrickleAreNotStalls(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/octet-stream")
		for _, c := range got { // one byte at a time, each within the timeout
			w.Write([]byte{c})
			w.(http.Flusher).Flush()
			time.Sleep(short / 3)
		}
	}))
	defer srv.Close()
	hc := Client(nil, Options{Timeout: short})
	// Each read of the source takes longer than the timeout: our own
	// side being slow is not the network stalling.
	body := slowSource{r: strings.NewReader("abcdefgh"), delay: 2 * short}
	resp, err := hc.Post(srv.URL, "application/octet-stream", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body) // 8 bytes over ~0.8s, longer than the timeout in all
	if err != nil || string(b) != "abcdefgh" {
		t.Fatalf("got %q, %v", b, err)
	}
}

func TestCallerCancelStaysCanceled(t *testing.T) {
	hc := Client(nil, Options{Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), short)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, silent(t), nil)
	_, err := hc.Do(req)
	if errors.Is(err, providers.ErrStalled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(short, cancel)
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, silent(t), nil)
	if _, err := hc.Do(req); providers.KindOf(err) != providers.Canceled {
		t.Fatalf("err = %v (kind %v), want Canceled", err, providers.KindOf(err))
	}
}

func TestAnswersAreReadThroughALimit(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 3<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/error" {
			w.WriteHeader(http.StatusBadRequest)
		}
		w.Write(big)
	}))
	defer srv.Close()
	hc := Client(nil, Options{Timeout: time.Minute, MaxAnswer: 2 << 20})
	read := func(ctx context.Context, path string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return len(b), err
	}
	for _, c := range []struct {
		name  string
		ctx   context.Context
		path  string
		limit int
	}{
		{"error body", context.Background(), "/error", DefaultMaxErrorBody},
		{"error body of a download", Streaming(context.Background()), "/error", DefaultMaxErrorBody},
		{"answer", context.Background(), "/", 2 << 20},
	} {
		n, err := read(c.ctx, c.path)
		if n != c.limit || providers.KindOf(err) != providers.Temporary || !strings.Contains(fmtErr(err), "larger than") {
			t.Errorf("%s: read %d bytes, %v; want %d and a size-limit error", c.name, n, err, c.limit)
		}
	}
	if n, err := read(Streaming(context.Background()), "/"); n != len(big) || err != nil {
		t.Errorf("download: read %d bytes, %v; want all %d", n, err, len(big))
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The default base keeps what the adapters had before: the proxy from
// HTTPS_PROXY and the system CA pool, now with connect timeouts.
func TestDefaultBaseKeepsProxyAndCAPool(t *testing.T) {
	b := baseTransport(Options{Timeout: 5 * time.Second}.withDefaults())
	if b.Proxy == nil {
		t.Error("no proxy function: HTTPS_PROXY would be ignored")
	}
	if b.TLSClientConfig != nil && b.TLSClientConfig.RootCAs != nil {
		t.Error("a CA pool of its own: the system pool (SSL_CERT_FILE) would be ignored")
	}
	if b.TLSHandshakeTimeout != 5*time.Second || b.ResponseHeaderTimeout == 0 || b.DialContext == nil {
		t.Errorf("timeouts: TLS %v, headers %v", b.TLSHandshakeTimeout, b.ResponseHeaderTimeout)
	}
}
