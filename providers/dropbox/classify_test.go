package dropbox

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/files"

	"github.com/offsite-backup/offsite/providers"
)

// TestClassify feeds Dropbox's real response shapes through the SDK and
// classify, the way every call meets them.
func TestClassify(t *testing.T) {
	const jsonType = "application/json"
	for _, tc := range []struct {
		name       string
		route      string // SDK call to make
		status     int
		retryAfter string
		ctype      string
		body       string
		kind       providers.Kind
		reason     providers.Reason
		notFound   bool
		wait       time.Duration
	}{
		{name: "metadata not found", route: "get_metadata", status: 409,
			body: `{"error_summary": "path/not_found/..", "error": {".tag": "path", "path": {".tag": "not_found"}}}`, notFound: true},
		{name: "list missing folder", route: "list_folder", status: 409,
			body: `{"error_summary": "path/not_found/...", "error": {".tag": "path", "path": {".tag": "not_found"}}}`, notFound: true},
		{name: "download missing", route: "download", status: 409,
			body: `{"error_summary": "path/not_found/..", "error": {".tag": "path", "path": {".tag": "not_found"}}}`, notFound: true},
		{name: "delete missing", route: "delete_v2", status: 409,
			body: `{"error_summary": "path_lookup/not_found/..", "error": {".tag": "path_lookup", "path_lookup": {".tag": "not_found"}}}`, notFound: true},
		{name: "upload quota", route: "upload", status: 409,
			body: `{"error_summary": "path/insufficient_space/..", "error": {".tag": "path", "reason": {".tag": "insufficient_space"}, "upload_session_id": "pid_upload_session:AAAA"}}`,
			kind: providers.Fatal, reason: providers.ReasonQuota},
		{name: "finish quota", route: "finish", status: 409,
			body: `{"error_summary": "path/insufficient_space/...", "error": {".tag": "path", "path": {".tag": "insufficient_space"}}}`,
			kind: providers.Fatal, reason: providers.ReasonQuota},
		{name: "team quota", route: "finish", status: 409,
			body: `{"error_summary": "path/team_folder_insufficient_space/..", "error": {".tag": "path", "path": {".tag": "team_folder_insufficient_space"}}}`,
			kind: providers.Fatal, reason: providers.ReasonQuota},
		{name: "malformed path", route: "upload", status: 409,
			body: `{"error_summary": "path/malformed_path/..", "error": {".tag": "path", "reason": {".tag": "malformed_path"}, "upload_session_id": "pid_upload_session:AAAA"}}`,
			kind: providers.Permanent, reason: providers.ReasonName},
		{name: "disallowed name", route: "finish", status: 409,
			body: `{"error_summary": "path/disallowed_name/..", "error": {".tag": "path", "path": {".tag": "disallowed_name"}}}`,
			kind: providers.Permanent, reason: providers.ReasonName},
		{name: "no write permission", route: "upload", status: 409,
			body: `{"error_summary": "path/no_write_permission/..", "error": {".tag": "path", "reason": {".tag": "no_write_permission"}, "upload_session_id": "pid_upload_session:AAAA"}}`,
			kind: providers.Fatal, reason: providers.ReasonReadOnly},
		{name: "hash mismatch", route: "upload", status: 409,
			body: `{"error_summary": "content_hash_mismatch/..", "error": {".tag": "content_hash_mismatch"}}`,
			kind: providers.Temporary, reason: providers.ReasonChecksum},
		{name: "append offset", route: "append", status: 409,
			body: `{"error_summary": "incorrect_offset/..", "error": {".tag": "incorrect_offset", "correct_offset": 8388608}}`,
			kind: providers.Temporary},
		{name: "finish session gone", route: "finish", status: 409,
			body: `{"error_summary": "lookup_failed/not_found/..", "error": {".tag": "lookup_failed", "lookup_failed": {".tag": "not_found"}}}`,
			kind: providers.Temporary},
		{name: "finish write contention", route: "finish", status: 409,
			body: `{"error_summary": "too_many_write_operations/..", "error": {".tag": "too_many_write_operations"}}`,
			kind: providers.RateLimited, wait: time.Second},
		{name: "429 with header", route: "get_metadata", status: 429, retryAfter: "7",
			body: `{"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 300}}`,
			kind: providers.RateLimited, wait: 7 * time.Second},
		{name: "429 body only", route: "upload", status: 429,
			body: `{"error_summary": "too_many_write_operations/...", "error": {"reason": {".tag": "too_many_write_operations"}, "retry_after": 3}}`,
			kind: providers.RateLimited, wait: 3 * time.Second},
		{name: "500", route: "get_metadata", status: 500, ctype: "text/plain", body: "Internal Server Error", kind: providers.Temporary},
		{name: "503", route: "append", status: 503, ctype: "text/plain", body: "Service Unavailable", kind: providers.Temporary},
		{name: "expired token twice", route: "get_metadata", status: 401,
			body: `{"error_summary": "expired_access_token/..", "error": {".tag": "expired_access_token"}}`,
			kind: providers.Fatal, reason: providers.ReasonAuth},
		{name: "invalid token", route: "list_folder", status: 401,
			body: `{"error_summary": "invalid_access_token/...", "error": {".tag": "invalid_access_token"}}`,
			kind: providers.Fatal, reason: providers.ReasonAuth},
		{name: "403", route: "get_metadata", status: 403,
			body: `{"error_summary": "no_permission/..", "error": {".tag": "no_permission"}}`,
			kind: providers.Fatal, reason: providers.ReasonReadOnly},
		{name: "400 plain text", route: "get_metadata", status: 400, ctype: "text/plain; charset=utf-8",
			body: `Error in call to API function "files/get_metadata": request body: path: 'x' did not match pattern '(/(.|[\r\n])*|id:.*)|(rev:[0-9a-f]{9,})|(ns:[0-9]+(/.*)?)'`,
			kind: providers.Permanent},
		{name: "409 not JSON", route: "get_metadata", status: 409, ctype: "text/html", body: "<html>proxy error</html>", kind: providers.Temporary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/oauth2/token" {
					w.Header().Set("Content-Type", jsonType)
					w.Write([]byte(`{"access_token":"fresh","token_type":"bearer","expires_in":14400}`))
					return
				}
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				ct := tc.ctype
				if ct == "" {
					ct = jsonType
				}
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := New(context.Background(), Config{Name: "cloud", TokenFile: writeToken(t), Endpoint: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			err = c.call(t.Context(), "op", func(ctx context.Context) error { return sdkCall(ctx, c, tc.route) })
			if err == nil {
				t.Fatal("no error")
			}
			if tc.notFound {
				if !errors.Is(err, providers.ErrNotFound) {
					t.Fatalf("got %v, want ErrNotFound", err)
				}
				return
			}
			if k := providers.KindOf(err); k != tc.kind {
				t.Errorf("kind %v, want %v (%v)", k, tc.kind, err)
			}
			if r := providers.ReasonOf(err); r != tc.reason {
				t.Errorf("reason %q, want %q", r, tc.reason)
			}
			if w := providers.RetryAfterOf(err); w != tc.wait {
				t.Errorf("retry after %v, want %v", w, tc.wait)
			}
			if tc.reason == providers.ReasonAuth && !strings.Contains(providers.HintOf(err), "offsite auth cloud") {
				t.Errorf("hint %q", providers.HintOf(err))
			}
			if strings.Contains(err.Error(), "pid_upload_session") {
				t.Errorf("error carries a session id: %v", err)
			}
		})
	}
}

func sdkCall(ctx context.Context, c *Client, route string) error {
	var err error
	switch route {
	case "get_metadata":
		_, err = c.files.GetMetadataContext(ctx, files.NewGetMetadataArg("/x"))
	case "list_folder":
		_, err = c.files.ListFolderContext(ctx, files.NewListFolderArg("/x"))
	case "download":
		_, _, err = c.files.DownloadContext(ctx, files.NewDownloadArg("/x"))
	case "delete_v2":
		_, err = c.files.DeleteV2Context(ctx, files.NewDeleteArg("/x"))
	case "upload":
		_, err = c.files.UploadContext(ctx, files.NewUploadArg("/x"), bytes.NewReader([]byte("x")))
	case "append":
		err = c.files.UploadSessionAppendV2Context(ctx, files.NewUploadSessionAppendArg(files.NewUploadSessionCursor("s", 0)), bytes.NewReader([]byte("x")))
	case "finish":
		_, err = c.files.UploadSessionFinishContext(ctx, files.NewUploadSessionFinishArg(files.NewUploadSessionCursor("s", 0), files.NewCommitInfo("/x")), bytes.NewReader(nil))
	default:
		panic(route)
	}
	return err
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"5":                             5 * time.Second,
		"Mon, 23 Nov 2026 12:00:30 GMT": 30 * time.Second,
		"soon":                          0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
