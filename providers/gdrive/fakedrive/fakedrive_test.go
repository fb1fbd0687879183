package fakedrive

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/offsite-backup/offsite/internal/fakecloud"
)

type env struct {
	cloud *fakecloud.Cloud
	srv   *httptest.Server
	drive *Server
	token string
	svc   *drive.Service
	dir   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{cloud: fakecloud.New(0), dir: t.TempDir()}
	e.start(t)
	return e
}

// start (re)opens the emulator over e.dir, as a restarted process would.
func (e *env) start(t *testing.T) {
	t.Helper()
	d, err := New(e.cloud, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/_fakecloud/", e.cloud.ControlHandler())
	d.Register(mux)
	e.drive = d
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.token, _ = e.cloud.IssueToken("drive")
	hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.token})}}
	e.svc, err = drive.NewService(t.Context(), option.WithEndpoint(e.srv.URL+"/drive/v3/"), option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) do(t *testing.T, method, path string, body []byte, hdr map[string]string) *http.Response {
	t.Helper()
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.srv.URL + path
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func data(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

func (e *env) mkdir(t *testing.T, name, parent string) string {
	t.Helper()
	f, err := e.svc.Files.Create(&drive.File{Name: name, MimeType: folderMime, Parents: []string{parent}}).Fields("id").Do()
	if err != nil {
		t.Fatalf("create folder %s: %v", name, err)
	}
	return f.Id
}

func TestGoClientRoundTrip(t *testing.T) {
	e := newEnv(t)
	backups := e.mkdir(t, "Backups", "root")
	shop := e.mkdir(t, "Shop1", backups)

	const chunk = googleapi.MinUploadChunkSize // 256 KiB
	sizes := map[string]int{
		"small.bak": 1000,           // multipart
		"odd.bak":   3*chunk + 1234, // resumable, 4 chunks
		"exact.bak": 2 * chunk,      // resumable, empty final chunk "bytes */N"
		"empty.bak": 0,              // multipart with no bytes
	}
	for name, n := range sizes {
		f, err := e.svc.Files.Create(&drive.File{Name: name, Parents: []string{shop}}).
			Media(bytes.NewReader(data(n)), googleapi.ChunkSize(chunk)).
			Fields("id,name,size,md5Checksum").Do()
		if err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
		if f.Size != int64(n) || f.Md5Checksum != md5hex(data(n)) {
			t.Errorf("upload %s: size %d md5 %s, want %d %s", name, f.Size, f.Md5Checksum, n, md5hex(data(n)))
		}
	}
	st := e.cloud.StatsOf("drive")
	if want := int64(3*chunk + 1234 + 2*chunk + 1000); st.UploadBytes < want {
		t.Errorf("upload bytes %d < %d", st.UploadBytes, want)
	}

	list, err := e.svc.Files.List().Q(fmt.Sprintf("'%s' in parents and trashed=false", shop)).
		Fields("nextPageToken,files(id,name,size,md5Checksum)").PageSize(2).Do()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]*drive.File{}
	for {
		for _, f := range list.Files {
			seen[f.Name] = f
		}
		if list.NextPageToken == "" {
			break
		}
		if list, err = e.svc.Files.List().Q(fmt.Sprintf("'%s' in parents", shop)).
			Fields("nextPageToken,files(id,name,size,md5Checksum)").PageSize(2).PageToken(list.NextPageToken).Do(); err != nil {
			t.Fatal(err)
		}
	}
	for name, n := range sizes {
		f := seen[name]
		if f == nil || f.Size != int64(n) || f.Md5Checksum != md5hex(data(n)) {
			t.Fatalf("list: %s = %+v", name, f)
		}
		resp, err := e.svc.Files.Get(f.Id).Download()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, data(n)) {
			t.Errorf("download %s: %d bytes differ", name, len(got))
		}
	}
	files := e.drive.Files()
	if len(files) != 4 || files[0].Path != "Backups/Shop1/empty.bak" {
		t.Errorf("Files() = %+v", files)
	}

	about, err := e.svc.About.Get().Fields("storageQuota").Do()
	if err != nil {
		t.Fatal(err)
	}
	if about.StorageQuota.Limit != fakecloud.DefaultQuota || about.StorageQuota.Usage != int64(1000+5*chunk+1234) {
		t.Errorf("about = %+v", about.StorageQuota)
	}

	if err := e.svc.Files.Delete(seen["odd.bak"].Id).Do(); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Files.Get(seen["odd.bak"].Id).Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 404 || ge.Errors[0].Reason != "notFound" {
		t.Fatalf("get after delete = %v", err)
	}
	// Deleting a folder takes its contents with it.
	if err := e.svc.Files.Delete(backups).Do(); err != nil {
		t.Fatal(err)
	}
	if files := e.drive.Files(); len(files) != 0 {
		t.Errorf("after deleting the folder: %+v", files)
	}
}

func TestListDefaultFieldsQueryAndEscaping(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"it's.bak", `back\slash.bak`, "plain.bak"} {
		if _, err := e.svc.Files.Create(&drive.File{Name: name}).Media(bytes.NewReader([]byte("x"))).Do(); err != nil {
			t.Fatal(err)
		}
	}
	e.mkdir(t, "folder", "root")
	resp := e.do(t, "GET", "/drive/v3/files", nil, nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.Contains(string(body), "md5Checksum") || strings.Contains(string(body), `"size"`) {
		t.Errorf("list without fields = %d %s; want no size or md5", resp.StatusCode, body)
	}

	cases := []struct {
		q    string
		want []string
	}{
		{`name = 'it\'s.bak'`, []string{"it's.bak"}},
		{`name = 'back\\slash.bak' and trashed = false`, []string{`back\slash.bak`}},
		{`mimeType = 'application/vnd.google-apps.folder'`, []string{"folder"}},
		{`mimeType != 'application/vnd.google-apps.folder' and (name = 'plain.bak' or name contains 'slash')`, []string{`back\slash.bak`, "plain.bak"}},
		{`'root' in parents and not name = 'plain.bak' and mimeType != 'application/vnd.google-apps.folder'`, []string{`back\slash.bak`, "it's.bak"}},
	}
	for _, c := range cases {
		list, err := e.svc.Files.List().Q(c.q).Fields("files(name,size)").Do()
		if err != nil {
			t.Fatalf("%s: %v", c.q, err)
		}
		var got []string
		for _, f := range list.Files {
			got = append(got, f.Name)
			if f.Size != 1 && f.MimeType != folderMime && f.Name != "folder" {
				t.Errorf("%s: %s size %d", c.q, f.Name, f.Size)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("q %s = %q, want %q", c.q, got, c.want)
		}
	}
	_, err := e.svc.Files.List().Q("name = 'unterminated").Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 400 || ge.Errors[0].Reason != "invalid" {
		t.Errorf("bad q = %v", err)
	}
}

// A client without X-GUploader-No-308 gets a real 308 with Range and no
// Location; status queries work with and without the "bytes " prefix.
func TestResumableRawProtocol(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, "POST", "/upload/drive/v3/files?uploadType=resumable&fields=id,size,md5Checksum",
		[]byte(`{"name":"raw.bak"}`), map[string]string{"X-Upload-Content-Length": fmt.Sprint(3*(256<<10) + 100), "Content-Type": "application/json; charset=UTF-8"})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 200 || !strings.HasPrefix(loc, e.srv.URL+"/upload/drive/v3/files?") || !strings.Contains(loc, "upload_id=") {
		t.Fatalf("start = %d, Location %q", resp.StatusCode, loc)
	}
	const k = 256 << 10 // every chunk but the last is a multiple of it
	const total = 3*k + 100
	content := data(total)
	put := func(from, to int, extra ...string) *http.Response {
		h := map[string]string{"Content-Range": fmt.Sprintf("bytes %d-%d/%d", from, to-1, total)}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return e.do(t, "PUT", loc, content[from:to], h)
	}
	resp = put(0, k, "Authorization", "")
	if resp.StatusCode != 308 || resp.Header.Get("Range") != fmt.Sprintf("bytes=0-%d", k-1) || resp.Header.Get("Location") != "" {
		t.Fatalf("chunk = %d Range %q Location %q", resp.StatusCode, resp.Header.Get("Range"), resp.Header.Get("Location"))
	}
	// Resend an overlapping chunk, as a client whose answer was lost does.
	resp = put(k/2, k/2+k)
	if resp.StatusCode != 308 || resp.Header.Get("Range") != fmt.Sprintf("bytes=0-%d", k/2+k-1) {
		t.Fatalf("overlap = %d %q", resp.StatusCode, resp.Header.Get("Range"))
	}
	// A chunk that is not the last must be a multiple of 256 KiB.
	if resp = put(k/2+k, k/2+k+100); resp.StatusCode != 400 {
		t.Fatalf("a short chunk before the last = %d, want 400", resp.StatusCode)
	}
	resp = e.do(t, "PUT", loc, nil, map[string]string{"Content-Range": fmt.Sprintf("*/%d", total), "X-GUploader-No-308": "yes"})
	if resp.StatusCode != 200 || resp.Header.Get("X-Http-Status-Code-Override") != "308" || resp.Header.Get("Range") != fmt.Sprintf("bytes=0-%d", k/2+k-1) {
		t.Fatalf("status query = %d %v", resp.StatusCode, resp.Header)
	}
	if resp = put(2*k, total); resp.StatusCode != 400 {
		t.Fatalf("gap = %d, want 400", resp.StatusCode)
	}
	resp = put(k/2+k, total)
	var f struct {
		ID   string `json:"id"`
		Size string `json:"size"`
		MD5  string `json:"md5Checksum"`
		Name string `json:"name"`
	}
	json.NewDecoder(resp.Body).Decode(&f)
	if resp.StatusCode != 200 || f.Size != fmt.Sprint(total) || f.MD5 != md5hex(content) || f.Name != "" {
		t.Fatalf("final = %d %+v", resp.StatusCode, f)
	}
	// The answer was lost: the status query returns the same file.
	resp = e.do(t, "PUT", loc, nil, map[string]string{"Content-Range": fmt.Sprintf("bytes */%d", total)})
	var again struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&again)
	if resp.StatusCode != 200 || again.ID != f.ID {
		t.Fatalf("query after completion = %d %q, want 200 %q", resp.StatusCode, again.ID, f.ID)
	}
	if n := len(e.drive.Files()); n != 1 {
		t.Fatalf("%d files stored, want 1", n)
	}
	resp = e.do(t, "PUT", e.srv.URL+"/upload/drive/v3/files?uploadType=resumable&upload_id=nope", nil, map[string]string{"Content-Range": "bytes */300"})
	if resp.StatusCode != 404 {
		t.Fatalf("unknown session = %d", resp.StatusCode)
	}
}

func TestAuthErrors(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, auth string
	}{{"missing", ""}, {"unknown", "Bearer nope"}} {
		resp := e.do(t, "GET", "/drive/v3/files", nil, map[string]string{"Authorization": tc.auth})
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 401 || !strings.Contains(string(body), `"reason":"authError"`) || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s token: %d %s", tc.name, resp.StatusCode, body)
		}
	}
	e.cloud.ExpireTokens("drive")
	_, err := e.svc.Files.List().Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 401 {
		t.Fatalf("expired token: %v", err)
	}
}

func TestQuotaExceeded(t *testing.T) {
	e := newEnv(t)
	e.cloud.SetQuota("drive", 1500)
	if _, err := e.svc.Files.Create(&drive.File{Name: "a"}).Media(bytes.NewReader(data(1000))).Do(); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Files.Create(&drive.File{Name: "b"}).Media(bytes.NewReader(data(1000))).Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 403 || ge.Errors[0].Reason != "storageQuotaExceeded" {
		t.Fatalf("over quota: %v", err)
	}
	// A resumable start that declares its size fails before any bytes move.
	resp := e.do(t, "POST", "/upload/drive/v3/files?uploadType=resumable", []byte(`{"name":"c"}`), map[string]string{"X-Upload-Content-Length": "1000"})
	if resp.StatusCode != 403 {
		t.Fatalf("resumable start over quota = %d", resp.StatusCode)
	}
}

func TestRestartKeepsFilesAndSessions(t *testing.T) {
	e := newEnv(t)
	id := e.mkdir(t, "Backups", "root")
	if _, err := e.svc.Files.Create(&drive.File{Name: "a.bak", Parents: []string{id}}).Media(bytes.NewReader(data(10))).Do(); err != nil {
		t.Fatal(err)
	}
	resp := e.do(t, "POST", "/upload/drive/v3/files?uploadType=resumable", []byte(`{"name":"b.bak"}`), nil)
	loc := resp.Header.Get("Location")
	const k = 256 << 10
	whole := data(k + 10)
	e.do(t, "PUT", loc, whole[:k], map[string]string{"Content-Range": fmt.Sprintf("bytes 0-%d/%d", k-1, k+10)})

	e.srv.Close()
	e.start(t)
	if files := e.drive.Files(); len(files) != 1 || files[0].Path != "Backups/a.bak" || files[0].Size != 10 {
		t.Fatalf("after restart: %+v", files)
	}
	loc = strings.Replace(loc, loc[:strings.Index(loc, "/upload")], e.srv.URL, 1)
	resp = e.do(t, "PUT", loc, whole[k:], map[string]string{"Content-Range": fmt.Sprintf("bytes %d-%d/%d", k, k+9, k+10)})
	if resp.StatusCode != 200 || len(e.drive.Files()) != 2 {
		t.Fatalf("resume after restart = %d, files %+v", resp.StatusCode, e.drive.Files())
	}
}

func TestGeneratedIDUsedTwiceConflicts(t *testing.T) {
	e := newEnv(t)
	ids, err := e.svc.Files.GenerateIds().Count(1).Do()
	if err != nil || len(ids.Ids) != 1 {
		t.Fatal(ids, err)
	}
	for i, want := range []int{0, 409} {
		_, err := e.svc.Files.Create(&drive.File{Id: ids.Ids[0], Name: "x"}).Media(bytes.NewReader(data(5))).Do()
		var ge *googleapi.Error
		if got := 0; errors.As(err, &ge) {
			got = ge.Code
			if got != want {
				t.Errorf("create %d: %v", i, err)
			}
		} else if err != nil || want != 0 {
			t.Errorf("create %d = %v, want %d", i, err, want)
		}
	}
}

func TestInjectedFaultBodies(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		status int
		reason string
	}{{429, "rateLimitExceeded"}, {403, "userRateLimitExceeded"}, {500, "backendError"}, {503, "backendError"}, {401, "authError"}} {
		e.cloud.AddFault(fakecloud.Fault{Service: "drive", Status: tc.status, Times: 1})
		_, err := e.svc.Files.List().Do()
		var ge *googleapi.Error
		if !errors.As(err, &ge) || ge.Code != tc.status || len(ge.Errors) == 0 || ge.Errors[0].Reason != tc.reason {
			t.Errorf("injected %d: %v", tc.status, err)
		}
	}
}

func TestParseFields(t *testing.T) {
	for in, want := range map[string]string{
		"id,name":                            "map[id:map[] name:map[]]",
		"nextPageToken, files(id,size)":      "map[files:map[id:map[] size:map[]] nextPageToken:map[]]",
		"files/id,files/md5Checksum":         "map[files:map[id:map[] md5Checksum:map[]]]",
		"storageQuota(limit,usage),kind":     "map[kind:map[] storageQuota:map[limit:map[] usage:map[]]]",
		"files(id,parents),files(name),kind": "map[files:map[id:map[] name:map[] parents:map[]] kind:map[]]",
	} {
		sel, err := parseFields(in)
		if err != nil || fmt.Sprint(sel) != want {
			t.Errorf("parseFields(%q) = %v, %v; want %s", in, sel, err, want)
		}
	}
	for _, bad := range []string{"files(id", "a,,b", ")"} {
		if _, err := parseFields(bad); err == nil {
			t.Errorf("parseFields(%q) succeeded", bad)
		}
	}
}
