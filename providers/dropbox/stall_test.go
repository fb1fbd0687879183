package dropbox

import (
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers/providertest"
	"github.com/offsite-backup/offsite/providers/retry"
)

const (
	stallTimeout = 300 * time.Millisecond
	// slow is the slack of a call that uploads chunks before it stalls.
	slow = 10 * time.Second
	// stallLimit is two tries' timeouts (a 401 refresh aside) and some slack.
	stallLimit = 2*stallTimeout + 2*time.Second
)

// stallClient has a short timeout and two tries per call.
func stallClient(t *testing.T, endpoint, tokenFile string) *Client {
	t.Helper()
	c, err := New(t.Context(), Config{Name: "cloud", Folder: "Backups/Shop1", TokenFile: tokenFile,
		Endpoint: endpoint, ChunkSize: testChunk, Timeout: stallTimeout})
	if err != nil {
		t.Fatal(err)
	}
	c.policy = retry.Policy{Initial: 5 * time.Millisecond, Max: 10 * time.Millisecond, Attempts: 2}
	return c
}

// A service that accepts the connection and never answers: every call
// gives up with a Temporary stall error.
func TestSilentServiceGivesUp(t *testing.T) {
	c := stallClient(t, providertest.SilentServer(t), writeToken(t))
	providertest.CheckStalls(t, stallLimit, providertest.StallCalls(c, 2*testChunk+1)...)
}

// The refresh holds the token lock; a silent token endpoint must not hold
// it, or the call, for ever.
func TestSilentTokenEndpointGivesUp(t *testing.T) {
	c := stallClient(t, providertest.SilentServer(t), writeToken(t))
	c.tokens.Invalidate("old-access")
	providertest.CheckStalls(t, stallLimit, providertest.Pick(providertest.StallCalls(c, 0), "Stat", "Put small")...)
}

// The emulator's hang fault, on the whole service and on each step of an
// upload or download; once cleared, uploads work again.
func TestHangFaultGivesUpThenRecovers(t *testing.T) {
	h := newHarness(t)
	c := stallClient(t, h.url, h.tokenFile(t))
	providertest.Put(t, c, "stall/a.bak", []byte("before the stall"))
	calls := providertest.StallCalls(c, 2*testChunk+1)
	for _, step := range []struct {
		fault string
		calls []string
		slack time.Duration // for uploading what comes before the stalled step
	}{
		{`{"service":"dropbox","hang":true}`, []string{"Stat", "List", "Put small", "Put resumable", "Get"}, 0},
		{`{"service":"dropbox","path":"/files/upload","hang":true}`, []string{"Put small"}, 0},
		{`{"service":"dropbox","path":"/upload_session/append","hang":true}`, []string{"Put resumable"}, slow},
		{`{"service":"dropbox","path":"/upload_session/finish","hang":true}`, []string{"Put resumable"}, slow},
		{`{"service":"dropbox","path":"/files/download","hang":true}`, []string{"Get"}, 0},
		{`{"service":"dropbox","path":"/oauth2/token","hang":true}`, nil, 0}, // a login whose access token was refused
	} {
		t.Run(step.fault, func(t *testing.T) {
			providertest.Fault(t, h.url, step.fault)
			defer providertest.Fault(t, h.url, "")
			if step.calls == nil {
				c.tokens.Invalidate(c.currentToken(t))
				step.calls = []string{"Stat"}
			}
			providertest.CheckStalls(t, stallLimit+step.slack, providertest.Pick(calls, step.calls...)...)
		})
	}
	providertest.Put(t, c, "stall/b.bak", []byte("after the stall"))
}

func (c *Client) currentToken(t *testing.T) string {
	t.Helper()
	tok, err := c.tokens.Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// An error answer is read through a size limit: a service sending a
// 256 MiB error body cannot make the adapter take it all into memory.
func TestHugeErrorBodyIsReadThroughALimit(t *testing.T) {
	root, sent := providertest.HugeErrorServer(t, 256<<20)
	c := stallClient(t, root, writeToken(t))
	if _, err := c.Stat(t.Context(), "a.bak"); err == nil {
		t.Fatal("Stat succeeded against a service answering 400")
	}
	if n := sent(); n > 32<<20 {
		t.Fatalf("the adapter took %d MiB of a 256 MiB error body, want about 1 MiB (and the socket buffers)", n>>20)
	}
	t.Logf("the service got %.1f MiB of its 256 MiB error body out", float64(sent())/(1<<20))
}
