package mitm

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// setup starts upstream behind a proxy and returns a client that trusts
// only the proxy's CA and reaches every host through the proxy.
func setup(t *testing.T, upstream http.Handler, o Options) (*http.Client, string) {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	ca, err := NewCA(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(ca, up.URL, o)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	t.Cleanup(func() { front.Close(); p.Close() })

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.PEM()) {
		t.Fatal("CA PEM does not parse")
	}
	proxyURL, _ := url.Parse(front.URL)
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}, front.URL
}

func TestForwardsPathQueryAndForwardedHeaders(t *testing.T) {
	type seen struct{ uri, proto, fwdHost, host string }
	got := make(chan seen, 1)
	client, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.URL.RequestURI(), r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host"), r.Host}
		// A resumable-upload status answer must reach the client as is, not
		// be followed or rewritten.
		w.Header().Set("Range", "bytes=0-262143")
		w.Header().Set("Location", "https://www.googleapis.com/upload/drive/v3/files?upload_id=x")
		w.WriteHeader(http.StatusPermanentRedirect)
	}), Options{})

	const uri = "/drive/v3/files?q=%28name+%3D+%27a%27%29&fields=files%28id%2Cmd5Checksum%29&supportsAllDrives=true"
	resp, err := client.Get("https://www.googleapis.com" + uri)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := <-got
	if s.uri != uri {
		t.Errorf("upstream saw %q, want %q", s.uri, uri)
	}
	if s.proto != "https" || s.fwdHost != "www.googleapis.com" {
		t.Errorf("X-Forwarded-Proto/Host = %q/%q, want https/www.googleapis.com", s.proto, s.fwdHost)
	}
	if !strings.HasPrefix(s.host, "127.0.0.1:") {
		t.Errorf("upstream Host = %q, want the loopback upstream", s.host)
	}
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Range") != "bytes=0-262143" {
		t.Errorf("client got %d Range=%q, want 308 with the upstream's Range", resp.StatusCode, resp.Header.Get("Range"))
	}
}

func TestLargeBodiesBothWays(t *testing.T) {
	const size = 24 << 20
	client, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			io.CopyN(w, zeroReader{}, size)
			return
		}
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
	}), Options{})

	body := make([]byte, size)
	rand.Read(body)
	sum := sha256.Sum256(body)
	resp, err := client.Post("https://content.dropboxapi.com/2/files/upload_session/append_v2", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("%d %s", size, hex.EncodeToString(sum[:])); string(got) != want {
		t.Errorf("upstream received %q, want %q", got, want)
	}

	resp, err = client.Get("https://graph.microsoft.com/_graph/download/x")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Errorf("download = %d bytes, %v; want %d", n, err, size)
	}
}

// The proxy must not buffer whole bodies: each side below waits for the
// other to see the first part before sending the rest, so buffering
// deadlocks and the test fails by timeout.
func TestStreamsInsteadOfBuffering(t *testing.T) {
	gotFirst := make(chan struct{})
	release := make(chan struct{})
	client, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			buf := make([]byte, 4)
			if _, err := io.ReadFull(r.Body, buf); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			close(gotFirst)
			rest, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s%s", buf, rest)
			return
		}
		io.WriteString(w, "head")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "tail")
	}), Options{})

	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPut, "https://graph.microsoft.com/_graph/upload/s", pr)
	req.ContentLength = 8
	type result struct {
		body string
		err  error
	}
	put := make(chan result, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			put <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		put <- result{string(b), err}
	}()
	go pw.Write([]byte("abcd"))
	select {
	case <-gotFirst:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream did not see the first request bytes before the rest was sent: the proxy buffers uploads")
	}
	pw.Write([]byte("efgh"))
	pw.Close()
	if r := <-put; r.err != nil || r.body != "abcdefgh" {
		t.Errorf("PUT = %q, %v; want abcdefgh", r.body, r.err)
	}

	resp, err := client.Get("https://graph.microsoft.com/_graph/download/d")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 4)
	readHead := make(chan error, 1)
	go func() { _, err := io.ReadFull(resp.Body, head); readHead <- err }()
	select {
	case err := <-readHead:
		if err != nil || string(head) != "head" {
			t.Fatalf("first bytes = %q, %v", head, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("client did not see the first response bytes before the rest was written: the proxy buffers downloads")
	}
	close(release)
	if rest, _ := io.ReadAll(resp.Body); string(rest) != "tail" {
		t.Errorf("rest = %q, want tail", rest)
	}
}

func TestRefusesOtherHostsAndPlainRequests(t *testing.T) {
	var upstreamHits atomic.Int32
	client, front := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { upstreamHits.Add(1) }), Options{})
	addr := strings.TrimPrefix(front, "http://")

	for _, target := range []string{"example.com:443", "www.googleapis.com:8443", "127.0.0.1:443", "googleapis.com.evil.example:443"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatalf("CONNECT %s: %v", target, err)
		}
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("CONNECT %s = %d, want 403", target, resp.StatusCode)
		}
	}

	req, _ := http.NewRequest(http.MethodGet, front+"/drive/v3/files", nil)
	req.URL.Host = addr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("plain GET = %d, want 405", resp.StatusCode)
	}

	// A tunnel opened for one allowed host may not carry requests for another.
	req, _ = http.NewRequest(http.MethodGet, "https://www.googleapis.com/drive/v3/about", nil)
	req.Host = "graph.microsoft.com"
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("mismatched Host = %d, want 421", resp.StatusCode)
	}
	if n := upstreamHits.Load(); n != 0 {
		t.Errorf("upstream was reached %d times by refused requests", n)
	}
}

func TestNewRejectsNonLoopbackUpstream(t *testing.T) {
	ca, err := NewCA(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://192.0.2.1:80", "https://127.0.0.1:8790", "http://example.com", "127.0.0.1:8790"} {
		if p, err := New(ca, u, Options{}); err == nil {
			p.Close()
			t.Errorf("New(%q) succeeded, want an error", u)
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestStripsAuthorizationOnlyUnderListedPrefixes(t *testing.T) {
	auth := make(chan string, 2)
	client, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth <- r.Header.Get("Authorization")
	}), Options{StripAuthUnder: []string{"/_graph/upload/"}})

	for _, tc := range []struct{ path, want string }{
		{"/v1.0/me/drive", "Bearer t"},
		{"/_graph/upload/session", ""},
	} {
		req, _ := http.NewRequest(http.MethodPut, "https://graph.microsoft.com"+tc.path, strings.NewReader("x"))
		req.Header.Set("Authorization", "Bearer t")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := <-auth; got != tc.want {
			t.Errorf("%s: upstream Authorization = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// An upstream that hangs up mid-request (fakecloud's reset_after_bytes
// fault) must look like a network failure to the client, not a 502.
func TestUpstreamHangUpReachesClientAsHangUp(t *testing.T) {
	client, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.CopyN(io.Discard, r.Body, 1000)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}), Options{})
	resp, err := client.Post("https://content.dropboxapi.com/2/files/upload_session/append_v2", "application/octet-stream",
		bytes.NewReader(make([]byte, 1<<20)))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("client got %d, want a transport error", resp.StatusCode)
	}
}

func TestUnreachableUpstreamIs502(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	ca, err := NewCA(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(ca, dead, Options{})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	defer func() { front.Close(); p.Close() }()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM())
	proxyURL, _ := url.Parse(front.URL)
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://www.googleapis.com/drive/v3/about")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status = %d, want 502", resp.StatusCode)
	}
}
