package fakedropbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/auth"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/files"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/users"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers"
)

type env struct {
	cloud *fakecloud.Cloud
	srv   *Server
	url   string
	dir   string
	token string
}

func start(t *testing.T, dir string) *env {
	t.Helper()
	cloud := fakecloud.New(time.Hour)
	srv, err := New(cloud, dir)
	if err != nil {
		t.Fatal(err)
	}
	cloud.Register(srv)
	mux := http.NewServeMux()
	srv.Register(mux)
	mux.Handle("/_fakecloud/", cloud.ControlHandler())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	tok, _ := cloud.IssueToken("dropbox")
	return &env{cloud: cloud, srv: srv, url: ts.URL, dir: dir, token: tok}
}

// sdk returns the unmodified SDK's config pointed at the emulator.
func (e *env) sdk(token string) dropbox.Config {
	return dropbox.Config{Token: token, URLGenerator: func(host, ns, route string) string {
		return e.url + "/2/" + ns + "/" + route
	}}
}

func data(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func contentHash(b []byte) string {
	h, _, _ := providers.HashReader(bytes.NewReader(b), providers.ContentHash)
	return h[providers.ContentHash]
}

func TestSDKRoundTrip(t *testing.T) {
	e := start(t, t.TempDir())
	dbx := files.NewContext(e.sdk(e.token))
	ctx := context.Background()

	small := data(1000)
	arg := files.NewUploadArg("/Apps/offsite/Backups/pos/Small.bak")
	arg.ClientModified = ptr(dropbox.DBXTime(time.Date(2026, 3, 1, 12, 30, 15, 0, time.UTC)))
	md, err := dbx.UploadContext(ctx, arg, bytes.NewReader(small))
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if md.ContentHash != contentHash(small) || md.Size != 1000 || md.PathDisplay != "/Apps/offsite/Backups/pos/Small.bak" ||
		md.PathLower != "/apps/offsite/backups/pos/small.bak" || !strings.HasPrefix(md.Id, "id:") || len(md.Rev) < 9 {
		t.Errorf("upload metadata = %+v", md)
	}
	if got := time.Time(md.ClientModified); !got.Equal(time.Date(2026, 3, 1, 12, 30, 15, 0, time.UTC)) {
		t.Errorf("client_modified = %v", got)
	}

	// A session of several appends; the SDK adds each call's content_hash.
	big := data(10_000)
	start, err := dbx.UploadSessionStartContext(ctx, files.NewUploadSessionStartArg(), bytes.NewReader(big[:3000]))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	for off := 3000; off < 9000; off += 3000 {
		a := files.NewUploadSessionAppendArg(files.NewUploadSessionCursor(start.SessionId, uint64(off)))
		if err := dbx.UploadSessionAppendV2Context(ctx, a, bytes.NewReader(big[off:off+3000])); err != nil {
			t.Fatalf("append at %d: %v", off, err)
		}
	}
	fin := files.NewUploadSessionFinishArg(files.NewUploadSessionCursor(start.SessionId, 9000),
		files.NewCommitInfo("/apps/OFFSITE/backups/pos/big.bak"))
	md, err = dbx.UploadSessionFinishContext(ctx, fin, bytes.NewReader(big[9000:]))
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	// Existing folders keep their case; the new name keeps the caller's.
	if md.Size != 10_000 || md.ContentHash != contentHash(big) || md.PathDisplay != "/Apps/offsite/Backups/pos/big.bak" {
		t.Errorf("finish metadata = %+v", md)
	}

	list, err := dbx.ListFolderContext(ctx, files.NewListFolderArg("/APPS/offsite/backups/POS"))
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var names []string
	for _, en := range list.Entries {
		f, ok := en.(*files.FileMetadata)
		if !ok {
			t.Fatalf("entry %T, want *files.FileMetadata", en)
		}
		names = append(names, f.Name+"="+f.ContentHash[:8])
	}
	if want := fmt.Sprintf("[big.bak=%s Small.bak=%s]", contentHash(big)[:8], contentHash(small)[:8]); fmt.Sprint(names) != want {
		t.Errorf("list = %v, want %s", names, want)
	}

	dmd, body, err := dbx.DownloadContext(ctx, files.NewDownloadArg("/apps/offsite/backups/pos/BIG.bak"))
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, big) || dmd.ContentHash != contentHash(big) {
		t.Errorf("download: %d bytes, metadata %+v", len(got), dmd)
	}

	if _, err := dbx.DeleteV2Context(ctx, files.NewDeleteArg("/Apps/offsite/Backups/pos/big.bak")); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = dbx.GetMetadataContext(ctx, files.NewGetMetadataArg("/Apps/offsite/Backups/pos/big.bak"))
	var gm files.GetMetadataAPIError
	if !errors.As(err, &gm) || gm.EndpointError.Path.Tag != files.LookupErrorNotFound {
		t.Errorf("get_metadata after delete = %#v", err)
	}
	_, err = dbx.DeleteV2Context(ctx, files.NewDeleteArg("/Apps/offsite/Backups/pos/big.bak"))
	var de files.DeleteV2APIError
	if !errors.As(err, &de) || de.EndpointError.PathLookup.Tag != files.LookupErrorNotFound {
		t.Errorf("second delete = %#v", err)
	}
	if fs := e.srv.Files(); len(fs) != 1 || fs[0].Path != "Apps/offsite/Backups/pos/Small.bak" || fs[0].Size != 1000 {
		t.Errorf("Files() = %+v", fs)
	}
}

func TestSDKSessionErrors(t *testing.T) {
	e := start(t, t.TempDir())
	dbx := files.NewContext(e.sdk(e.token))
	ctx := context.Background()
	d := data(5000)
	st, err := dbx.UploadSessionStartContext(ctx, files.NewUploadSessionStartArg(), bytes.NewReader(d[:2000]))
	if err != nil {
		t.Fatal(err)
	}
	a := files.NewUploadSessionAppendArg(files.NewUploadSessionCursor(st.SessionId, 1000))
	err = dbx.UploadSessionAppendV2Context(ctx, a, bytes.NewReader(d[1000:2000]))
	var ae files.UploadSessionAppendV2APIError
	if !errors.As(err, &ae) || ae.EndpointError.Tag != files.UploadSessionAppendErrorIncorrectOffset ||
		ae.EndpointError.IncorrectOffset.CorrectOffset != 2000 {
		t.Fatalf("append at a wrong offset = %#v", err)
	}
	fin := files.NewUploadSessionFinishArg(files.NewUploadSessionCursor(st.SessionId, 4000), files.NewCommitInfo("/x.bak"))
	_, err = dbx.UploadSessionFinishContext(ctx, fin, bytes.NewReader(d[4000:]))
	var fe files.UploadSessionFinishAPIError
	if !errors.As(err, &fe) || fe.EndpointError.Tag != files.UploadSessionFinishErrorLookupFailed ||
		fe.EndpointError.LookupFailed.Tag != files.UploadSessionLookupErrorIncorrectOffset ||
		fe.EndpointError.LookupFailed.IncorrectOffset.CorrectOffset != 2000 {
		t.Fatalf("finish at a wrong offset = %#v", err)
	}
	if !strings.HasPrefix(fe.ErrorSummary, "lookup_failed/incorrect_offset/") {
		t.Errorf("error_summary %q", fe.ErrorSummary)
	}

	// A wrong content_hash is refused and leaves the offset where it was.
	a = files.NewUploadSessionAppendArg(files.NewUploadSessionCursor(st.SessionId, 2000))
	a.ContentHash = contentHash(d[:10])
	err = dbx.UploadSessionAppendV2Context(ctx, a, bytes.NewReader(d[2000:3000]))
	if !errors.As(err, &ae) || ae.EndpointError.Tag != files.UploadSessionAppendErrorContentHashMismatch {
		t.Fatalf("append with a wrong hash = %#v", err)
	}

	e.srv.ExpireSessions()
	a = files.NewUploadSessionAppendArg(files.NewUploadSessionCursor(st.SessionId, 2000))
	err = dbx.UploadSessionAppendV2Context(ctx, a, bytes.NewReader(d[2000:3000]))
	if !errors.As(err, &ae) || ae.EndpointError.Tag != files.UploadSessionAppendErrorNotFound {
		t.Fatalf("append to an expired session = %#v", err)
	}
	fin = files.NewUploadSessionFinishArg(files.NewUploadSessionCursor("pid_upload_session:nope", 0), files.NewCommitInfo("/x.bak"))
	_, err = dbx.UploadSessionFinishContext(ctx, fin, nil)
	if !errors.As(err, &fe) || fe.EndpointError.LookupFailed.Tag != files.UploadSessionLookupErrorNotFound {
		t.Fatalf("finish of an unknown session = %#v", err)
	}
}

func TestSDKWriteErrors(t *testing.T) {
	e := start(t, t.TempDir())
	dbx := files.NewContext(e.sdk(e.token))
	ctx := context.Background()
	if _, err := dbx.UploadContext(ctx, files.NewUploadArg("/a/f.bak"), bytes.NewReader(data(100))); err != nil {
		t.Fatal(err)
	}
	// The same bytes again are no conflict: Dropbox returns the stored file.
	if _, err := dbx.UploadContext(ctx, files.NewUploadArg("/A/F.bak"), bytes.NewReader(data(100))); err != nil {
		t.Fatalf("identical add: %v", err)
	}
	uploadErr := func(p string, body []byte) *files.WriteError {
		t.Helper()
		_, err := dbx.UploadContext(ctx, files.NewUploadArg(p), bytes.NewReader(body))
		var ue files.UploadAPIError
		if !errors.As(err, &ue) || ue.EndpointError.Tag != files.UploadErrorPath {
			t.Fatalf("upload %s = %#v, want a path error", p, err)
		}
		return ue.EndpointError.Path.Reason
	}
	if we := uploadErr("/a/f.bak", data(101)); we.Tag != files.WriteErrorConflict || we.Conflict.Tag != files.WriteConflictErrorFile {
		t.Errorf("different content: %+v", we)
	}
	if we := uploadErr("/a", data(5)); we.Conflict == nil || we.Conflict.Tag != files.WriteConflictErrorFolder {
		t.Errorf("onto a folder: %+v", we)
	}
	if we := uploadErr("/a/f.bak/x", data(5)); we.Conflict == nil || we.Conflict.Tag != files.WriteConflictErrorFileAncestor {
		t.Errorf("under a file: %+v", we)
	}
	if we := uploadErr("/a//b", data(5)); we.Tag != files.WriteErrorMalformedPath {
		t.Errorf("double slash: %+v", we)
	}
	if we := uploadErr("/a/desktop.ini", data(5)); we.Tag != files.WriteErrorDisallowedName {
		t.Errorf("desktop.ini: %+v", we)
	}
	e.cloud.SetQuota("dropbox", 150)
	if we := uploadErr("/a/g.bak", data(100)); we.Tag != files.WriteErrorInsufficientSpace {
		t.Errorf("quota: %+v", we)
	}
	st, _ := dbx.UploadSessionStartContext(ctx, files.NewUploadSessionStartArg(), bytes.NewReader(data(100)))
	_, err := dbx.UploadSessionFinishContext(ctx, files.NewUploadSessionFinishArg(
		files.NewUploadSessionCursor(st.SessionId, 100), files.NewCommitInfo("/a/h.bak")), nil)
	var fe files.UploadSessionFinishAPIError
	if !errors.As(err, &fe) || fe.EndpointError.Path == nil || fe.EndpointError.Path.Tag != files.WriteErrorInsufficientSpace {
		t.Errorf("finish over quota = %#v", err)
	}
	e.cloud.SetQuota("dropbox", 1<<30)
	// The data stays in the session: finishing again with an empty body works.
	if _, err := dbx.UploadSessionFinishContext(ctx, files.NewUploadSessionFinishArg(
		files.NewUploadSessionCursor(st.SessionId, 100), files.NewCommitInfo("/a/h.bak")), nil); err != nil {
		t.Errorf("finish after freeing space: %v", err)
	}
	usage, err := users.NewContext(e.sdk(e.token)).GetSpaceUsageContext(ctx)
	if err != nil || usage.Used != 200 || usage.Allocation.Individual.Allocated != 1<<30 {
		t.Errorf("space usage = %+v, %v", usage, err)
	}

	arg := files.NewUploadArg("/a/hash.bak")
	arg.ContentHash = contentHash(data(3))
	_, err = dbx.UploadContext(ctx, arg, bytes.NewReader(data(4)))
	var ue files.UploadAPIError
	if !errors.As(err, &ue) || ue.EndpointError.Tag != files.UploadErrorContentHashMismatch {
		t.Errorf("wrong content_hash = %#v", err)
	}

	_, err = dbx.CreateFolderV2Context(ctx, files.NewCreateFolderArg("/A"))
	var ce files.CreateFolderV2APIError
	if !errors.As(err, &ce) || ce.EndpointError.Path.Conflict.Tag != files.WriteConflictErrorFolder {
		t.Errorf("create existing folder = %#v", err)
	}
	if res, err := dbx.CreateFolderV2Context(ctx, files.NewCreateFolderArg("/A/New/Deep")); err != nil || res.Metadata.PathDisplay != "/a/New/Deep" {
		t.Errorf("create nested folder = %+v, %v", res, err)
	}
}

func TestSDKAuthAndRateLimit(t *testing.T) {
	e := start(t, t.TempDir())
	ctx := context.Background()
	_, err := files.NewContext(e.sdk("bogus")).GetMetadataContext(ctx, files.NewGetMetadataArg("/x"))
	var ae auth.AuthAPIError
	if !errors.As(err, &ae) || ae.AuthError.Tag != auth.AuthErrorInvalidAccessToken {
		t.Errorf("bad token = %#v", err)
	}
	e.cloud.ExpireTokens("dropbox")
	_, err = files.NewContext(e.sdk(e.token)).GetMetadataContext(ctx, files.NewGetMetadataArg("/x"))
	if !errors.As(err, &ae) || ae.AuthError.Tag != auth.AuthErrorExpiredAccessToken {
		t.Errorf("expired token = %#v", err)
	}
	tok, _ := e.cloud.IssueToken("dropbox")
	e.cloud.AddFault(fakecloud.Fault{Service: "dropbox", Status: 429, RetryAfter: "3s", Times: 1})
	_, err = files.NewContext(e.sdk(tok)).GetMetadataContext(ctx, files.NewGetMetadataArg("/x"))
	var re auth.RateLimitAPIError
	if !errors.As(err, &re) || re.RateLimitError.Reason.Tag != auth.RateLimitReasonTooManyRequests || re.RateLimitError.RetryAfter == 0 {
		t.Errorf("429 = %#v", err)
	}
	e.cloud.AddFault(fakecloud.Fault{Service: "dropbox", Status: 503, Times: 1})
	_, err = files.NewContext(e.sdk(tok)).GetMetadataContext(ctx, files.NewGetMetadataArg("/x"))
	var se auth.ServerError
	if !errors.As(err, &se) {
		t.Errorf("503 = %#v", err)
	}
	// 400s stay plain text, as the SDK keeps them raw.
	_, err = files.NewContext(e.sdk(tok)).GetMetadataContext(ctx, files.NewGetMetadataArg("no-slash"))
	var br auth.BadRequest
	if !errors.As(err, &br) || !strings.Contains(br.ErrorSummary, "did not match pattern") {
		t.Errorf("bad path = %#v", err)
	}
}

func TestListPagingAndUnicodeArgs(t *testing.T) {
	e := start(t, t.TempDir())
	ctx := context.Background()
	// Dropbox-API-Arg may carry raw UTF-8 (what the SDK sends) or \u escapes.
	for i, arg := range []string{
		`{"path":"/Kassa/sao_lưu_🙂.bak","mode":"add"}`,
		// (The SDK's own escaper mangles runes past U+FFFF, so BMP only here.)
		dropbox.HTTPHeaderSafeJSON([]byte(`{"path":"/Kassa/säkerhetskopia_åäö.bak","mode":{".tag":"add"}}`)),
	} {
		req, _ := http.NewRequest("POST", e.url+"/2/files/upload", strings.NewReader("x"))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Dropbox-API-Arg", arg)
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("upload %d: %s", i, resp.Status)
		}
	}
	dbx := files.NewContext(e.sdk(e.token))
	for i := range 5 {
		if _, err := dbx.UploadContext(ctx, files.NewUploadArg(fmt.Sprintf("/Kassa/f%d", i)), bytes.NewReader(nil)); err != nil {
			t.Fatal(err)
		}
	}
	arg := files.NewListFolderArg("/kassa")
	arg.Limit = 3
	res, err := dbx.ListFolderContext(ctx, arg)
	var names []string
	for err == nil {
		for _, en := range res.Entries {
			names = append(names, en.(*files.FileMetadata).Name)
		}
		if !res.HasMore {
			break
		}
		res, err = dbx.ListFolderContinueContext(ctx, files.NewListFolderContinueArg(res.Cursor))
	}
	if err != nil {
		t.Fatal(err)
	}
	want := "[f0 f1 f2 f3 f4 sao_lưu_🙂.bak säkerhetskopia_åäö.bak]"
	if fmt.Sprint(names) != want {
		t.Errorf("paged list = %v, want %s", names, want)
	}
	// The download result header is escaped and still decodes.
	md, body, err := dbx.DownloadContext(ctx, files.NewDownloadArg("/kassa/SAO_LƯU_🙂.bak"))
	if err != nil {
		t.Fatal(err)
	}
	body.Close()
	if md.Name != "sao_lưu_🙂.bak" {
		t.Errorf("download name %q", md.Name)
	}
	_, err = dbx.ListFolderContext(ctx, files.NewListFolderArg("/missing"))
	var le files.ListFolderAPIError
	if !errors.As(err, &le) || le.EndpointError.Path.Tag != files.LookupErrorNotFound {
		t.Errorf("list of a missing folder = %#v", err)
	}
}

func TestSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir)
	dbx := files.NewContext(e.sdk(e.token))
	ctx := context.Background()
	if _, err := dbx.UploadContext(ctx, files.NewUploadArg("/Keep/me.bak"), bytes.NewReader(data(777))); err != nil {
		t.Fatal(err)
	}
	st, err := dbx.UploadSessionStartContext(ctx, files.NewUploadSessionStartArg(), bytes.NewReader(data(500)))
	if err != nil {
		t.Fatal(err)
	}
	e2 := start(t, dir)
	dbx = files.NewContext(e2.sdk(e2.token))
	_, body, err := dbx.DownloadContext(ctx, files.NewDownloadArg("/keep/ME.bak"))
	if err != nil {
		t.Fatalf("download after restart: %v", err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, data(777)) {
		t.Error("content changed across a restart")
	}
	md, err := dbx.UploadSessionFinishContext(ctx, files.NewUploadSessionFinishArg(
		files.NewUploadSessionCursor(st.SessionId, 500), files.NewCommitInfo("/Keep/session.bak")), nil)
	if err != nil || md.Size != 500 {
		t.Fatalf("finish a session begun before the restart = %+v, %v", md, err)
	}
}

func ptr[T any](v T) *T { return &v }
