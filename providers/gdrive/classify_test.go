package gdrive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/oauth"
)

// apiError builds the error the SDK returns for a response with this body.
func apiError(status int, body string, hdr ...string) error {
	h := http.Header{"Content-Type": {"application/json; charset=UTF-8"}}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return googleapi.CheckResponse(&http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))})
}

func TestClassify(t *testing.T) {
	c := &Client{store: oauth.Store{Path: "/x/token.json", Dest: "cloud"}}
	sessionURL := "https://www.googleapis.com/upload/drive/v3/files?uploadType=resumable&upload_id=SECRET123"
	cases := []struct {
		name       string
		err        error
		kind       providers.Kind
		reason     providers.Reason
		retryAfter time.Duration
		notFound   bool
	}{
		{"429", apiError(429, `{"error":{"code":429,"message":"Rate Limit Exceeded","errors":[{"message":"Rate Limit Exceeded","domain":"usageLimits","reason":"rateLimitExceeded"}]}}`, "Retry-After", "7"),
			providers.RateLimited, "", 7 * time.Second, false},
		{"403 user rate", apiError(403, `{"error":{"errors":[{"domain":"usageLimits","reason":"userRateLimitExceeded","message":"User Rate Limit Exceeded. Rate of requests for user exceed configured project quota."}],"code":403,"message":"User Rate Limit Exceeded."}}`),
			providers.RateLimited, "", 0, false},
		{"403 rate", apiError(403, `{"error":{"errors":[{"domain":"usageLimits","reason":"rateLimitExceeded","message":"Rate Limit Exceeded"}],"code":403,"message":"Rate Limit Exceeded"}}`),
			providers.RateLimited, "", 0, false},
		{"403 storage quota", apiError(403, `{"error":{"errors":[{"domain":"global","reason":"storageQuotaExceeded","message":"The user's Drive storage quota has been exceeded."}],"code":403,"message":"The user's Drive storage quota has been exceeded."}}`),
			providers.Fatal, providers.ReasonQuota, 0, false},
		{"403 quota (2016)", apiError(403, `{"error":{"errors":[{"domain":"usageLimits","reason":"quotaExceeded","message":"The user has exceeded their Drive storage quota"}],"code":403,"message":"The user has exceeded their Drive storage quota"}}`),
			providers.Fatal, providers.ReasonQuota, 0, false},
		{"403 no permission", apiError(403, `{"error":{"errors":[{"domain":"global","reason":"insufficientFilePermissions","message":"The user does not have sufficient permissions for this file."}],"code":403,"message":"The user does not have sufficient permissions for this file."}}`),
			providers.Fatal, providers.ReasonReadOnly, 0, false},
		{"500", apiError(500, `{"error":{"errors":[{"domain":"global","reason":"backendError","message":"Backend Error"}],"code":500,"message":"Backend Error"}}`),
			providers.Temporary, "", 0, false},
		{"503", apiError(503, `{"error":{"code":503,"message":"The service is currently unavailable.","errors":[{"message":"The service is currently unavailable.","domain":"global","reason":"backendError"}],"status":"UNAVAILABLE"}}`),
			providers.Temporary, "", 0, false},
		{"502 html", apiError(502, `<html><body>Bad Gateway</body></html>`), providers.Temporary, "", 0, false},
		{"401", apiError(401, `{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError","location":"Authorization","locationType":"header"}],"status":"UNAUTHENTICATED"}}`),
			providers.Temporary, "", 0, false},
		{"404", apiError(404, `{"error":{"errors":[{"domain":"global","reason":"notFound","message":"File not found: 1aB.","locationType":"parameter","location":"fileId"}],"code":404,"message":"File not found: 1aB."}}`),
			providers.Permanent, "", 0, true},
		{"400 name", apiError(400, `{"error":{"errors":[{"domain":"global","reason":"invalid","message":"Invalid value for name","locationType":"parameter","location":"name"}],"code":400,"message":"Invalid value for name"}}`),
			providers.Permanent, providers.ReasonName, 0, false},
		{"400 other", apiError(400, `{"error":{"errors":[{"domain":"global","reason":"badRequest","message":"Bad Request"}],"code":400,"message":"Bad Request"}}`),
			providers.Permanent, "", 0, false},
		{"refresh refused", fmt.Errorf("oauth2: %w", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, ErrorCode: "invalid_grant", Body: []byte(`{"error":"invalid_grant","error_description":"Token has been expired or revoked."}`)}),
			providers.Fatal, providers.ReasonAuth, 0, false},
		{"reset", &url.Error{Op: "Put", URL: sessionURL, Err: syscall.ECONNRESET}, providers.Temporary, "", 0, false},
		{"unexpected EOF", &url.Error{Op: "Put", URL: sessionURL, Err: io.ErrUnexpectedEOF}, providers.Temporary, "", 0, false},
		{"canceled", fmt.Errorf("upload: %w", context.Canceled), providers.Canceled, "", 0, false},
		{"classified already", providers.Errorf(providers.Fatal, providers.ReasonAuth, "h", "x"), providers.Fatal, providers.ReasonAuth, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := c.classify(tc.err)
			if k := providers.KindOf(got); k != tc.kind {
				t.Errorf("kind %v, want %v (%v)", k, tc.kind, got)
			}
			if r := providers.ReasonOf(got); r != tc.reason {
				t.Errorf("reason %q, want %q", r, tc.reason)
			}
			if ra := providers.RetryAfterOf(got); ra != tc.retryAfter {
				t.Errorf("retry after %v, want %v", ra, tc.retryAfter)
			}
			if errors.Is(got, providers.ErrNotFound) != tc.notFound {
				t.Errorf("ErrNotFound %v, want %v", !tc.notFound, tc.notFound)
			}
			if strings.Contains(got.Error(), "SECRET123") {
				t.Errorf("error shows the session id: %v", got)
			}
			if tc.reason == providers.ReasonAuth && tc.name == "refresh refused" && !strings.Contains(providers.HintOf(got), "offsite auth cloud") {
				t.Errorf("hint %q", providers.HintOf(got))
			}
		})
	}
	if c.classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
}
