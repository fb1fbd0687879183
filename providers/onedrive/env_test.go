package onedrive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/oauth"
	"github.com/offsite-backup/offsite/providers/onedrive/fakegraph"
)

const testChunk = 320 << 10

// env is one emulator on a loopback port, as cmd/fakecloud serves it.
type env struct {
	t     testing.TB
	cloud *fakecloud.Cloud
	graph *fakegraph.Server
	srv   *httptest.Server
	n     atomic.Int64
}

func newEnv(t testing.TB) *env {
	t.Helper()
	cloud := fakecloud.New(time.Hour)
	mux := http.NewServeMux()
	mux.Handle("/_fakecloud/", cloud.ControlHandler())
	g, err := fakegraph.New(cloud, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, cloud: cloud, graph: g, srv: srv}
}

// config is a destination in its own folder, logged in with a saved
// refresh token and no access token yet.
func (e *env) config(folder string) Config {
	e.t.Helper()
	tokenFile := filepath.Join(e.t.TempDir(), fmt.Sprintf("token-%d.json", e.n.Add(1)))
	store := oauth.Store{Path: tokenFile, Dest: "od"}
	if err := store.Save(&oauth2.Token{RefreshToken: "fake-refresh", Expiry: time.Unix(1, 0)}); err != nil {
		e.t.Fatal(err)
	}
	return Config{Name: "od", Folder: folder, TokenFile: tokenFile, ClientID: "client", Endpoint: e.srv.URL, ChunkSize: testChunk}
}

func (e *env) client(folder string) *Client {
	e.t.Helper()
	return e.clientWith(e.config(folder))
}

func (e *env) clientWith(cfg Config) *Client {
	e.t.Helper()
	c, err := New(e.t.Context(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	c.policy.Initial = 10 * time.Millisecond
	return c
}

// control posts to the /_fakecloud control API.
func (e *env) control(path string, v any) {
	e.t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(e.srv.URL+"/_fakecloud/"+path, "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		e.t.Fatalf("control %s: HTTP %d", path, resp.StatusCode)
	}
}

func (e *env) fault(f fakecloud.Fault) {
	e.t.Helper()
	if f.Service == "" {
		f.Service = "onedrive"
	}
	e.control("faults", f)
}

func (e *env) stats() fakecloud.Stats {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/_fakecloud/stats")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]fakecloud.Stats
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		e.t.Fatal(err)
	}
	return m["onedrive"]
}

func (e *env) files() []fakecloud.File {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/_fakecloud/files?service=onedrive")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var fs []fakecloud.File
	if err := json.NewDecoder(resp.Body).Decode(&fs); err != nil {
		e.t.Fatal(err)
	}
	return fs
}
