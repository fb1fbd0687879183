package gdrive

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/drive/v3"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/gdrive/fakedrive"
	"github.com/offsite-backup/offsite/providers/oauth"
	"github.com/offsite-backup/offsite/providers/providertest"
	"github.com/offsite-backup/offsite/providers/retry"
)

const testChunk = 256 << 10

// emu is one fakedrive on a loopback port, with a logged-in token file.
type emu struct {
	cloud     *fakecloud.Cloud
	drive     *fakedrive.Server
	srv       *httptest.Server
	tokenFile string
	access    string // a valid access token, for raw requests
	rec       *recorder
}

func newEmu(t testing.TB) *emu {
	t.Helper()
	e := &emu{cloud: fakecloud.New(time.Hour), rec: &recorder{base: http.DefaultTransport}}
	var err error
	if e.drive, err = fakedrive.New(e.cloud, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/_fakecloud/", e.cloud.ControlHandler())
	mux.HandleFunc("PUT /raw", func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	e.drive.Register(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.tokenFile = filepath.Join(t.TempDir(), "gdrive-token.json")
	access, ttl := e.cloud.IssueToken("drive")
	e.access = access
	tok := &oauth2.Token{AccessToken: access, TokenType: "Bearer", RefreshToken: "fake-refresh", Expiry: time.Now().Add(ttl)}
	if err := (oauth.Store{Path: e.tokenFile, Dest: "cloud"}).Save(tok); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *emu) client(t testing.TB, chunk int64, opts ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		Name: "cloud", Folder: "Backups/Shop1", TokenFile: e.tokenFile, ClientID: "id", ClientSecret: "secret",
		Endpoint: e.srv.URL, ChunkSize: chunk, Transport: e.rec,
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.policy = retry.Policy{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, Attempts: 5}
	return c
}

// recorder notes when each request went out and how it was answered.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  []exchange
}

type exchange struct {
	at     time.Time
	method string
	target string
	status int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	at := time.Now()
	resp, err := r.base.RoundTrip(req)
	st := 0
	if resp != nil {
		st = resp.StatusCode
	}
	r.mu.Lock()
	r.log = append(r.log, exchange{at: at, method: req.Method, target: req.URL.RequestURI(), status: st})
	r.mu.Unlock()
	return resp, err
}

// count is how many answers had status (0: the connection failed).
func (r *recorder) count(status int) int {
	n := 0
	for _, x := range r.exchanges() {
		if x.status == status {
			n++
		}
	}
	return n
}

func (r *recorder) exchanges() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.log...)
}

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Options{
		New:       func(t *testing.T) providers.Provider { return newEmu(t).client(t, testChunk) },
		ChunkSize: testChunk,
	})
}

func put(t *testing.T, c *Client, name string, data []byte, o providers.PutOptions) (providers.RemoteFile, error) {
	t.Helper()
	if o.Hash == "" {
		sum := md5.Sum(data)
		o.Hash = hex.EncodeToString(sum[:])
	}
	return c.Put(t.Context(), name, bytes.NewReader(data), int64(len(data)), o)
}

func mustPut(t *testing.T, c *Client, name string, data []byte) providers.RemoteFile {
	t.Helper()
	rf, err := put(t, c, name, data, providers.PutOptions{})
	if err != nil {
		t.Fatalf("Put %s: %v", name, err)
	}
	return rf
}

func (e *emu) files(t *testing.T) []string {
	var out []string
	for _, f := range e.drive.Files() {
		out = append(out, f.Path)
	}
	return out
}

func expectOnly(t *testing.T, e *emu, want ...string) {
	t.Helper()
	if got := e.files(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("stored files %q, want %q", got, want)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	e := newEmu(t)
	c := e.client(t, testChunk)
	e.cloud.AddFault(fakecloud.Fault{Service: "drive", Path: "/drive/v3/files", Status: 429, RetryAfter: "1s", Times: 1})
	mustPut(t, c, "a.bak", providertest.Data(1, 1000))
	log := e.rec.exchanges()
	for i, x := range log {
		if x.status != 429 {
			continue
		}
		if i+1 >= len(log) || log[i+1].at.Sub(x.at) < time.Second {
			t.Fatalf("next request %v after the 429, want ≥ 1s", log[i+1].at.Sub(x.at))
		}
		if until := c.pacer.Until(); !until.IsZero() {
			t.Errorf("pacer still holding after the wait")
		}
		return
	}
	t.Fatal("no 429 seen")
}

func TestRateLimitAndServerErrorsAreRetried(t *testing.T) {
	e := newEmu(t)
	c := e.client(t, testChunk)
	e.cloud.AddFault(fakecloud.Fault{Service: "drive", Status: 403, Times: 2})                    // userRateLimitExceeded
	e.cloud.AddFault(fakecloud.Fault{Service: "drive", Path: "upload_id", Status: 500, Times: 3}) // chunks
	data := providertest.Data(2, 3*testChunk+10)
	rf := mustPut(t, c, "big.bak", data)
	if rf.Size != int64(len(data)) {
		t.Fatalf("size %d", rf.Size)
	}
	expectOnly(t, e, "Backups/Shop1/big.bak")
	if e.rec.count(403) != 2 || e.rec.count(500) != 3 {
		t.Errorf("saw %d 403s and %d 500s, want 2 and 3", e.rec.count(403), e.rec.count(500))
	}
}

func TestResetMidChunkResumes(t *testing.T) {
	e := newEmu(t)
	c := e.client(t, testChunk)
	e.cloud.AddFault(fakecloud.Fault{Service: "drive", Path: "upload_id", ResetAfterBytes: 100_000, Skip: 1, Times: 1})
	data := providertest.Data(3, 3*testChunk+10)
	mustPut(t, c, "r.bak", data)
	got, _ := io.ReadAll(must(c.Get(t.Context(), "r.bak")))
	if !bytes.Equal(got, data) {
		t.Fatal("content differs after a reset mid-chunk")
	}
	if e.rec.count(0) != 1 {
		t.Errorf("%d failed connections, want the 1 injected", e.rec.count(0))
	}
	if up := e.cloud.StatsOf("drive").UploadBytes; up > int64(len(data))+testChunk {
		t.Errorf("uploaded %d bytes for %d: more than one chunk resent", up, len(data))
	}
}

// TestResetInAGrownChunkSendsItAgainOnly: a connection cut in the middle
// of a chunk that has grown costs that chunk, not the upload; the
// md5Checksum the service reports (checked by put against the one
// expected) and the content match what was sent.
func TestResetInAGrownChunkSendsItAgainOnly(t *testing.T) {
	e := newEmu(t)
	c := e.client(t, testChunk)
	// Chunks of 1, 2 and 4 starting sizes go through; the fourth, of 8, is
	// cut after 5 of them.
	e.cloud.AddFault(fakecloud.Fault{Service: "drive", Path: "upload_id", Method: http.MethodPut, ResetAfterBytes: 5 * testChunk, Skip: 3, Times: 1})
	data := providertest.Data(14, 16*testChunk+10)
	mustPut(t, c, "grown.bak", data)
	if got := providertest.Content(t, c, "grown.bak"); !bytes.Equal(got, data) {
		t.Fatal("content differs after a reset in a grown chunk")
	}
	puts := 0
	for _, x := range e.rec.exchanges() {
		if x.method == http.MethodPut && strings.Contains(x.target, "upload_id") {
			puts++
		}
	}
	if e.rec.count(0) != 1 || puts > 8 {
		t.Errorf("%d failed connections and %d chunk PUTs, want the 1 injected and chunks that grew", e.rec.count(0), puts)
	}
	up := e.cloud.StatsOf("drive").UploadBytes
	if up <= int64(len(data)) || up > int64(len(data))+8*testChunk {
		t.Errorf("uploaded %d bytes for %d: want the cut fragment of the grown chunk and at most that chunk again", up, len(data))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestLostAnswersMakeNoDuplicate(t *testing.T) {
	e := newEmu(t)
	// Chunks of one size, so the fault meets the last.
	c := e.client(t, testChunk, func(c *Config) { c.MaxChunkSize = testChunk })
	// Final chunk of a 3-chunk upload: skip the first two chunks.
	e.cloud.AddFault(fakecloud.Fault{Service: "drive", Path: "upload_id", Method: "PUT", DropResponse: true, Skip: 2, Times: 1})
	mustPut(t, c, "big.bak", providertest.Data(4, 3*testChunk))
	// A multipart create whose answer is lost.
	e.cloud.AddFault(fakecloud.Fault{Service: "drive", Path: "uploadType=multipart", DropResponse: true, Times: 1})
	mustPut(t, c, "small.bak", providertest.Data(5, 1000))
	expectOnly(t, e, "Backups/Shop1/big.bak", "Backups/Shop1/small.bak")
	if e.rec.count(0) != 2 {
		t.Errorf("%d lost answers, want the 2 injected", e.rec.count(0))
	}
}

func TestExpiredSessionStartsOver(t *testing.T) {
	e := newEmu(t)
	c := e.client(t, testChunk)
	e.cloud.AddFault(fakecloud.Fault{Service: "drive", Path: "upload_id", Status: 404, Skip: 1, Times: 1})
	var sessions []string
	data := providertest.Data(6, 3*testChunk+5)
	if _, err := put(t, c, "s.bak", data, providers.PutOptions{OnSession: func(s []byte) { sessions = append(sessions, string(s)) }}); err != nil {
		t.Fatal(err)
	}
	uris := map[string]bool{}
	for _, s := range sessions {
		if _, rest, ok := strings.Cut(s, `"uri":"`); ok {
			uris[rest[:strings.Index(rest, `"`)]] = true
		}
	}
	if len(uris) != 2 || sessions[len(sessions)-1] != "" {
		t.Errorf("sessions used %d, last state %q; want 2 and a final nil", len(uris), sessions[len(sessions)-1])
	}
	expectOnly(t, e, "Backups/Shop1/s.bak")
	if e.rec.count(404) != 1 {
		t.Errorf("%d session 404s, want 1", e.rec.count(404))
	}
}

func TestExpiredAccessTokenIsRefreshedMidUpload(t *testing.T) {
	e := newEmu(t)
	c := e.client(t, testChunk)
	before, _ := (oauth.Store{Path: e.tokenFile}).Load()
	once := sync.Once{}
	data := providertest.Data(7, 4*testChunk)
	_, err := put(t, c, "t.bak", data, providers.PutOptions{OnProgress: func(n int64) {
		once.Do(func() { e.cloud.ExpireTokens("drive") })
	}})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := (oauth.Store{Path: e.tokenFile}).Load()
	if after.AccessToken == before.AccessToken || after.RefreshToken != "fake-refresh" {
		t.Errorf("token file not updated with the refreshed token")
	}
	var refused int
	for _, x := range e.rec.exchanges() {
		if x.status == 401 {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d requests refused, want exactly 1 before the refresh", refused)
	}
}

func TestRevokedLoginIsFatal(t *testing.T) {
	e := newEmu(t)
	c := e.client(t, testChunk)
	e.cloud.RevokeRefresh("drive", true) // also drops every access token
	_, err := put(t, c, "x.bak", []byte("x"), providers.PutOptions{})
	if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonAuth ||
		!strings.Contains(providers.HintOf(err), "offsite auth cloud") {
		t.Fatalf("Put after revocation = %v (kind %v)", err, providers.KindOf(err))
	}
	if strings.Contains(err.Error(), "fake-refresh") {
		t.Fatalf("error leaks the refresh token: %v", err)
	}
}

func TestQuotaFullIsFatal(t *testing.T) {
	e := newEmu(t)
	c := e.client(t, testChunk)
	e.cloud.SetQuota("drive", 1000)
	for _, n := range []int{2000, 3 * testChunk} { // multipart, resumable
		_, err := put(t, c, "q.bak", providertest.Data(8, n), providers.PutOptions{})
		if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonQuota {
			t.Fatalf("Put of %d bytes over quota = %v", n, err)
		}
	}
	used, total, err := c.Quota(t.Context())
	if err != nil || used != 0 || total != 1000 {
		t.Fatalf("Quota = %d, %d, %v", used, total, err)
	}
}

func TestSameContentIsNotUploadedAgain(t *testing.T) {
	e := newEmu(t)
	c := e.client(t, testChunk)
	data := providertest.Data(9, 2*testChunk)
	first := mustPut(t, c, "same.bak", data)
	up := e.cloud.StatsOf("drive").UploadBytes
	second := mustPut(t, c, "same.bak", data)
	if e.cloud.StatsOf("drive").UploadBytes != up || first.Hash != second.Hash {
		t.Fatal("identical content uploaded a second time")
	}
}

func TestOldestOfDuplicateFoldersIsUsed(t *testing.T) {
	e := newEmu(t)
	c := e.client(t, testChunk)
	// Two processes raced and made "Backups" twice; both settle on the oldest.
	for range 2 {
		if _, err := c.svc.Files.Create(&drive.File{Name: "Backups", MimeType: folderMime, Parents: []string{"root"}}).Do(); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, c, "a.bak", []byte("a"))
	mustPut(t, e.client(t, testChunk), "b.bak", []byte("b"))
	list, err := c.children(t.Context(), "root", "Backups")
	if err != nil || len(list) != 2 {
		t.Fatal(list, err)
	}
	inOldest, _ := c.children(t.Context(), list[0].Id, "")
	inNewer, _ := c.children(t.Context(), list[1].Id, "")
	if len(inOldest) != 1 || len(inNewer) != 0 {
		t.Fatalf("oldest folder holds %d items, newer %d; want 1 and 0", len(inOldest), len(inNewer))
	}
}

// TestResumeAfterKill uploads a large file, kills the upload about half way
// through (as a crash would), and resumes it from the saved session in a
// fresh client: the bytes sent in all stay within one file and two chunks.
func TestResumeAfterKill(t *testing.T) {
	size, chunk := int64(200<<20), int64(8<<20)
	if testing.Short() {
		size = 20 << 20
		chunk = 2 << 20
	}
	e := newEmu(t)
	src := &pattern{size: size}
	sum, _, _ := providers.HashReader(src, providers.MD5)
	want := sum[providers.MD5]

	ctx, kill := context.WithCancel(t.Context())
	var saved []byte
	_, err := e.client(t, chunk).Put(ctx, "big/huge.bak", src, size, providers.PutOptions{
		Hash:      want,
		OnSession: func(s []byte) { saved = s },
		OnProgress: func(n int64) {
			if n >= size/2 {
				// Die while the next chunk is on the wire, like a crash.
				time.AfterFunc(3*time.Millisecond, kill)
			}
		},
	})
	if !errors.Is(err, context.Canceled) || saved == nil {
		t.Fatalf("killed Put = %v, saved session %v", err, saved != nil)
	}
	expectOnly(t, e)

	var first int64 = -1
	rf, err := e.client(t, chunk).Put(t.Context(), "big/huge.bak", src, size, providers.PutOptions{
		Hash: want, Session: saved,
		OnProgress: func(n int64) {
			if first < 0 {
				first = n
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rf.Hash != want || first < size/2 {
		t.Fatalf("resumed: hash %s (want %s), first progress %d", rf.Hash, want, first)
	}
	up := e.cloud.StatsOf("drive").UploadBytes
	if up > size+2*chunk {
		t.Fatalf("sent %d bytes for a %d-byte file, more than two chunks extra", up, size)
	}
	t.Logf("sent %d bytes for %d (%.2f%%)", up, size, 100*float64(up)/float64(size))
	expectOnly(t, e, "Backups/Shop1/big/huge.bak")
}

// pattern is a large, seekable, deterministic source that takes no memory.
type pattern struct {
	size, off int64
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.size-p.off))
	for i := range n {
		x := uint64(p.off + int64(i))
		b[i] = byte(x ^ x>>8 ^ x>>17)
	}
	p.off += int64(n)
	return n, nil
}

func (p *pattern) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		p.off = off
	case io.SeekCurrent:
		p.off += off
	case io.SeekEnd:
		p.off = p.size + off
	}
	return p.off, nil
}

func TestSessionStateIsValidatedBeforeUse(t *testing.T) {
	c := &Client{uploadURL: "http://127.0.0.1:1/upload/drive/v3/files"}
	good := `{"uri":"http://127.0.0.1:1/upload/drive/v3/files?upload_id=x","size":10,"md5":"aa","parent":"p","name":"n","offset":5}`
	if c.savedSession([]byte(good), "p", "n", 10, "AA") == nil {
		t.Fatal("matching state refused")
	}
	for _, tc := range []struct{ state, parent, name, md5 string }{
		{good, "p", "n", "bb"}, // other content
		{good, "q", "n", "aa"}, // other folder
		{good, "p", "m", "aa"}, // other name
		{`{"uri":"http://evil:1/x","size":10,"parent":"p","name":"n"}`, "p", "n", ""},
		{`not json`, "p", "n", ""},
	} {
		if c.savedSession([]byte(tc.state), tc.parent, tc.name, 10, tc.md5) != nil {
			t.Errorf("state %s accepted for %s/%s %s", tc.state, tc.parent, tc.name, tc.md5)
		}
	}
}

// TestChunksGrowOnAFastLink: chunks double while they go out quickly, so
// a fast link makes fewer round trips; each is a multiple of 256 KiB,
// which the emulator enforces as Drive does.
func TestChunksGrowOnAFastLink(t *testing.T) {
	e := newEmu(t)
	c := e.client(t, testChunk)
	data := providertest.Data(9, 8*testChunk)
	mustPut(t, c, "grow.bak", data)
	puts := 0
	for _, x := range e.rec.exchanges() {
		if x.method == http.MethodPut && strings.Contains(x.target, "upload_id") {
			puts++
		}
	}
	// 256 KiB, 512 KiB, 1 MiB, then the 256 KiB left: four, not eight.
	if puts > 5 {
		t.Fatalf("%d chunks for 8 of the starting size: they did not grow", puts)
	}
	if got := providertest.Content(t, c, "grow.bak"); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
}
