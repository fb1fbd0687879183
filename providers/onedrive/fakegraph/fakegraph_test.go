package fakegraph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers"
)

type fixture struct {
	t     *testing.T
	cloud *fakecloud.Cloud
	srv   *httptest.Server
	token string
	dir   string
}

func start(t *testing.T, dir string) *fixture {
	t.Helper()
	cloud := fakecloud.New(time.Hour)
	mux := http.NewServeMux()
	mux.Handle("/_fakecloud/", cloud.ControlHandler())
	s, err := New(cloud, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tok, _ := cloud.IssueToken("onedrive")
	return &fixture{t: t, cloud: cloud, srv: srv, token: tok, dir: dir}
}

// do sends a request; auth adds the bearer token. It returns status and body.
func (f *fixture) do(method, url string, body []byte, auth bool, hdr ...string) (int, []byte, http.Header) {
	f.t.Helper()
	if strings.HasPrefix(url, "/") {
		url = f.srv.URL + url
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if auth {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func errorCodes(b []byte) string {
	var e struct {
		Error struct {
			Code  string `json:"code"`
			Inner *struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	json.Unmarshal(b, &e)
	if e.Error.Inner != nil && e.Error.Inner.Code != "" {
		return e.Error.Code + "/" + e.Error.Inner.Code
	}
	return e.Error.Code
}

func expect(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || (wantCode != "" && errorCodes(body) != wantCode) {
		t.Fatalf("%s: HTTP %d %s, want %d %s", what, status, body, wantStatus, wantCode)
	}
}

func TestAuthRequired(t *testing.T) {
	f := start(t, t.TempDir())
	st, b, _ := f.do("GET", "/v1.0/me/drive", nil, false)
	expect(t, "no token", st, b, 401, "unauthenticated")
	f.cloud.ExpireTokens("onedrive")
	st, b, _ = f.do("GET", "/v1.0/me/drive", nil, true)
	expect(t, "expired token", st, b, 401, "InvalidAuthenticationToken")
}

func TestFoldersAndConflicts(t *testing.T) {
	f := start(t, t.TempDir())
	mk := func(name, conflict string) (int, []byte) {
		body := fmt.Sprintf(`{"name":%q,"folder":{},"@microsoft.graph.conflictBehavior":%q}`, name, conflict)
		st, b, _ := f.do("POST", "/v1.0/me/drive/root/children", []byte(body), true)
		return st, b
	}
	st, b := mk("Backups", "fail")
	expect(t, "create", st, b, 201, "")
	st, b = mk("BACKUPS", "fail")
	expect(t, "create again, other case", st, b, 409, "nameAlreadyExists")
	st, b = mk("backups", "rename")
	if st != 201 || !strings.Contains(string(b), `"name":"backups 1"`) {
		t.Fatalf("rename: %d %s", st, b)
	}
	st, b = mk("bad:name", "fail")
	expect(t, "bad name", st, b, 400, "invalidRequest")
	st, b, _ = f.do("GET", "/v1.0/me/drive/root:/backups", nil, true)
	if st != 200 || !strings.Contains(string(b), `"name":"Backups"`) {
		t.Fatalf("case-insensitive get: %d %s", st, b)
	}
}

func TestSimpleUploadDownloadDelete(t *testing.T) {
	f := start(t, t.TempDir())
	data := []byte("hello, offsite")
	st, b, _ := f.do("PUT", "/v1.0/me/drive/root:/a.bak:/content?@microsoft.graph.conflictBehavior=fail", data, true)
	expect(t, "put", st, b, 201, "")
	var it struct {
		Size json.Number `json:"size"`
		File struct {
			Hashes struct{ QuickXorHash string } `json:"hashes"`
		} `json:"file"`
	}
	json.Unmarshal(b, &it)
	h, _, _ := providers.HashReader(bytes.NewReader(data), providers.QuickXor)
	if it.Size != "14" || it.File.Hashes.QuickXorHash != h[providers.QuickXor] {
		t.Fatalf("driveItem %s", b)
	}
	st, b, _ = f.do("PUT", "/v1.0/me/drive/root:/A.BAK:/content?@microsoft.graph.conflictBehavior=fail", data, true)
	expect(t, "put fail on conflict", st, b, 409, "nameAlreadyExists")
	st, b, _ = f.do("PUT", "/v1.0/me/drive/root:/nofolder/a.bak:/content", data, true)
	expect(t, "put into a missing folder", st, b, 404, "itemNotFound")

	st, _, hdr := f.do("GET", "/v1.0/me/drive/root:/a.bak:/content", nil, true)
	if st != 302 || hdr.Get("Location") == "" {
		t.Fatalf("download: %d, Location %q", st, hdr.Get("Location"))
	}
	st, b, _ = f.do("GET", hdr.Get("Location"), nil, true)
	if st != 200 || !bytes.Equal(b, data) {
		t.Fatalf("download following the redirect with the token still set: %d %q", st, b)
	}
	st, b, _ = f.do("GET", hdr.Get("Location"), nil, false)
	if st != 200 || !bytes.Equal(b, data) {
		t.Fatalf("download: %d %q", st, b)
	}
	st, b, _ = f.do("DELETE", "/v1.0/me/drive/root:/a.bak:", nil, true)
	expect(t, "delete", st, b, 204, "")
	st, b, _ = f.do("DELETE", "/v1.0/me/drive/root:/a.bak:", nil, true)
	expect(t, "delete again", st, b, 404, "itemNotFound")
}

func TestChildrenPaging(t *testing.T) {
	f := start(t, t.TempDir())
	for i := range 5 {
		f.do("PUT", fmt.Sprintf("/v1.0/me/drive/root:/f%d.bak:/content", i), []byte("x"), true)
	}
	var names []string
	next := "/v1.0/me/drive/root/children?$top=2"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		st, b, _ := f.do("GET", next, nil, true)
		expect(t, "list", st, b, 200, "")
		var page struct {
			Value []struct{ Name string } `json:"value"`
			Next  string                  `json:"@odata.nextLink"`
		}
		json.Unmarshal(b, &page)
		for _, v := range page.Value {
			names = append(names, v.Name)
		}
		next = page.Next
	}
	if fmt.Sprint(names) != "[f0.bak f1.bak f2.bak f3.bak f4.bak]" {
		t.Fatalf("names %v", names)
	}
}

func (f *fixture) session(path string) string {
	f.t.Helper()
	st, b, _ := f.do("POST", "/v1.0/me/drive/root:/"+path+":/createUploadSession",
		[]byte(`{"item":{"@microsoft.graph.conflictBehavior":"fail"}}`), true)
	expect(f.t, "create session", st, b, 200, "")
	var s struct{ UploadURL string }
	json.Unmarshal(b, &s)
	if !strings.HasPrefix(s.UploadURL, f.srv.URL+"/_graph/upload/") {
		f.t.Fatalf("uploadUrl %q is not absolute on the emulator", s.UploadURL)
	}
	return s.UploadURL
}

func (f *fixture) fragment(url string, data []byte, start, total int64) (int, []byte) {
	f.t.Helper()
	st, b, _ := f.do("PUT", url, data, false, "Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+int64(len(data))-1, total))
	return st, b
}

func TestUploadSessionRules(t *testing.T) {
	dir := t.TempDir()
	f := start(t, dir)
	data := make([]byte, 2*FragmentUnit+100)
	for i := range data {
		data[i] = byte(i * 7)
	}
	total := int64(len(data))
	url := f.session("big.bak")

	st, b, _ := f.do("PUT", url, data[:FragmentUnit], true, "Content-Range", fmt.Sprintf("bytes 0-%d/%d", FragmentUnit-1, total))
	expect(t, "fragment with Authorization", st, b, 401, "")
	st, b = f.fragment(url, data[:1000], 0, total)
	expect(t, "fragment not a multiple of 320 KiB", st, b, 400, "invalidRequest")
	st, b = f.fragment(url, data[FragmentUnit:2*FragmentUnit], FragmentUnit, total)
	expect(t, "out of order", st, b, 416, "invalidRange/fragmentOutOfOrder")
	st, b = f.fragment(url, data[:FragmentUnit], 0, total)
	if st != 202 || !strings.Contains(string(b), fmt.Sprintf(`"nextExpectedRanges":["%d-"]`, FragmentUnit)) {
		t.Fatalf("first fragment: %d %s", st, b)
	}
	st, b = f.fragment(url, data[:FragmentUnit], 0, total)
	expect(t, "overlap", st, b, 416, "invalidRange/fragmentOverlap")
	st, b = f.fragment(url, data[FragmentUnit:2*FragmentUnit], FragmentUnit, total+1)
	expect(t, "changed total", st, b, 400, "invalidRequest")

	// A restart keeps the session and what it received.
	f.srv.Close()
	f = start(t, dir)
	url = strings.Replace(url, url[:strings.Index(url, "/_graph/")], f.srv.URL, 1)
	st, b, _ = f.do("GET", url, nil, false)
	if st != 200 || !strings.Contains(string(b), fmt.Sprintf(`["%d-"]`, FragmentUnit)) {
		t.Fatalf("status after restart: %d %s", st, b)
	}
	st, b = f.fragment(url, data[FragmentUnit:2*FragmentUnit], FragmentUnit, total)
	expect(t, "second fragment", st, b, 202, "")
	st, b = f.fragment(url, data[2*FragmentUnit:], 2*FragmentUnit, total)
	expect(t, "last fragment", st, b, 201, "")
	if !strings.Contains(string(b), fmt.Sprintf(`"size":%d`, total)) {
		t.Fatalf("final driveItem %s", b)
	}
	st, b, _ = f.do("GET", url, nil, false)
	expect(t, "finished session", st, b, 404, "itemNotFound/uploadSessionNotFound")

	url = f.session("other.bak")
	st, _, _ = f.do("DELETE", url, nil, false)
	if st != 204 {
		t.Fatalf("cancel: %d", st)
	}
}

func TestQuota(t *testing.T) {
	f := start(t, t.TempDir())
	f.cloud.SetQuota("onedrive", 100)
	st, b, _ := f.do("PUT", "/v1.0/me/drive/root:/a.bak:/content", make([]byte, 101), true)
	expect(t, "over quota", st, b, 507, "quotaLimitReached")
	f.do("PUT", "/v1.0/me/drive/root:/a.bak:/content", make([]byte, 60), true)
	st, b, _ = f.do("GET", "/v1.0/me/drive", nil, true)
	if st != 200 || !strings.Contains(string(b), `"quota":{"deleted":0,"remaining":40,"state":"normal","total":100,"used":60}`) {
		t.Fatalf("drive: %d %s", st, b)
	}
}

func TestDriveByID(t *testing.T) {
	f := start(t, t.TempDir())
	_, b, _ := f.do("GET", "/v1.0/me/drive", nil, true)
	var d struct{ ID string }
	json.Unmarshal(b, &d)
	st, b, _ := f.do("GET", "/v1.0/drives/"+d.ID+"/root:/", nil, true)
	expect(t, "root by drive id", st, b, 200, "")
	st, b, _ = f.do("GET", "/v1.0/drives/nope/root", nil, true)
	expect(t, "unknown drive", st, b, 404, "itemNotFound")
}

func TestErrorBodies(t *testing.T) {
	s := &Server{}
	for status, want := range map[int]string{
		429: "activityLimitReached/throttledRequest", 503: "serviceNotAvailable", 500: "generalException",
		401: "InvalidAuthenticationToken", 507: "quotaLimitReached",
	} {
		ct, b := s.ErrorBody(status)
		if ct != "application/json" || errorCodes(b) != want {
			t.Errorf("ErrorBody(%d) = %s %s, want %s", status, ct, b, want)
		}
	}
}

func TestTenantIDLogin(t *testing.T) {
	cloud := fakecloud.New(0)
	s, err := New(cloud, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/_fakecloud/", cloud.ControlHandler())
	s.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.PostForm(srv.URL+"/8a1f3c2e-1111-2222-3333-444455556666/oauth2/v2.0/token",
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("token for a tenant id: %s", resp.Status)
	}
	if resp, _ := http.Get(srv.URL + "/nothing/here"); resp.StatusCode != 404 {
		t.Fatalf("unknown path: %s", resp.Status)
	}
}

// The uploadUrl has OneDrive for Business's form: outside /v1.0 and
// pre-authenticated by a tempauth parameter, which is how a client such
// as rclone knows not to send its Graph token there. The parameter is the
// credential: without it, or with another session's, the URL is refused;
// a bearer token beside it is refused too.
func TestUploadURLTempAuth(t *testing.T) {
	f := start(t, t.TempDir())
	raw := f.session("a.bak")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	tok := u.Query().Get("tempauth")
	if strings.HasPrefix(u.Path, "/v1.0/") || tok == "" {
		t.Fatalf("uploadUrl %q: want a path outside /v1.0 with a tempauth parameter", raw)
	}
	other, _ := url.Parse(f.session("b.bak"))
	if other.Query().Get("tempauth") == tok {
		t.Fatalf("two sessions share tempauth %q", tok)
	}
	bare := f.srv.URL + u.Path
	wrong := bare + "?tempauth=" + other.Query().Get("tempauth")
	data := []byte("hello")
	for _, c := range []struct {
		name string
		url  string
		auth bool
	}{{"no tempauth", bare, false}, {"another session's tempauth", wrong, false}, {"no tempauth, bearer token", bare, true}, {"tempauth and bearer token", raw, true}} {
		st, b, _ := f.do("PUT", c.url, data, c.auth, "Content-Range", "bytes 0-4/5")
		expect(t, c.name, st, b, 401, "unauthenticated")
		st, b, _ = f.do("GET", c.url, nil, c.auth)
		expect(t, c.name+" (status)", st, b, 401, "unauthenticated")
	}
	st, b, _ := f.do("GET", raw, nil, false)
	if st != 200 || !strings.Contains(string(b), `"nextExpectedRanges":["0-"]`) {
		t.Fatalf("status with tempauth: %d %s (refused requests moved the session)", st, b)
	}
	st, b = f.fragment(raw, data, 0, 5)
	expect(t, "fragment with tempauth only", st, b, 201, "")
}

// tornBody yields n bytes of b and then fails, as a connection cut mid-fragment.
type tornBody struct {
	b []byte
	n int
}

func (r *tornBody) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.ErrClosedPipe
	}
	k := copy(p, r.b[:min(r.n, len(r.b))])
	r.b, r.n = r.b[k:], r.n-k
	return k, nil
}

// The hashes of a fragmented upload are taken as the fragments arrive; a
// torn fragment or a restart mid-session must still give the hashes of
// the bytes stored, in the answer and in the control API.
func TestSessionHashesSurviveATornFragmentAndARestart(t *testing.T) {
	dir := t.TempDir()
	f := start(t, dir)
	data := make([]byte, 4*FragmentUnit+123)
	for i := range data {
		data[i] = byte(i*31 + i/1000)
	}
	total := int64(len(data))
	want, _, _ := providers.HashReader(bytes.NewReader(data), providers.QuickXor, providers.SHA256)
	check := func(what string, b []byte, path string) {
		t.Helper()
		var it struct {
			File struct {
				Hashes struct{ QuickXorHash string } `json:"hashes"`
			} `json:"file"`
		}
		json.Unmarshal(b, &it)
		if it.File.Hashes.QuickXorHash != want[providers.QuickXor] {
			t.Fatalf("%s: quickXorHash %q, want %q", what, it.File.Hashes.QuickXorHash, want[providers.QuickXor])
		}
		_, lb, _ := f.do("GET", "/_fakecloud/files?service=onedrive", nil, false)
		var files []fakecloud.File
		json.Unmarshal(lb, &files)
		for _, fl := range files {
			if fl.Path == path {
				if fl.SHA256 != want[providers.SHA256] || fl.Size != total {
					t.Fatalf("%s: control API has %+v, want SHA-256 %s", what, fl, want[providers.SHA256])
				}
				return
			}
		}
		t.Fatalf("%s: %s not listed: %s", what, path, lb)
	}

	// A fragment cut after some of its bytes stores none of them.
	url := f.session("torn.bak")
	st, b := f.fragment(url, data[:FragmentUnit], 0, total)
	expect(t, "first fragment", st, b, 202, "")
	req, _ := http.NewRequest("PUT", url, &tornBody{b: data[FragmentUnit : 2*FragmentUnit], n: FragmentUnit / 2})
	req.ContentLength = FragmentUnit
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", FragmentUnit, 2*FragmentUnit-1, total))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("torn fragment answered %d", resp.StatusCode)
	}
	st, b = f.fragment(url, data[FragmentUnit:2*FragmentUnit], FragmentUnit, total)
	for st == 416 { // the server may not have seen the cut yet
		time.Sleep(10 * time.Millisecond)
		st, b = f.fragment(url, data[FragmentUnit:2*FragmentUnit], FragmentUnit, total)
	}
	expect(t, "fragment sent again", st, b, 202, "")
	st, b = f.fragment(url, data[2*FragmentUnit:], 2*FragmentUnit, total)
	expect(t, "last fragment", st, b, 201, "")
	check("after a torn fragment", b, "torn.bak")

	// A restart loses the running hash; the commit reads the file back.
	url = f.session("restart.bak")
	st, b = f.fragment(url, data[:2*FragmentUnit], 0, total)
	expect(t, "first fragment", st, b, 202, "")
	f.srv.Close()
	f = start(t, dir)
	url = strings.Replace(url, url[:strings.Index(url, "/_graph/")], f.srv.URL, 1)
	st, b = f.fragment(url, data[2*FragmentUnit:], 2*FragmentUnit, total)
	expect(t, "last fragment after a restart", st, b, 201, "")
	check("after a restart", b, "restart.bak")

	// In one go, and as a simple upload.
	url = f.session("whole.bak")
	st, b = f.fragment(url, data, 0, total)
	expect(t, "one fragment", st, b, 201, "")
	check("in one fragment", b, "whole.bak")
	st, b, _ = f.do("PUT", "/v1.0/me/drive/root:/simple.bak:/content", data, true)
	expect(t, "simple upload", st, b, 201, "")
	check("simple upload", b, "simple.bak")
}
