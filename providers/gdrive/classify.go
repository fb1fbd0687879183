package gdrive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/oauth"
)

// classify maps every error a Drive call can return onto a providers kind.
// Drive overloads 403, so the reason in the body decides, not the status.
func (c *Client) classify(err error) error {
	if err == nil {
		return nil
	}
	// A session URI is a secret and url.Error prints it: keep only its path.
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURL(ue.URL)
	}
	var pe *providers.Error
	if errors.As(err, &pe) || errors.Is(err, context.Canceled) {
		return err // already classified (the token source, a stall), or the caller's own cancel
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return oauth.ClassifyTokenError(err, c.store)
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		// Resets, unexpected EOF, timeouts, refused connections: try again.
		return providers.Classify(providers.Temporary, err)
	}
	reason := ""
	if len(ge.Errors) > 0 {
		reason = ge.Errors[0].Reason
	}
	switch {
	case ge.Code == http.StatusTooManyRequests,
		ge.Code == http.StatusForbidden && (reason == "rateLimitExceeded" || reason == "userRateLimitExceeded"):
		return &providers.Error{Kind: providers.RateLimited, RetryAfter: retryAfter(ge.Header), Err: err}
	case ge.Code == http.StatusForbidden && (reason == "storageQuotaExceeded" || reason == "quotaExceeded" || reason == "teamDriveFileLimitExceeded"):
		return &providers.Error{Kind: providers.Fatal, Reason: providers.ReasonQuota, Err: err,
			Hint: "the Google Drive account is full: free some space or buy more storage"}
	case ge.Code == http.StatusForbidden && reason == "dailyLimitExceeded":
		return &providers.Error{Kind: providers.RateLimited, RetryAfter: time.Hour, Err: err}
	case ge.Code == http.StatusForbidden:
		return &providers.Error{Kind: providers.Fatal, Reason: providers.ReasonReadOnly, Err: err,
			Hint: "check that the logged-in account may write to the destination folder"}
	case ge.Code == http.StatusUnauthorized:
		// The transport has already dropped the refused access token; the
		// next attempt refreshes. A refused refresh comes back as Fatal.
		return providers.Classify(providers.Temporary, err)
	case ge.Code == http.StatusNotFound:
		return fmt.Errorf("%w: %w", providers.ErrNotFound, err)
	case ge.Code == http.StatusBadRequest && isNameProblem(ge):
		return &providers.Error{Kind: providers.Permanent, Reason: providers.ReasonName, Err: err}
	case ge.Code == http.StatusRequestTimeout || ge.Code >= 500:
		return providers.Classify(providers.Temporary, err)
	}
	return providers.Classify(providers.Permanent, err)
}

func isNameProblem(ge *googleapi.Error) bool {
	if strings.Contains(strings.ReplaceAll(ge.Body, " ", ""), `"location":"name"`) {
		return true
	}
	m := strings.ToLower(ge.Message)
	return strings.Contains(m, "name") || strings.Contains(m, "utf-8")
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// redactURL drops the query (session ids, tokens) from a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(url)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}
