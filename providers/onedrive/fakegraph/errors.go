package fakegraph

import (
	"encoding/json"
	"net/http"
	"time"
)

// graphError is one Graph error answer. Graph nests detail codes in
// innererror objects; clients are expected to walk them.
type graphError struct {
	status  int
	code    string
	message string
	inner   string // detailed code, "" for none
}

func (e *graphError) body() []byte {
	type innerErr struct {
		Code      string    `json:"code,omitempty"`
		Date      string    `json:"date"`
		RequestID string    `json:"request-id"`
		Inner     *innerErr `json:"innererror,omitempty"`
	}
	top := map[string]any{"code": e.code, "message": e.message}
	ie := &innerErr{Date: time.Now().UTC().Format("2006-01-02T15:04:05"), RequestID: randomID(16)}
	if e.inner != "" {
		ie = &innerErr{Code: e.inner, Date: ie.Date, RequestID: ie.RequestID}
	}
	top["innererror"] = ie
	b, _ := json.Marshal(map[string]any{"error": top})
	return b
}

func writeError(w http.ResponseWriter, e *graphError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	w.Write(e.body())
}

func errNotFound(what string) *graphError {
	return &graphError{http.StatusNotFound, "itemNotFound", "The resource could not be found: " + what, ""}
}

func errInvalid(inner, msg string) *graphError {
	return &graphError{http.StatusBadRequest, "invalidRequest", msg, inner}
}

func errNameExists(name string) *graphError {
	return &graphError{http.StatusConflict, "nameAlreadyExists", "The specified item name already exists. Name: " + name, ""}
}

func errRange(inner, msg string) *graphError {
	return &graphError{http.StatusRequestedRangeNotSatisfiable, "invalidRange", msg, inner}
}

var (
	errQuota = &graphError{http.StatusInsufficientStorage, "quotaLimitReached", "Insufficient Space Available", ""}
	// Graph answers a missing token with unauthenticated and a bad or
	// expired one with InvalidAuthenticationToken.
	errNoToken      = &graphError{http.StatusUnauthorized, "unauthenticated", "Must be authenticated to use '/drive' syntax", ""}
	errBadToken     = &graphError{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.", ""}
	errAuthOnUpload = &graphError{http.StatusUnauthorized, "unauthenticated", "The upload URL is pre-authenticated; do not send an Authorization header.", ""}
	errTempAuth     = &graphError{http.StatusUnauthorized, "unauthenticated", "The upload URL's tempauth parameter is missing or does not match the session; use the uploadUrl exactly as createUploadSession returned it.", ""}
	errSessionGone  = &graphError{http.StatusNotFound, "itemNotFound", "The upload session was not found.", "uploadSessionNotFound"}
)

// ErrorBody renders Graph's error body for an injected status.
func (s *Server) ErrorBody(status int) (string, []byte) {
	var e *graphError
	switch status {
	case http.StatusTooManyRequests:
		e = &graphError{status, "activityLimitReached", "The request has been throttled", "throttledRequest"}
	case http.StatusServiceUnavailable:
		e = &graphError{status, "serviceNotAvailable", "Service unavailable", ""}
	case http.StatusUnauthorized:
		e = errBadToken
	case http.StatusInsufficientStorage:
		e = errQuota
	case http.StatusNotFound:
		e = errNotFound("injected")
	case http.StatusConflict:
		e = errNameExists("injected")
	case http.StatusRequestedRangeNotSatisfiable:
		e = errRange("fragmentOverlap", "The uploaded fragment overlaps with data that has already been received.")
	case http.StatusBadRequest:
		e = errInvalid("", "Invalid request")
	case http.StatusForbidden:
		e = &graphError{status, "accessDenied", "Access denied", ""}
	default:
		e = &graphError{status, "generalException", "An unspecified error has occurred.", ""}
	}
	e = &graphError{status, e.code, e.message, e.inner}
	return "application/json", e.body()
}
