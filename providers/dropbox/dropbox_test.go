package dropbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/files"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/providertest"
)

const testChunk = 4 << 20

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Options{
		New:       func(t *testing.T) providers.Provider { return newHarness(t).client(t, testChunk) },
		ChunkSize: testChunk,
	})
}

func put(t *testing.T, c *Client, name string, data []byte, o providers.PutOptions) (providers.RemoteFile, error) {
	t.Helper()
	o.Hash = contentHash(data)
	return c.Put(t.Context(), name, bytes.NewReader(data), int64(len(data)), o)
}

// stored returns the emulator's files under the test folder.
func stored(h *harness) []string {
	var out []string
	for _, f := range h.srv.Files() {
		out = append(out, strings.TrimPrefix(f.Path, "Backups/Shop1/"))
	}
	return out
}

func TestRateLimitWaitsForRetryAfter(t *testing.T) {
	h := newHarness(t)
	rec := &recorder{base: http.DefaultTransport}
	c := h.client(t, testChunk, func(c *Config) { c.Transport = rec })
	h.control(t, "POST", "/_fakecloud/faults", fakecloud.Fault{Service: "dropbox", Path: "append_v2", Status: 429, RetryAfter: "1s", Times: 1})
	data := providertest.Data(1, 3*testChunk+10)
	if _, err := put(t, c, "pos/a.bak", data, providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	hits := rec.log()
	for _, x := range hits {
		if x.status != 429 {
			continue
		}
		// Appends run two at a time, so the other one may have passed the
		// pacer just before the 429 came back and begin a moment after it;
		// no more than that one may start within the second the service
		// asked for.
		early, after := 0, 0
		for _, y := range hits {
			if d := y.at.Sub(x.done); d >= 0 {
				after++
				if d < time.Second {
					early++
				}
			}
		}
		if after == 0 {
			t.Fatal("no request after the 429")
		}
		if early > 1 {
			t.Errorf("%d requests began within a second of a 429 with Retry-After: 1", early)
		}
		if !c.pacer.Until().IsZero() {
			t.Error("pacer still holding after the upload finished")
		}
		return
	}
	t.Fatal("the injected 429 never happened")
}

func TestServerErrorsAreRetried(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	h.control(t, "POST", "/_fakecloud/faults", fakecloud.Fault{Service: "dropbox", Path: "append_v2", Status: 503, Times: 2})
	h.control(t, "POST", "/_fakecloud/faults", fakecloud.Fault{Service: "dropbox", Path: "files/upload", Status: 500, Times: 1})
	big := providertest.Data(2, 3*testChunk)
	if _, err := put(t, c, "pos/big.bak", big, providers.PutOptions{}); err != nil {
		t.Fatalf("session upload through 503s: %v", err)
	}
	if _, err := put(t, c, "pos/small.bak", big[:100], providers.PutOptions{}); err != nil {
		t.Fatalf("small upload through a 500: %v", err)
	}
	if got := providertest.Content(t, c, "pos/big.bak"); !bytes.Equal(got, big) {
		t.Error("content differs")
	}
}

func TestConnectionResetMidChunk(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	h.control(t, "POST", "/_fakecloud/faults", fakecloud.Fault{Service: "dropbox", Path: "append_v2", ResetAfterBytes: testChunk / 2, Times: 1})
	data := providertest.Data(3, 4*testChunk+5)
	var progress []int64
	if _, err := put(t, c, "pos/r.bak", data, providers.PutOptions{OnProgress: func(n int64) { progress = append(progress, n) }}); err != nil {
		t.Fatal(err)
	}
	if got := providertest.Content(t, c, "pos/r.bak"); !bytes.Equal(got, data) {
		t.Error("content differs after a reset mid-chunk")
	}
	want := []int64{testChunk, 2 * testChunk, 3 * testChunk, 4 * testChunk, 4*testChunk + 5}
	if len(progress) != len(want) || progress[len(progress)-1] != want[len(want)-1] {
		t.Errorf("progress %v, want %v", progress, want)
	}
}

func TestLostAnswerMakesNoDuplicate(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	for _, tc := range []struct {
		route string
		size  int
	}{
		{"upload_session/finish", 3*testChunk + 7},
		{"upload_session/append_v2", 3*testChunk + 7},
		{"files/upload", 1000},
	} {
		h.control(t, "POST", "/_fakecloud/faults", fakecloud.Fault{Service: "dropbox", Path: tc.route, DropResponse: true, Times: 1})
		name := "lost/" + strings.ReplaceAll(tc.route, "/", "_") + ".bak"
		data := providertest.Data(uint64(tc.size), tc.size)
		rf, err := put(t, c, name, data, providers.PutOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.route, err)
		}
		if rf.Hash != contentHash(data) {
			t.Errorf("%s: hash %s", tc.route, rf.Hash)
		}
	}
	got := stored(h)
	want := []string{"lost/files_upload.bak", "lost/upload_session_append_v2.bak", "lost/upload_session_finish.bak"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// TestStoredHashIsChecked: bytes altered on their way are caught. Every
// request carries its content_hash, so Dropbox refuses an altered body and
// the retry goes through; what the finish reports is checked as well.
func TestStoredHashIsChecked(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	for _, tc := range []struct {
		route string
		size  int
	}{
		{"files/upload", 1000},
		{"upload_session/append_v2", 2*testChunk + 7},
	} {
		h.control(t, "POST", "/_fakecloud/faults", fakecloud.Fault{Service: "dropbox", Path: tc.route, CorruptBody: true, Times: 1})
		name := "bad/" + strings.ReplaceAll(tc.route, "/", "_")
		data := providertest.Data(7, tc.size)
		if _, err := put(t, c, name, data, providers.PutOptions{}); err != nil {
			t.Fatalf("%s: upload after a refused altered body: %v", tc.route, err)
		}
		if got := providertest.Content(t, c, name); !bytes.Equal(got, data) {
			t.Errorf("%s: stored altered bytes", tc.route)
		}
	}
	// Both altered bodies were sent again: the faults did fire.
	if sent, least := h.stats(t).UploadBytes, int64(2*1000+2*testChunk+7+1); sent < least {
		t.Errorf("service received %d upload bytes, want at least %d", sent, least)
	}

	u := &upload{c: c, rel: "x.bak"}
	md := &files.FileMetadata{Metadata: files.Metadata{Name: "x.bak", PathDisplay: "/x.bak"}, Size: 3, ContentHash: contentHash([]byte("abc"))}
	if _, err := u.result(md, contentHash([]byte("abd"))); providers.ReasonOf(err) != providers.ReasonChecksum || providers.KindOf(err) != providers.Temporary {
		t.Errorf("a finish reporting other content = %v, want a temporary checksum error", err)
	}
	if rf, err := u.result(md, contentHash([]byte("abc"))); err != nil || rf.Hash != md.ContentHash {
		t.Errorf("a finish reporting the content sent = %+v, %v", rf, err)
	}
}

// TestGivenPartsAreCheckedByDropbox: with the caller's block hashes
// (PutOptions.Parts, as the daemon passes them) every chunk goes with the
// hash of the source as it was hashed, so a source rewritten since is
// refused chunk by chunk and never committed.
func TestGivenPartsAreCheckedByDropbox(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	old := providertest.Data(20, 3*testChunk+5)
	hs, err := providers.Hash(bytes.NewReader(old), providers.ContentHash)
	if err != nil {
		t.Fatal(err)
	}
	o := providers.PutOptions{Hash: hs.Sums[providers.ContentHash], Parts: hs.Parts[providers.ContentHash]}
	if _, err := c.Put(t.Context(), "given/ok.bak", bytes.NewReader(old), int64(len(old)), o); err != nil {
		t.Fatalf("Put with its parts: %v", err)
	}
	if !bytes.Equal(providertest.Content(t, c, "given/ok.bak"), old) {
		t.Error("content differs")
	}
	rewritten := append([]byte(nil), old...)
	rewritten[testChunk+10] ^= 0xff // the shop program wrote again, same size
	_, err = c.Put(t.Context(), "given/torn.bak", bytes.NewReader(rewritten), int64(len(rewritten)), o)
	if providers.ReasonOf(err) != providers.ReasonChecksum || providers.KindOf(err) != providers.Temporary {
		t.Errorf("Put of a source changed since it was hashed = %v, want a temporary checksum error", err)
	} else if !strings.Contains(err.Error(), "content_hash_mismatch") {
		t.Errorf("the changed chunk was not refused by Dropbox: %v", err)
	}
	if _, err := c.Stat(t.Context(), "given/torn.bak"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("a torn upload was committed: Stat = %v", err)
	}
	// Parts that are not Hash's are not trusted: the upload hashes itself.
	bad := o
	bad.Parts = append([]string{strings.Repeat("0", 64)}, o.Parts[1:]...)
	if _, err := c.Put(t.Context(), "given/selfhash.bak", bytes.NewReader(old), int64(len(old)), bad); err != nil {
		t.Errorf("Put with parts that do not make its hash: %v", err)
	}
}

// TestResumeWithGivenPartsReadsOnlyWhatIsLeft: a resumed upload that has
// its block hashes reads none of the chunks Dropbox acknowledged before,
// whether it reads the source into buffers or in place.
func TestResumeWithGivenPartsReadsOnlyWhatIsLeft(t *testing.T) {
	for _, inPlace := range []bool{false, true} {
		h := newHarness(t)
		c := h.client(t, testChunk)
		data := providertest.Data(21, 6*testChunk+3)
		hs, _ := providers.Hash(bytes.NewReader(data), providers.ContentHash)
		o := providers.PutOptions{Hash: hs.Sums[providers.ContentHash], Parts: hs.Parts[providers.ContentHash]}
		var saved []byte
		ctx, cancel := context.WithCancel(t.Context())
		first := o
		first.OnSession = func(s []byte) { saved = s }
		first.OnProgress = func(n int64) {
			if n >= 3*testChunk {
				cancel()
			}
		}
		if _, err := c.Put(ctx, "given/r.bak", bytes.NewReader(data), int64(len(data)), first); providers.KindOf(err) != providers.Canceled {
			t.Fatalf("first attempt: %v", err)
		}
		var st sessionState
		if err := json.Unmarshal(saved, &st); err != nil || st.Offset < testChunk {
			t.Fatalf("saved state %s: %v", saved, err)
		}
		src := &offsetReader{r: bytes.NewReader(data), lowest: -1}
		var body io.ReadSeeker = src
		if inPlace {
			body = &offsetReaderAt{src}
		}
		second := o
		second.Session = saved
		if _, err := c.Put(t.Context(), "given/r.bak", body, int64(len(data)), second); err != nil {
			t.Fatalf("resumed Put (in place %v): %v", inPlace, err)
		}
		if src.lowest < st.Offset {
			t.Errorf("in place %v: resumed upload read the source from %d, below the acknowledged %d", inPlace, src.lowest, st.Offset)
		}
		if !bytes.Equal(providertest.Content(t, c, "given/r.bak"), data) {
			t.Error("content differs")
		}
	}
}

// TestStreamedSourceEndingEarly: a source read in place (an io.ReaderAt,
// as a file is) that turns out shorter than announced fails the upload as
// a vanished source, and nothing is committed.
func TestStreamedSourceEndingEarly(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	data := providertest.Data(22, 3*testChunk+5)
	hs, _ := providers.Hash(bytes.NewReader(data), providers.ContentHash)
	o := providers.PutOptions{Hash: hs.Sums[providers.ContentHash], Parts: hs.Parts[providers.ContentHash]}
	short := bytes.NewReader(data[:2*testChunk+100]) // truncated by the shop program
	_, err := c.Put(t.Context(), "given/short.bak", short, int64(len(data)), o)
	if providers.ReasonOf(err) != providers.ReasonSourceGone || providers.KindOf(err) != providers.Permanent {
		t.Errorf("Put from a source that ends early = %v, want a permanent source-gone error", err)
	}
	if _, err := c.Stat(t.Context(), "given/short.bak"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("a short upload was committed: Stat = %v", err)
	}
	// The same source whole streams through.
	if _, err := c.Put(t.Context(), "given/whole.bak", bytes.NewReader(data), int64(len(data)), o); err != nil {
		t.Fatalf("streamed Put: %v", err)
	}
	if !bytes.Equal(providertest.Content(t, c, "given/whole.bak"), data) {
		t.Error("streamed content differs")
	}
}

// offsetReader remembers the lowest offset read from (-1: none yet).
type offsetReader struct {
	mu     sync.Mutex
	r      *bytes.Reader
	lowest int64
}

func (o *offsetReader) note(off int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lowest < 0 || off < o.lowest {
		o.lowest = off
	}
}

func (o *offsetReader) Read(p []byte) (int, error) {
	pos, _ := o.r.Seek(0, io.SeekCurrent)
	o.note(pos)
	return o.r.Read(p)
}

func (o *offsetReader) Seek(off int64, whence int) (int64, error) { return o.r.Seek(off, whence) }

// offsetReaderAt is an offsetReader that can be read in place.
type offsetReaderAt struct{ *offsetReader }

func (o *offsetReaderAt) ReadAt(p []byte, off int64) (int, error) {
	o.note(off)
	return o.r.ReadAt(p, off)
}

func TestConflictWithOtherContentReplaces(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	for i, n := range []int{500, 3*testChunk + 1} {
		name := []string{"x/small.bak", "x/big.bak"}[i]
		if _, err := put(t, c, name, providertest.Data(10, n), providers.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		v2 := providertest.Data(11, n)
		rf, err := put(t, c, name, v2, providers.PutOptions{})
		if err != nil || rf.Hash != contentHash(v2) {
			t.Fatalf("replace %s: %+v, %v", name, rf, err)
		}
	}
	if got := stored(h); strings.Join(got, " ") != "x/big.bak x/small.bak" {
		t.Errorf("stored %q", got)
	}
}

func TestExpiredSessionStartsOver(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	data := providertest.Data(4, 4*testChunk)
	var saved []byte
	ctx, cancel := context.WithCancel(t.Context())
	_, err := c.Put(ctx, "pos/e.bak", bytes.NewReader(data), int64(len(data)), providers.PutOptions{
		OnSession:  func(s []byte) { saved = s },
		OnProgress: func(n int64) { cancel() },
	})
	if providers.KindOf(err) != providers.Canceled || saved == nil {
		t.Fatalf("first attempt: %v, session %v", err, saved != nil)
	}
	h.control(t, "POST", "/_fakecloud/dropbox/sessions/expire", nil)
	var sessions int
	rf, err := put(t, c, "pos/e.bak", data, providers.PutOptions{
		Session:   saved,
		OnSession: func(s []byte) { sessions++ },
	})
	if err != nil {
		t.Fatalf("resume of an expired session: %v", err)
	}
	if rf.Size != int64(len(data)) || !bytes.Equal(providertest.Content(t, c, "pos/e.bak"), data) {
		t.Error("content differs")
	}
}

// TestSessionMissingDataStartsOver: a saved state that claims chunks the
// service does not have (a state from another run, a service that lost
// them) ends in a fresh session, not in a finish failing forever.
func TestSessionMissingDataStartsOver(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	data := providertest.Data(5, 3*testChunk+99)
	var saved []byte
	ctx, cancel := context.WithCancel(t.Context())
	_, err := c.Put(ctx, "pos/m.bak", bytes.NewReader(data), int64(len(data)), providers.PutOptions{
		Hash:       contentHash(data),
		OnSession:  func(s []byte) { saved = s },
		OnProgress: func(n int64) { cancel() },
	})
	if providers.KindOf(err) != providers.Canceled || saved == nil {
		t.Fatalf("first attempt: %v, session %v", err, saved != nil)
	}
	var st sessionState
	if err := json.Unmarshal(saved, &st); err != nil {
		t.Fatal(err)
	}
	st.Offset, st.Ahead = st.Size, nil // claims every chunk
	saved, _ = json.Marshal(st)
	ids := map[string]bool{}
	rf, err := c.Put(t.Context(), "pos/m.bak", bytes.NewReader(data), int64(len(data)), providers.PutOptions{
		Hash:    contentHash(data),
		Session: saved,
		OnSession: func(s []byte) {
			var now sessionState
			if json.Unmarshal(s, &now) == nil && now.ID != "" {
				ids[now.ID] = true
			}
		},
	})
	if err != nil {
		t.Fatalf("resume of a session missing data: %v", err)
	}
	if starts := len(ids); starts != 1 || ids[st.ID] || rf.Size != int64(len(data)) || !bytes.Equal(providertest.Content(t, c, "pos/m.bak"), data) {
		t.Errorf("new sessions %d, stored %+v", starts, rf)
	}
}

func TestExpiredAccessTokenIsRefreshed(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	file := c.tokens.Store().Path
	before, _ := os.ReadFile(file)
	h.control(t, "POST", "/_fakecloud/tokens/expire", map[string]string{"service": "dropbox"})
	// Twenty workers meet the expiry at once; each must carry on.
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			_, err := put(t, c, "many/"+string(rune('a'+i))+".bak", providertest.Data(uint64(i), 3000), providers.PutOptions{})
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatalf("Put after the access token expired: %v", err)
		}
	}
	after, _ := os.ReadFile(file)
	var tb, ta oauth2.Token
	json.Unmarshal(before, &tb)
	json.Unmarshal(after, &ta)
	if ta.AccessToken == "" || ta.AccessToken == tb.AccessToken || ta.RefreshToken != tb.RefreshToken {
		t.Errorf("token file not updated with the refreshed token")
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", st.Mode().Perm())
	}
}

func TestRevokedLoginIsFatal(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	h.control(t, "POST", "/_fakecloud/tokens/revoke", map[string]any{"service": "dropbox", "revoked": true})
	_, err := put(t, c, "pos/a.bak", []byte("abc"), providers.PutOptions{})
	if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonAuth {
		t.Fatalf("Put with a revoked login = %v (kind %v), want Fatal/auth", err, providers.KindOf(err))
	}
	if !strings.Contains(providers.HintOf(err), "offsite auth cloud") {
		t.Errorf("hint %q does not say how to log in", providers.HintOf(err))
	}
	if strings.Contains(err.Error(), "fake-refresh") || strings.Contains(err.Error(), "fake-dropbox") {
		t.Errorf("error leaks a token: %v", err)
	}
}

func TestQuotaFullIsFatal(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	h.control(t, "POST", "/_fakecloud/quota", map[string]any{"service": "dropbox", "bytes": 1000})
	for _, n := range []int{5000, 2*testChunk + 1} {
		_, err := put(t, c, "pos/full.bak", providertest.Data(5, n), providers.PutOptions{})
		if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonQuota {
			t.Fatalf("Put of %d bytes over quota = %v, want Fatal/quota", n, err)
		}
	}
	if got := stored(h); len(got) != 0 {
		t.Errorf("stored %q", got)
	}
	used, total, err := c.Quota(t.Context())
	if err != nil || used != 0 || total != 1000 {
		t.Errorf("Quota = %d, %d, %v", used, total, err)
	}
}

func TestSessionStateIsNotLeaked(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	data := providertest.Data(6, 3*testChunk)
	var saved []byte
	r := &failAt{r: bytes.NewReader(data), at: 2 * testChunk}
	_, err := c.Put(t.Context(), "pos/s.bak", r, int64(len(data)), providers.PutOptions{OnSession: func(s []byte) { saved = s }})
	var st sessionState
	if err == nil || json.Unmarshal(saved, &st) != nil || st.ID == "" {
		t.Fatalf("Put = %v, session %s", err, saved)
	}
	if strings.Contains(err.Error(), st.ID) {
		t.Errorf("error carries the session id: %v", err)
	}
	// A session saved for another path is not used.
	st.Path = "/elsewhere"
	other, _ := json.Marshal(st)
	if _, err := put(t, c, "pos/s.bak", data, providers.PutOptions{Session: other}); err != nil {
		t.Fatal(err)
	}
}

func TestPathsAreUnderFolderAndCaseInsensitive(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	if _, err := put(t, c, "Pos/Day.BAK", []byte("hello"), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := c.Stat(t.Context(), "pos/day.bak")
	if err != nil || st.Size != 5 {
		t.Fatalf("Stat in other case = %+v, %v", st, err)
	}
	if got := h.srv.Files(); len(got) != 1 || got[0].Path != "Backups/Shop1/Pos/Day.BAK" {
		t.Errorf("stored %+v", got)
	}
	_, err = put(t, c, "pos/desktop.ini", []byte("x"), providers.PutOptions{})
	if providers.KindOf(err) != providers.Permanent || providers.ReasonOf(err) != providers.ReasonName {
		t.Errorf("disallowed name = %v", err)
	}
	if _, err := c.Stat(t.Context(), "pos/none"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Stat of a missing file = %v", err)
	}
}

// failAt fails reads from offset at on.
type failAt struct {
	r  *bytes.Reader
	at int64
}

func (f *failAt) Read(p []byte) (int, error) {
	pos, _ := f.r.Seek(0, 1)
	if pos >= f.at {
		return 0, errors.New("disk gone")
	}
	return f.r.Read(p[:min(int64(len(p)), f.at-pos)])
}

func (f *failAt) Seek(off int64, whence int) (int64, error) { return f.r.Seek(off, whence) }

// A file Dropbox only takes for the same name (other case) is another
// file: Put refuses it as a name error and leaves it as it is, in one
// request and through a session alike.
func TestOtherCaseIsNeverReplaced(t *testing.T) {
	h := newHarness(t)
	c := h.client(t, testChunk)
	for i, n := range []int{500, 3*testChunk + 1} {
		first, second := fmt.Sprintf("x/Kassa%d.bak", i), fmt.Sprintf("x/kassa%d.bak", i)
		v1 := providertest.Data(20, n)
		if _, err := put(t, c, first, v1, providers.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := put(t, c, second, providertest.Data(21, n), providers.PutOptions{})
		if providers.KindOf(err) != providers.Permanent || providers.ReasonOf(err) != providers.ReasonName ||
			!strings.Contains(err.Error(), first[2:]) {
			t.Errorf("Put %s over %s = %v; want a Permanent name error naming %s", second, first, err, first[2:])
		}
		if got := providertest.Content(t, c, first); !bytes.Equal(got, v1) {
			t.Errorf("%s was replaced", first)
		}
	}
}

// Replacing updates the revision Put looked at: a file written there
// between the look and the write is not lost, and the upload is tried
// again (Temporary), never counted done.
func TestReplaceIsByRevision(t *testing.T) {
	h := newHarness(t)
	var other *Client
	var fired atomic.Bool
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mux.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/files/get_metadata") {
			// Another writer stores a new revision right after the look.
			if fired.CompareAndSwap(false, true) {
				if _, err := put(t, other, "x/r.bak", providertest.Data(32, 700), providers.PutOptions{}); err != nil {
					t.Errorf("other writer: %v", err)
				}
			}
		}
	}))
	t.Cleanup(ts.Close)
	endpoint := func(c *Config) { c.Endpoint = ts.URL }
	c := h.client(t, testChunk)
	if _, err := put(t, c, "x/r.bak", providertest.Data(30, 500), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	other = h.client(t, testChunk, endpoint)
	racing := h.client(t, testChunk, endpoint)
	_, err := put(t, racing, "x/r.bak", providertest.Data(31, 600), providers.PutOptions{})
	if err == nil || providers.KindOf(err) != providers.Temporary {
		t.Errorf("replace racing another writer = %v; want Temporary", err)
	}
	if got := providertest.Content(t, c, "x/r.bak"); !bytes.Equal(got, providertest.Data(32, 700)) {
		t.Errorf("the other writer's revision was overwritten")
	}
}
