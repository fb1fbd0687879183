package fakecloud

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type fakeSvc struct{}

func (fakeSvc) Name() string  { return "drive" }
func (fakeSvc) Files() []File { return []File{{Path: "a", Size: 1}} }
func (fakeSvc) ErrorBody(status int) (string, []byte) {
	return "application/json", []byte(`{"error":{"code":` + http.StatusText(status) + `}}`)
}

func newServer(t *testing.T) (*Cloud, *httptest.Server) {
	c := New(0)
	c.Register(fakeSvc{})
	mux := http.NewServeMux()
	mux.Handle("/_fakecloud/", c.ControlHandler())
	mux.Handle("/drive/", c.Wrap("drive", true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return c, srv
}

func TestFaultTimesRetryAfterAndStats(t *testing.T) {
	_, srv := newServer(t)
	resp, err := http.Post(srv.URL+"/_fakecloud/faults", "application/json",
		strings.NewReader(`{"service":"any","path":"/drive/x","status":429,"retry_after":"2s","times":2}`))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatal(err, resp.Status)
	}
	var got []string
	for range 3 {
		resp, err := http.Post(srv.URL+"/drive/x", "application/octet-stream", bytes.NewReader(make([]byte, 10)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got = append(got, resp.Status+"/"+resp.Header.Get("Retry-After"))
	}
	want := "[429 Too Many Requests/2 429 Too Many Requests/2 200 OK/]"
	if s := strings.Join(strings.Fields(strings.Join(got, " ")), " "); "["+s+"]" != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	resp, _ = http.Get(srv.URL + "/_fakecloud/stats")
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"requests":3`) || !strings.Contains(string(body), `"upload_bytes":30`) {
		t.Fatalf("stats %s", body)
	}
}

func TestResetAfterBytesDropsConnection(t *testing.T) {
	c, srv := newServer(t)
	c.AddFault(Fault{Service: "drive", ResetAfterBytes: 100, Times: 1})
	_, err := http.Post(srv.URL+"/drive/x", "application/octet-stream", bytes.NewReader(make([]byte, 1000)))
	if err == nil {
		t.Fatal("request survived a reset")
	}
	resp, err := http.Post(srv.URL+"/drive/x", "application/octet-stream", bytes.NewReader(make([]byte, 10)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatal("fault did not clear after its one time", err)
	}
}

func TestTokens(t *testing.T) {
	c, _ := newServer(t)
	tok, _ := c.IssueToken("drive")
	r := httptest.NewRequest("GET", "/drive/v3/files", nil)
	if c.CheckToken("drive", r) != TokenMissing {
		t.Error("no header should be missing")
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	if c.CheckToken("drive", r) != TokenOK || c.CheckToken("dropbox", r) != TokenInvalid {
		t.Error("token not scoped to its service")
	}
	c.ExpireTokens("drive")
	if c.CheckToken("drive", r) != TokenExpired {
		t.Error("expired token accepted")
	}
	c.RevokeRefresh("drive", true)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/token", strings.NewReader("grant_type=refresh_token&refresh_token=r1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c.TokenHandler("drive").ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "invalid_grant") {
		t.Errorf("revoked refresh = %d %s", rec.Code, rec.Body)
	}
}

func TestHangAnswersNothingUntilCleared(t *testing.T) {
	_, srv := newServer(t)
	resp, err := http.Post(srv.URL+"/_fakecloud/faults", "application/json", strings.NewReader(`{"service":"drive","hang":true}`))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatal(err, resp.Status)
	}
	// A client that gives up gets nothing, and the server lets go of it
	// (srv.Close in the cleanup would wait for a handler still hanging).
	hc := &http.Client{Timeout: 200 * time.Millisecond}
	if resp, err := hc.Post(srv.URL+"/drive/x", "application/octet-stream", strings.NewReader("abc")); err == nil {
		resp.Body.Close()
		t.Fatalf("a hanging service answered %s", resp.Status)
	}
	// One that waits is served once the fault is cleared.
	got := make(chan string, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/drive/y", "application/octet-stream", strings.NewReader("abc"))
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- resp.Status + " " + string(b)
	}()
	select {
	case g := <-got:
		t.Fatalf("answered while the hang fault was set: %s", g)
	case <-time.After(300 * time.Millisecond):
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/_fakecloud/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatal(err, resp.Status)
	}
	select {
	case g := <-got:
		if g != "200 OK ok" {
			t.Fatalf("after clearing: %s, want 200 OK ok", g)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still hanging after the faults were cleared")
	}
}

// A client that gives up on a hanging request is let go of: nothing is
// left waiting for the faults to be cleared.
func TestHangLetsGoOfAClientThatGivesUp(t *testing.T) {
	_, srv := newServer(t)
	resp, err := http.Post(srv.URL+"/_fakecloud/faults", "application/json", strings.NewReader(`{"service":"drive","hang":true}`))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatal(err, resp.Status)
	}
	hc := &http.Client{Timeout: 200 * time.Millisecond}
	for _, body := range []io.Reader{nil, strings.NewReader("a request body")} {
		if resp, err := hc.Post(srv.URL+"/drive/x", "application/octet-stream", body); err == nil {
			resp.Body.Close()
			t.Fatalf("a hanging service answered %s", resp.Status)
		}
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }() // waits for every handler
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("a handler still hangs for a client that gave up")
	}
}

// corrupt_body flips one bit, at an offset and bit drawn from its seed:
// the same seed damages the same place of every body.
func TestCorruptBodyFlipsOneSeededBit(t *testing.T) {
	c := New(0)
	var got [][]byte
	h := c.Wrap("drive", true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, b)
	}))
	body := bytes.Repeat([]byte{0x55}, 640<<10)
	send := func() {
		req := httptest.NewRequest("PUT", "/drive/x", bytes.NewReader(body))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	diff := func(b []byte) (offs []int, bits byte) {
		for i := range b {
			if b[i] != body[i] {
				offs = append(offs, i)
				bits = b[i] ^ body[i]
			}
		}
		return offs, bits
	}
	for _, seed := range []uint64{1, 1, 2} {
		c.AddFault(Fault{Service: "drive", CorruptBody: true, Seed: seed, Times: 1})
		send()
	}
	send() // no fault left: stored as sent
	var offsets []int
	for i, b := range got[:3] {
		offs, bits := diff(b)
		if len(offs) != 1 || bits&(bits-1) != 0 {
			t.Fatalf("body %d: %d bytes differ (xor %08b), want exactly one bit", i, len(offs), bits)
		}
		offsets = append(offsets, offs[0])
	}
	if offsets[0] != offsets[1] {
		t.Errorf("seed 1 flipped offsets %d and %d, want the same place", offsets[0], offsets[1])
	}
	if offsets[0] == offsets[2] || offsets[0] == 0 {
		t.Errorf("offsets %v: seeds 1 and 2 should pick different places, away from the first byte", offsets)
	}
	if offs, _ := diff(got[3]); len(offs) != 0 {
		t.Errorf("a body after the fault was used up was damaged")
	}
}
