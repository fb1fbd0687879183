package onedrive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

// apiError is Graph's error body. Detail codes nest in innererror objects.
type apiError struct {
	Error struct {
		Code       string    `json:"code"`
		Message    string    `json:"message"`
		InnerError *innerErr `json:"innererror"`
	} `json:"error"`
}

type innerErr struct {
	Code       string    `json:"code"`
	InnerError *innerErr `json:"innererror"`
}

// codes returns the top-level code followed by every nested detail code.
func (e *apiError) codes() []string {
	out := []string{e.Error.Code}
	for in := e.Error.InnerError; in != nil; in = in.InnerError {
		if in.Code != "" {
			out = append(out, in.Code)
		}
	}
	return out
}

var (
	// errConflict marks a name that already exists where a create asked
	// to fail on conflict.
	errConflict = errors.New("name already exists")
	// errOverlap marks a fragment the session already holds (416): resync
	// from the session's status.
	errOverlap = errors.New("fragment range not expected")
)

// nameCodes are detail codes that mean the service refuses the path.
var nameCodes = map[string]bool{
	"invalidPath": true, "pathIsTooLong": true, "pathTooDeep": true,
	"nameContainsInvalidCharacters": true, "invalidName": true,
}

// classify is the one mapping of Graph's answers onto providers kinds,
// for the destination named dest. err
// is a transport failure (resp nil); otherwise resp is a non-2xx answer
// whose body has been read. op says what was attempted; it never holds an
// upload URL, and URLs are stripped from transport errors, because an
// upload URL is a credential.
func classify(dest, op string, resp *http.Response, body []byte, err error) error {
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var pe *providers.Error
		switch {
		case errors.Is(err, context.Canceled):
			return &providers.Error{Kind: providers.Canceled, Err: fmt.Errorf("%s: %w", op, err)}
		case errors.As(err, &pe):
			return fmt.Errorf("%s: %w", op, err) // the token source classified it
		}
		return &providers.Error{Kind: providers.Temporary, Err: fmt.Errorf("%s: %w", op, err)}
	}

	var ae apiError
	_ = json.Unmarshal(body, &ae)
	codes := ae.codes()
	has := func(c string) bool {
		for _, x := range codes {
			if strings.EqualFold(x, c) {
				return true
			}
		}
		return false
	}
	detail := strings.Trim(strings.Join(codes, "/"), "/")
	if detail == "" {
		detail = http.StatusText(resp.StatusCode)
	}
	msg := fmt.Errorf("%s: HTTP %d %s: %s", op, resp.StatusCode, detail, ae.Error.Message)
	status := resp.StatusCode
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"))
	e := func(k providers.Kind, r providers.Reason, hint string, wrapped error) error {
		if wrapped != nil {
			msg = fmt.Errorf("%w: %w", msg, wrapped)
		}
		return &providers.Error{Kind: k, Reason: r, Hint: hint, RetryAfter: retryAfter, Err: msg}
	}
	switch {
	case status == http.StatusInsufficientStorage || has("quotaLimitReached"):
		return e(providers.Fatal, providers.ReasonQuota, "free space in the OneDrive account or buy more storage", nil)
	case status == http.StatusTooManyRequests || status == 509 ||
		(status == http.StatusServiceUnavailable && retryAfter > 0):
		return e(providers.RateLimited, "", "", nil)
	case status >= 500:
		return e(providers.Temporary, "", "", nil)
	case status == http.StatusUnauthorized:
		// The transport already refreshed once; a second refusal needs a person.
		return e(providers.Fatal, providers.ReasonAuth, fmt.Sprintf("run `offsite auth %s` to log in again", dest), nil)
	case has("malwareDetected"):
		return e(providers.Permanent, "", "the service flagged this file as malware", nil)
	case status == http.StatusForbidden:
		return e(providers.Fatal, providers.ReasonReadOnly, "check that the account may write to the folder", nil)
	case status == http.StatusNotFound:
		return e(providers.Permanent, "", "", providers.ErrNotFound)
	case status == http.StatusConflict && !has("resourceModified"):
		return e(providers.Permanent, "", "", errConflict)
	case status == http.StatusRequestedRangeNotSatisfiable:
		return e(providers.Temporary, "", "", errOverlap)
	case has("maxFileSizeExceeded"), status == http.StatusRequestEntityTooLarge:
		return e(providers.Permanent, "", "", nil)
	case status == http.StatusBadRequest && nameRefused(codes, ae.Error.Message):
		return e(providers.Permanent, providers.ReasonName, "rename the file or shorten its path", nil)
	case status == http.StatusBadRequest:
		return e(providers.Permanent, "", "", nil)
	}
	// 409 resourceModified, 412, 423 and whatever else: trying again may help.
	return e(providers.Temporary, "", "", nil)
}

func nameRefused(codes []string, message string) bool {
	for _, c := range codes {
		if nameCodes[c] {
			return true
		}
	}
	m := strings.ToLower(message)
	return strings.Contains(m, "name") || strings.Contains(m, "path")
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
