package gdrive

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

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

// stallClient is a client with a short timeout and two tries per call.
func stallClient(t *testing.T, endpoint, tokenFile string) *Client {
	t.Helper()
	c, err := New(context.Background(), Config{
		Name: "cloud", Folder: "Backups/Shop1", TokenFile: tokenFile, ClientID: "id", ClientSecret: "secret",
		Endpoint: endpoint, ChunkSize: testChunk, Timeout: stallTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.policy = retry.Policy{Initial: 5 * time.Millisecond, Max: 10 * time.Millisecond, Attempts: 2}
	return c
}

func tokenFile(t *testing.T, expiry time.Time) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token.json")
	tok := &oauth2.Token{AccessToken: "access", TokenType: "Bearer", RefreshToken: "refresh", Expiry: expiry}
	if err := (oauth.Store{Path: p, Dest: "cloud"}).Save(tok); err != nil {
		t.Fatal(err)
	}
	return p
}

// A service that accepts the connection and never answers: every call
// gives up with a Temporary stall error within its two tries' timeouts.
func TestSilentServiceGivesUp(t *testing.T) {
	c := stallClient(t, providertest.SilentServer(t), tokenFile(t, time.Now().Add(time.Hour)))
	providertest.CheckStalls(t, stallLimit, providertest.StallCalls(c, 3*testChunk)...)
}

// The token refresh holds the token lock: a token endpoint that never
// answers must not hold it, or the call, for ever.
func TestSilentTokenEndpointGivesUp(t *testing.T) {
	c := stallClient(t, providertest.SilentServer(t), tokenFile(t, time.Now().Add(-time.Hour)))
	providertest.CheckStalls(t, stallLimit, providertest.Pick(providertest.StallCalls(c, 3*testChunk), "Stat", "Put small")...)
}

// The emulator's hang fault, on the whole service and on each step of an
// upload or download; once cleared, uploads work again.
func TestHangFaultGivesUpThenRecovers(t *testing.T) {
	e := newEmu(t)
	c := stallClient(t, e.srv.URL, e.tokenFile)
	providertest.Put(t, c, "stall/a.bak", []byte("before the stall"))
	calls := providertest.StallCalls(c, 3*testChunk)
	for _, step := range []struct {
		fault string
		calls []string
		slack time.Duration // for uploading what comes before the stalled step
	}{
		{`{"service":"drive","hang":true}`, []string{"Stat", "List", "Put small", "Put resumable", "Get"}, 0},
		{`{"service":"drive","path":"/token","hang":true}`, nil, 0}, // a client whose token has run out
		{`{"service":"drive","path":"uploadType=multipart","hang":true}`, []string{"Put small"}, 0},
		{`{"service":"drive","path":"upload_id=","hang":true}`, []string{"Put resumable"}, slow},
		{`{"service":"drive","path":"alt=media","hang":true}`, []string{"Get"}, 0},
	} {
		t.Run(step.fault, func(t *testing.T) {
			providertest.Fault(t, e.srv.URL, step.fault)
			defer providertest.Fault(t, e.srv.URL, "")
			if step.calls == nil {
				expired := stallClient(t, e.srv.URL, tokenFile(t, time.Now().Add(-time.Hour)))
				providertest.CheckStalls(t, stallLimit, providertest.Pick(providertest.StallCalls(expired, 0), "Stat")...)
				return
			}
			providertest.CheckStalls(t, stallLimit+step.slack, providertest.Pick(calls, step.calls...)...)
		})
	}
	providertest.Put(t, c, "stall/b.bak", []byte("after the stall"))
}

// An error answer is read through a size limit: a service sending a
// 256 MiB error body cannot make the adapter take it all into memory.
func TestHugeErrorBodyIsReadThroughALimit(t *testing.T) {
	root, sent := providertest.HugeErrorServer(t, 256<<20)
	c := stallClient(t, root, tokenFile(t, time.Now().Add(time.Hour)))
	if _, err := c.Stat(t.Context(), "a.bak"); err == nil {
		t.Fatal("Stat succeeded against a service answering 400")
	}
	if n := sent(); n > 32<<20 {
		t.Fatalf("the adapter took %d MiB of a 256 MiB error body, want about 1 MiB (and the socket buffers)", n>>20)
	}
	t.Logf("the service got %.1f MiB of its 256 MiB error body out", float64(sent())/(1<<20))
}
