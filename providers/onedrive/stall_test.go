package onedrive

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/oauth"
	"github.com/offsite-backup/offsite/providers/providertest"
	"github.com/offsite-backup/offsite/providers/retry"
)

const (
	stallTimeout = 300 * time.Millisecond
	// slow is the slack of a call that uploads chunks before it stalls.
	slow = 10 * time.Second
	// stallLimit is two tries' timeouts and some slack.
	stallLimit = 2*stallTimeout + 2*time.Second
)

// stallClient has a short timeout and two tries per call.
func stallClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	cfg.Timeout = stallTimeout
	c, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.policy = retry.Policy{Initial: 5 * time.Millisecond, Max: 10 * time.Millisecond, Attempts: 2}
	return c
}

// silentConfig is a destination on a listener that never answers; with
// fresh, the saved access token is still valid (no refresh needed).
func silentConfig(t *testing.T, fresh bool) Config {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token.json")
	tok := &oauth2.Token{RefreshToken: "refresh", Expiry: time.Unix(1, 0)}
	if fresh {
		tok.AccessToken, tok.Expiry = "access", time.Now().Add(time.Hour)
	}
	if err := (oauth.Store{Path: tokenFile, Dest: "od"}).Save(tok); err != nil {
		t.Fatal(err)
	}
	return Config{Name: "od", Folder: "Backups", TokenFile: tokenFile, ClientID: "client",
		Endpoint: providertest.SilentServer(t), ChunkSize: testChunk}
}

// A service that accepts the connection and never answers: every call
// gives up with a Temporary stall error.
func TestSilentServiceGivesUp(t *testing.T) {
	c := stallClient(t, silentConfig(t, true))
	providertest.CheckStalls(t, stallLimit, providertest.StallCalls(c, 3*testChunk)...)
}

// The refresh holds the token lock; a silent token endpoint must not hold
// it, or the call, for ever.
func TestSilentTokenEndpointGivesUp(t *testing.T) {
	c := stallClient(t, silentConfig(t, false))
	providertest.CheckStalls(t, stallLimit, providertest.Pick(providertest.StallCalls(c, 0), "Stat", "Put small")...)
}

// The emulator's hang fault, on the whole service and on each step of an
// upload or download; once cleared, uploads work again.
func TestHangFaultGivesUpThenRecovers(t *testing.T) {
	e := newEnv(t)
	c := stallClient(t, e.config("Backups"))
	providertest.Put(t, c, "stall/a.bak", []byte("before the stall"))
	calls := providertest.StallCalls(c, 3*testChunk)
	for _, step := range []struct {
		fault string
		calls []string
		slack time.Duration // for uploading what comes before the stalled step
	}{
		{`{"service":"onedrive","hang":true}`, []string{"Stat", "List", "Put small", "Put resumable", "Get"}, 0},
		{`{"service":"onedrive","path":"small.bak:/content","hang":true}`, []string{"Put small"}, 0},
		{`{"service":"onedrive","path":"/_graph/upload/","hang":true}`, []string{"Put resumable"}, slow},
		{`{"service":"onedrive","path":"/_graph/download/","hang":true}`, []string{"Get"}, 0},
		{`{"service":"onedrive","path":"/oauth2/v2.0/token","hang":true}`, nil, 0}, // a new login must refresh
	} {
		t.Run(step.fault, func(t *testing.T) {
			providertest.Fault(t, e.srv.URL, step.fault)
			defer providertest.Fault(t, e.srv.URL, "")
			if step.calls == nil {
				fresh := stallClient(t, e.config("Backups"))
				providertest.CheckStalls(t, stallLimit, providertest.Pick(providertest.StallCalls(fresh, 0), "Stat")...)
				return
			}
			providertest.CheckStalls(t, stallLimit+step.slack, providertest.Pick(calls, step.calls...)...)
		})
	}
	// The service answers again. The stall limit is 300 ms, which one call on
	// a loaded test machine can miss: as the queue would, try once more
	// before calling the adapter stuck.
	body := []byte("after the stall")
	if _, err := c.Put(t.Context(), "stall/b.bak", bytes.NewReader(body), int64(len(body)), providers.PutOptions{}); err != nil {
		t.Logf("first Put after the stall: %v; trying again", err)
		providertest.Put(t, c, "stall/b.bak", body)
	}
}

// An error answer is read through a size limit: a service sending a
// 256 MiB error body cannot make the adapter take it all into memory.
func TestHugeErrorBodyIsReadThroughALimit(t *testing.T) {
	root, sent := providertest.HugeErrorServer(t, 256<<20)
	c := func() *Client { cfg := silentConfig(t, true); cfg.Endpoint = root; return stallClient(t, cfg) }()
	if _, err := c.Stat(t.Context(), "a.bak"); err == nil {
		t.Fatal("Stat succeeded against a service answering 400")
	}
	if n := sent(); n > 32<<20 {
		t.Fatalf("the adapter took %d MiB of a 256 MiB error body, want about 1 MiB (and the socket buffers)", n>>20)
	}
	t.Logf("the service got %.1f MiB of its 256 MiB error body out", float64(sent())/(1<<20))
}
