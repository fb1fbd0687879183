package onedrive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/oauth"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		retryAfter string
		body       string
		kind       providers.Kind
		reason     providers.Reason
		notFound   bool
		sentinel   error
		wait       time.Duration
	}{
		{"throttled", 429, "7", `{"error":{"code":"activityLimitReached","message":"The request has been throttled","innererror":{"code":"throttledRequest"}}}`,
			providers.RateLimited, "", false, nil, 7 * time.Second},
		{"throttled without Retry-After", 429, "", `{"error":{"code":"activityLimitReached","message":"The request has been throttled"}}`,
			providers.RateLimited, "", false, nil, 0},
		{"unavailable with Retry-After", 503, "120", `{"error":{"code":"serviceNotAvailable","message":"Service unavailable"}}`,
			providers.RateLimited, "", false, nil, 2 * time.Minute},
		{"unavailable", 503, "", `{"error":{"code":"serviceNotAvailable","message":"Service unavailable"}}`,
			providers.Temporary, "", false, nil, 0},
		{"general exception", 500, "", `{"error":{"code":"generalException","message":"An unspecified error has occurred.","innerError":{"date":"2026-11-23T18:05:01","request-id":"9b0f"}}}`,
			providers.Temporary, "", false, nil, 0},
		{"bad gateway html", 502, "", `<html><body>Bad Gateway</body></html>`, providers.Temporary, "", false, nil, 0},
		{"bandwidth", 509, "30", ``, providers.RateLimited, "", false, nil, 30 * time.Second},
		{"quota 507", 507, "", `{"error":{"code":"quotaLimitReached","message":"Insufficient Space Available"}}`,
			providers.Fatal, providers.ReasonQuota, false, nil, 0},
		{"quota nested", 507, "", `{"error":{"code":"insufficientStorage","message":"Insufficient Storage","innererror":{"code":"quotaLimitReached"}}}`,
			providers.Fatal, providers.ReasonQuota, false, nil, 0},
		{"expired token", 401, "", `{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid.","innerError":{"date":"2026-11-23T18:05:01","request-id":"1d2c"}}}`,
			providers.Fatal, providers.ReasonAuth, false, nil, 0},
		{"unauthenticated", 401, "", `{"error":{"code":"unauthenticated","message":"Must be authenticated to use '/drive' syntax"}}`,
			providers.Fatal, providers.ReasonAuth, false, nil, 0},
		{"access denied", 403, "", `{"error":{"code":"accessDenied","message":"Access denied"}}`,
			providers.Fatal, providers.ReasonReadOnly, false, nil, 0},
		{"not found", 404, "", `{"error":{"code":"itemNotFound","message":"The resource could not be found."}}`,
			providers.Permanent, "", true, nil, 0},
		{"session gone", 404, "", `{"error":{"code":"itemNotFound","message":"The upload session was not found.","innererror":{"code":"uploadSessionNotFound"}}}`,
			providers.Permanent, "", true, nil, 0},
		{"name exists", 409, "", `{"error":{"code":"nameAlreadyExists","message":"The specified item name already exists. Name: a.bak"}}`,
			providers.Permanent, "", false, errConflict, 0},
		{"commit conflict", 409, "", `{"error":{"code":"upload_name_conflict","message":"Another file exists with the same name as the uploaded session. You can redirect the upload session to use a different name."}}`,
			providers.Permanent, "", false, errConflict, 0},
		{"modified", 409, "", `{"error":{"code":"resourceModified","message":"ETag does not match current item's value"}}`,
			providers.Temporary, "", false, nil, 0},
		{"fragment overlap", 416, "", `{"error":{"code":"invalidRange","message":"The uploaded fragment overlaps with data that has already been received.","innererror":{"code":"fragmentOverlap"}}}`,
			providers.Temporary, "", false, errOverlap, 0},
		{"path too long", 400, "", `{"error":{"code":"invalidRequest","message":"Invalid request","innererror":{"code":"pathIsTooLong"}}}`,
			providers.Permanent, providers.ReasonName, false, nil, 0},
		{"bad name deep", 400, "", `{"error":{"code":"invalidRequest","message":"Invalid request","innererror":{"code":"invalidParameterFormat","innererror":{"code":"invalidPath"}}}}`,
			providers.Permanent, providers.ReasonName, false, nil, 0},
		{"illegal characters", 400, "", `{"error":{"code":"invalidRequest","message":"The provided name cannot contain any illegal characters."}}`,
			providers.Permanent, providers.ReasonName, false, nil, 0},
		{"bad fragment", 400, "", `{"error":{"code":"invalidRequest","message":"Fragment sizes must be a multiple of 320 KiB"}}`,
			providers.Permanent, "", false, nil, 0},
		{"malware", 403, "", `{"error":{"code":"malwareDetected","message":"Malware was detected in the requested resource."}}`,
			providers.Permanent, "", false, nil, 0},
		{"too large", 413, "", `{"error":{"code":"invalidRequest","message":"Maximum request length exceeded.","innererror":{"code":"maxFileSizeExceeded"}}}`,
			providers.Permanent, "", false, nil, 0},
		{"locked", 423, "", `{"error":{"code":"resourceLocked","message":"The resource you are attempting to access is locked"}}`,
			providers.Temporary, "", false, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: c.status, Header: http.Header{}}
			if c.retryAfter != "" {
				resp.Header.Set("Retry-After", c.retryAfter)
			}
			err := classify("od", "upload a.bak", resp, []byte(c.body), nil)
			if got := providers.KindOf(err); got != c.kind {
				t.Errorf("kind %v, want %v (%v)", got, c.kind, err)
			}
			if got := providers.ReasonOf(err); got != c.reason {
				t.Errorf("reason %q, want %q", got, c.reason)
			}
			if got := errors.Is(err, providers.ErrNotFound); got != c.notFound {
				t.Errorf("ErrNotFound %v, want %v", got, c.notFound)
			}
			if c.sentinel != nil && !errors.Is(err, c.sentinel) {
				t.Errorf("%v does not match %v", err, c.sentinel)
			}
			if got := providers.RetryAfterOf(err); got != c.wait {
				t.Errorf("retry after %v, want %v", got, c.wait)
			}
			if !strings.Contains(err.Error(), "upload a.bak") || !strings.Contains(err.Error(), fmt.Sprint(c.status)) {
				t.Errorf("message %q lacks the operation or status", err)
			}
		})
	}
}

func TestClassifyAuthHintNamesDestination(t *testing.T) {
	err := classify("shop-cloud", "stat a", &http.Response{StatusCode: 401, Header: http.Header{}}, []byte(`{"error":{"code":"unauthenticated"}}`), nil)
	if h := providers.HintOf(err); !strings.Contains(h, "offsite auth shop-cloud") {
		t.Errorf("hint %q", h)
	}
}

func TestClassifyTransportErrors(t *testing.T) {
	secret := "http://127.0.0.1:1/_graph/upload/SECRETSESSION"
	refused := oauth.ClassifyTokenError(&oauth2.RetrieveError{ErrorCode: "invalid_grant", Response: &http.Response{StatusCode: 400}}, oauth.Store{Dest: "od"})
	cases := []struct {
		name string
		err  error
		kind providers.Kind
	}{
		{"reset", &url.Error{Op: "Put", URL: secret, Err: errors.New("connection reset by peer")}, providers.Temporary},
		{"canceled", &url.Error{Op: "Put", URL: secret, Err: context.Canceled}, providers.Canceled},
		{"refused refresh", &url.Error{Op: "Get", URL: secret, Err: refused}, providers.Fatal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := classify("od", "upload a.bak", nil, nil, c.err)
			if got := providers.KindOf(err); got != c.kind {
				t.Errorf("kind %v, want %v (%v)", got, c.kind, err)
			}
			if strings.Contains(err.Error(), "SECRETSESSION") {
				t.Errorf("error shows the upload URL: %v", err)
			}
		})
	}
}
