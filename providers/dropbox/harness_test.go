package dropbox

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/dropbox/fakedropbox"
	"github.com/offsite-backup/offsite/providers/retry"
)

// harness is fakedropbox on a loopback port, as cmd/fakecloud serves it.
type harness struct {
	cloud *fakecloud.Cloud
	srv   *fakedropbox.Server
	url   string
	mux   *http.ServeMux
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	cloud := fakecloud.New(time.Hour)
	srv, err := fakedropbox.New(cloud, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cloud.Register(srv)
	mux := http.NewServeMux()
	srv.Register(mux)
	mux.Handle("/_fakecloud/", cloud.ControlHandler())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &harness{cloud: cloud, srv: srv, url: ts.URL, mux: mux}
}

// control posts to the control API.
func (h *harness) control(t testing.TB, method, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, h.url+path, bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
}

func (h *harness) stats(t testing.TB) fakecloud.Stats {
	t.Helper()
	resp, err := http.Get(h.url + "/_fakecloud/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]fakecloud.Stats
	json.NewDecoder(resp.Body).Decode(&out)
	return out["dropbox"]
}

// tokenFile writes a login as `offsite auth` would leave it.
func (h *harness) tokenFile(t testing.TB) string {
	t.Helper()
	access, _ := h.cloud.IssueToken("dropbox")
	return writeTokenFile(t, access)
}

func writeToken(t testing.TB) string { return writeTokenFile(t, "old-access") }

func writeTokenFile(t testing.TB, access string) string {
	t.Helper()
	tok := &oauth2.Token{AccessToken: access, RefreshToken: "fake-refresh-dropbox", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	name := filepath.Join(t.TempDir(), "dropbox-token.json")
	b, _ := json.Marshal(tok)
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

type clientOpt func(*Config)

func (h *harness) client(t testing.TB, chunk int64, opts ...clientOpt) *Client {
	t.Helper()
	cfg := Config{Name: "cloud", Folder: "Backups/Shop1", TokenFile: h.tokenFile(t), Endpoint: h.url, ChunkSize: chunk}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.policy = retry.Policy{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Attempts: 5}
	return c
}

// hit is one request the recorder saw.
type hit struct {
	at     time.Time // when the request started
	done   time.Time // when its answer arrived
	path   string
	status int
}

// recorder is a transport that logs requests.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	hits []hit
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	h := hit{at: time.Now(), path: req.URL.Path}
	resp, err := r.base.RoundTrip(req)
	h.done = time.Now()
	if resp != nil {
		h.status = resp.StatusCode
	}
	r.mu.Lock()
	r.hits = append(r.hits, h)
	r.mu.Unlock()
	return resp, err
}

func (r *recorder) log() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}
