package onedrive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/oauth"
	"github.com/offsite-backup/offsite/providers/providertest"
	"github.com/offsite-backup/offsite/providers/retry"
)

// put uploads data with its expected hash and checks what comes back.
func put(t *testing.T, p providers.Provider, name string, data []byte, o providers.PutOptions) (providers.RemoteFile, error) {
	t.Helper()
	o.Hash = providertest.HashOf(t, p, data)
	return p.Put(t.Context(), name, bytes.NewReader(data), int64(len(data)), o)
}

func mustContent(t *testing.T, p providers.Provider, name string, want []byte) {
	t.Helper()
	if got := providertest.Content(t, p, name); !bytes.Equal(got, want) {
		t.Fatalf("%s: stored %d bytes that differ from the %d sent", name, len(got), len(want))
	}
}

// oneFile checks the emulator holds exactly one file, at path.
func oneFile(t *testing.T, e *env, path string, size int) {
	t.Helper()
	fs := e.files()
	if len(fs) != 1 || fs[0].Path != path || fs[0].Size != int64(size) {
		t.Fatalf("stored files = %+v, want only %s (%d bytes)", fs, path, size)
	}
}

func TestRateLimitHonoursRetryAfter(t *testing.T) {
	e := newEnv(t)
	c := e.client("B")
	data := providertest.Data(1, 2*testChunk+500)
	e.fault(fakecloud.Fault{Path: "/_graph/upload/", Method: "PUT", Status: 429, RetryAfter: "1s", Times: 1, Skip: 1})
	start := time.Now()
	if _, err := put(t, c, "a.bak", data, providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("upload finished %v after a 429 asking for 1s", el)
	}
	mustContent(t, c, "a.bak", data)
}

func TestServerErrorsAreRetried(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e := newEnv(t)
			c := e.client("B")
			data := providertest.Data(2, 2*testChunk+10)
			e.fault(fakecloud.Fault{Path: "/_graph/upload/", Status: status, Times: 2})
			if _, err := put(t, c, "a.bak", data, providers.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			mustContent(t, c, "a.bak", data)
		})
	}
}

func TestResetMidFragment(t *testing.T) {
	e := newEnv(t)
	c := e.client("B")
	data := providertest.Data(3, 3*testChunk+77)
	e.fault(fakecloud.Fault{Path: "/_graph/upload/", Method: "PUT", ResetAfterBytes: 100_000, Times: 1, Skip: 1})
	if _, err := put(t, c, "a.bak", data, providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	mustContent(t, c, "a.bak", data)
	if got, limit := e.stats().UploadBytes, int64(len(data))+100_000; got > limit {
		t.Errorf("sent %d upload bytes, want at most %d (one torn fragment)", got, limit)
	}
}

func TestLostFinalAnswerMakesNoDuplicate(t *testing.T) {
	e := newEnv(t)
	c := e.client("B")
	data := providertest.Data(4, 2*testChunk+123) // three fragments
	e.fault(fakecloud.Fault{Path: "/_graph/upload/", Method: "PUT", DropResponse: true, Times: 1, Skip: 2})
	rf, err := put(t, c, "a.bak", data, providers.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rf.Size != int64(len(data)) {
		t.Errorf("size %d", rf.Size)
	}
	oneFile(t, e, "B/a.bak", len(data))
	if got, limit := e.stats().UploadBytes, int64(len(data)+testChunk); got > limit {
		t.Errorf("sent %d upload bytes, want at most %d", got, limit)
	}
}

func TestLostSimpleAnswerMakesNoDuplicate(t *testing.T) {
	e := newEnv(t)
	p := retry.New(e.client("B"), retry.Policy{Initial: time.Millisecond, Attempts: 3}, nil)
	data := providertest.Data(5, 5000)
	e.fault(fakecloud.Fault{Path: ":/content", Method: "PUT", DropResponse: true, Times: 1})
	if _, err := put(t, p, "a.bak", data, providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	oneFile(t, e, "B/a.bak", len(data))
	if got := e.stats().UploadBytes; got != int64(len(data)) {
		t.Errorf("sent %d upload bytes, want %d: the retry must find the stored file", got, len(data))
	}
}

// failAfter fails its reads once n bytes have been read, like a killed process.
type failAfter struct {
	*bytes.Reader
	n int64
}

func (f *failAfter) Read(p []byte) (int, error) {
	pos, _ := f.Seek(0, io.SeekCurrent)
	if pos >= f.n {
		return 0, errors.New("killed")
	}
	return f.Reader.Read(p[:min(int64(len(p)), f.n-pos)])
}

func TestResumeAfterKillResendsLittle(t *testing.T) {
	e := newEnv(t)
	data := providertest.Data(6, 6*testChunk+999)
	var saved []byte
	// Fragments of one size, so four are acknowledged when it fails.
	fixed := e.config("B")
	fixed.MaxChunkSize = testChunk
	c := e.clientWith(fixed)
	_, err := c.Put(t.Context(), "big.bak", &failAfter{bytes.NewReader(data), 4*testChunk + 5000}, int64(len(data)),
		providers.PutOptions{OnSession: func(s []byte) { saved = append([]byte(nil), s...) }})
	if err == nil || saved == nil {
		t.Fatalf("interrupted Put = %v, saved %d bytes of session state", err, len(saved))
	}
	if strings.Contains(err.Error(), "/_graph/upload/") {
		t.Errorf("error shows the upload URL: %v", err)
	}
	// A new process: a new client, the saved state, the same file.
	fixed.TokenFile = e.config("B").TokenFile
	c2 := e.clientWith(fixed)
	var first int64 = -1
	if _, err := put(t, c2, "big.bak", data, providers.PutOptions{Session: saved, OnProgress: func(d int64) {
		if first < 0 {
			first = d
		}
	}}); err != nil {
		t.Fatal(err)
	}
	if first <= 4*testChunk {
		t.Errorf("resumed upload's first progress %d, want past the 4 acknowledged fragments", first)
	}
	mustContent(t, c2, "big.bak", data)
	if got, limit := e.stats().UploadBytes, int64(len(data)+2*testChunk); got > limit {
		t.Errorf("sent %d upload bytes for %d, want at most %d", got, len(data), limit)
	}
}

func TestExpiredSessionStartsOver(t *testing.T) {
	e := newEnv(t)
	data := providertest.Data(7, 3*testChunk+1)
	c := e.client("B")
	var saved []byte
	_, err := c.Put(t.Context(), "a.bak", &failAfter{bytes.NewReader(data), testChunk + 10}, int64(len(data)),
		providers.PutOptions{OnSession: func(s []byte) { saved = append([]byte(nil), s...) }})
	if err == nil || saved == nil {
		t.Fatalf("interrupted Put = %v", err)
	}
	e.graph.ExpireSessions()
	var states []string
	if _, err := put(t, c, "a.bak", data, providers.PutOptions{Session: saved,
		OnSession: func(s []byte) { states = append(states, string(s)) }}); err != nil {
		t.Fatal(err)
	}
	if len(states) == 0 || states[0] != "" {
		t.Errorf("the stale session was not dropped first: %d states", len(states))
	}
	mustContent(t, c, "a.bak", data)
}

func TestSessionExpiringMidwayStartsOver(t *testing.T) {
	e := newEnv(t)
	data := providertest.Data(8, 3*testChunk+1)
	c := e.client("B")
	expired := false
	_, err := put(t, c, "a.bak", data, providers.PutOptions{OnProgress: func(int64) {
		if !expired {
			expired = true
			e.graph.ExpireSessions()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	mustContent(t, c, "a.bak", data)
	oneFile(t, e, "B/a.bak", len(data))
}

func TestExpiredAccessTokenIsRefreshed(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("B")
	c := e.clientWith(cfg)
	data := providertest.Data(9, 3000)
	if _, err := put(t, c, "a.bak", data, providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(cfg.TokenFile)
	e.control("tokens/expire", map[string]string{"service": "onedrive"})
	if _, err := put(t, c, "b.bak", data, providers.PutOptions{}); err != nil {
		t.Fatalf("Put after the access token expired: %v", err)
	}
	after, _ := os.ReadFile(cfg.TokenFile)
	if bytes.Equal(before, after) {
		t.Error("the refreshed token was not saved")
	}
	if info, err := os.Stat(cfg.TokenFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %v, %v; want 0600", info.Mode(), err)
	}
}

func TestRevokedLoginIsFatal(t *testing.T) {
	e := newEnv(t)
	c := e.client("B")
	data := providertest.Data(10, 3000)
	if _, err := put(t, c, "a.bak", data, providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	e.control("tokens/revoke", map[string]any{"service": "onedrive"})
	_, err := put(t, c, "b.bak", data, providers.PutOptions{})
	if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonAuth {
		t.Fatalf("Put after revocation = %v (%v), want fatal auth", err, providers.KindOf(err))
	}
	if h := providers.HintOf(err); !strings.Contains(h, "offsite auth od") {
		t.Errorf("hint %q does not say how to log in again", h)
	}
	if strings.Contains(err.Error(), "fake-refresh") {
		t.Errorf("error shows the refresh token: %v", err)
	}
}

func TestMissingLoginIsFatal(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("B")
	cfg.TokenFile += ".absent"
	_, err := New(t.Context(), cfg)
	if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonAuth {
		t.Fatalf("New without a token file = %v", err)
	}
}

func TestQuotaFullIsFatal(t *testing.T) {
	for _, size := range []int{3000, 3*testChunk + 5} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			e := newEnv(t)
			c := e.client("B")
			e.control("quota", map[string]any{"service": "onedrive", "bytes": 2000})
			_, err := put(t, c, "a.bak", providertest.Data(11, size), providers.PutOptions{})
			if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonQuota {
				t.Fatalf("Put beyond the quota = %v", err)
			}
			used, total, err := c.Quota(t.Context())
			if err != nil || total != 2000 || used != 0 {
				t.Errorf("Quota = %d, %d, %v", used, total, err)
			}
			if fs := e.files(); len(fs) != 0 {
				t.Errorf("files stored: %+v", fs)
			}
		})
	}
}

func TestPathTooLongFailsBeforeAnyRequest(t *testing.T) {
	e := newEnv(t)
	c := e.client("B")
	before := e.stats().Requests
	long := strings.Repeat("d/", 200) + "x.bak"
	_, err := c.Put(t.Context(), long, bytes.NewReader(nil), 0, providers.PutOptions{})
	if providers.KindOf(err) != providers.Permanent || providers.ReasonOf(err) != providers.ReasonName {
		t.Fatalf("Put of a %d-character path = %v", len(long), err)
	}
	if !strings.Contains(err.Error(), "400") {
		t.Errorf("message does not name the limit: %v", err)
	}
	if got := e.stats().Requests; got != before {
		t.Errorf("%d requests were sent", got-before)
	}
}

func TestOfficeRewriteIsNotAMismatch(t *testing.T) {
	e := newEnv(t)
	e.graph.RewriteOffice = true
	c := e.client("B")
	p := retry.New(c, retry.Policy{Initial: time.Millisecond, Attempts: 3}, nil)
	for _, size := range []int{4000, 2*testChunk + 3} {
		data := providertest.Data(12, size)
		name := "book-" + strconv.Itoa(size) + ".xlsx"
		rf, err := put(t, p, name, data, providers.PutOptions{})
		if err != nil {
			t.Fatalf("Put %s: %v", name, err)
		}
		if want := providertest.HashOf(t, c, data); rf.Hash != want || rf.Size != int64(size) {
			t.Errorf("Put %s = %+v, want the sent size and hash %s", name, rf, want)
		}
		st, err := c.Stat(t.Context(), name)
		if err != nil || st.Size == int64(size) {
			t.Errorf("Stat %s = %+v, %v; the emulator should have rewritten it", name, st, err)
		}
	}
	if got := len(e.files()); got != 2 {
		t.Errorf("%d files stored, want 2", got)
	}
}

func TestNoDuplicateWhenSameContentExists(t *testing.T) {
	e := newEnv(t)
	c := e.client("B")
	data := providertest.Data(13, 2*testChunk+1)
	if _, err := put(t, c, "a.bak", data, providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	sent := e.stats().UploadBytes
	// Without o.Hash the adapter hashes the source itself.
	if _, err := c.Put(t.Context(), "A.BAK", bytes.NewReader(data), int64(len(data)), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := e.stats().UploadBytes; got != sent {
		t.Errorf("a second Put of the same content sent %d more bytes", got-sent)
	}
	oneFile(t, e, "B/a.bak", len(data))
}

func TestCancelKeepsSessionForResume(t *testing.T) {
	e := newEnv(t)
	c := e.client("B")
	data := providertest.Data(14, 4*testChunk)
	ctx, cancel := context.WithCancel(t.Context())
	var saved []byte
	_, err := c.Put(ctx, "a.bak", bytes.NewReader(data), int64(len(data)), providers.PutOptions{
		OnSession:  func(s []byte) { saved = append([]byte(nil), s...) },
		OnProgress: func(int64) { cancel() },
	})
	if providers.KindOf(err) != providers.Canceled {
		t.Fatalf("cancelled Put = %v (%v)", err, providers.KindOf(err))
	}
	if _, err := put(t, c, "a.bak", data, providers.PutOptions{Session: saved}); err != nil {
		t.Fatal(err)
	}
	if got, limit := e.stats().UploadBytes, int64(len(data)+testChunk); got > limit {
		t.Errorf("sent %d bytes, want at most %d", got, limit)
	}
}

func TestListPages(t *testing.T) {
	e := newEnv(t)
	c := e.client("B")
	c.pageSize = 2
	for i := range 5 {
		if _, err := put(t, c, "d/f"+strconv.Itoa(i+1)+".bak", []byte("x"), providers.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := providertest.Names(t, c, "d"); len(got) != 5 {
		t.Errorf("List over pages of 2 = %q", got)
	}
}

// The saved token is rotated by the fake token endpoint too; this guards
// that a rotation with no new refresh token keeps the old one.
func TestRefreshKeepsRefreshToken(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("B")
	c := e.clientWith(cfg)
	if _, _, err := c.Quota(t.Context()); err != nil {
		t.Fatal(err)
	}
	tok, err := oauth.Store{Path: cfg.TokenFile}.Load()
	if err != nil || tok.RefreshToken != "fake-refresh" || tok.AccessToken == "" {
		t.Fatalf("saved token after refresh = %+v, %v", redacted(tok), err)
	}
}

func redacted(t *oauth2.Token) string {
	if t == nil {
		return "<nil>"
	}
	return "access:" + strconv.Itoa(len(t.AccessToken)) + " refresh:" + strconv.Itoa(len(t.RefreshToken))
}

// TestFragmentsGrowOnAFastLink: fragments double while they go out
// quickly, each a multiple of 320 KiB (the emulator refuses others), so a
// fast link makes fewer round trips.
func TestFragmentsGrowOnAFastLink(t *testing.T) {
	e := newEnv(t)
	data := providertest.Data(12, 16*testChunk)
	fragments := 0
	if _, err := put(t, e.client("B"), "grow.bak", data, providers.PutOptions{OnProgress: func(int64) { fragments++ }}); err != nil {
		t.Fatal(err)
	}
	// 1, 2, 4 and 8 of the starting size, then the one left: five, not sixteen.
	if fragments > 6 {
		t.Fatalf("%d fragments for 16 of the starting size: they did not grow", fragments)
	}
	mustContent(t, e.client("B"), "grow.bak", data)
}

// TestResetInAGrownFragmentSendsItAgainOnly: a connection cut in the middle
// of a fragment that has grown costs that fragment, not the upload, and
// the stored copy, its quickXorHash (checked against the one expected)
// and the emulator's SHA-256 all match what was sent.
func TestResetInAGrownFragmentSendsItAgainOnly(t *testing.T) {
	e := newEnv(t)
	c := e.client("B")
	data := providertest.Data(13, 16*testChunk+77)
	fragments := 0
	// Fragments of 1, 2 and 4 starting sizes go through; the fourth, of 8,
	// is cut after 5 of them.
	e.fault(fakecloud.Fault{Path: "/_graph/upload/", Method: "PUT", ResetAfterBytes: 5 * testChunk, Times: 1, Skip: 3})
	if _, err := put(t, c, "grown.bak", data, providers.PutOptions{OnProgress: func(int64) { fragments++ }}); err != nil {
		t.Fatal(err)
	}
	mustContent(t, c, "grown.bak", data)
	if fragments > 6 {
		t.Fatalf("%d fragments for 16 of the starting size: they did not grow", fragments)
	}
	got, limit := e.stats().UploadBytes, int64(len(data))+8*testChunk
	if got <= int64(len(data)) {
		t.Fatalf("sent %d upload bytes for %d: the cut did not happen", got, len(data))
	}
	if got > limit {
		t.Errorf("sent %d upload bytes for %d, want at most one grown fragment (%d) more", got, len(data), 8*testChunk)
	}
	want := sha256.Sum256(data)
	if fs := e.files(); len(fs) != 1 || fs[0].SHA256 != hex.EncodeToString(want[:]) {
		t.Fatalf("stored files = %+v, want grown.bak with SHA-256 %x", fs, want)
	}
}
