package fakedrive

import (
	"encoding/json"
	"net/http"
)

// driveError is one error as Drive v3 renders it; the Go client parses it
// into *googleapi.Error.
type driveError struct {
	Code         int
	Message      string
	Domain       string
	Reason       string
	Location     string
	LocationType string
	Status       string // the gRPC-style status some answers carry
}

func (e driveError) body() []byte {
	item := map[string]string{"message": e.Message, "domain": e.Domain, "reason": e.Reason}
	if e.Location != "" {
		item["location"] = e.Location
		item["locationType"] = e.LocationType
	}
	inner := map[string]any{"code": e.Code, "message": e.Message, "errors": []any{item}}
	if e.Status != "" {
		inner["status"] = e.Status
	}
	b, _ := json.Marshal(map[string]any{"error": inner})
	return b
}

// The bodies below are copied from answers Drive gives (see the research
// notes, §1.7); clients classify by errors[0].reason.
var (
	errRateLimit = driveError{Code: 429, Message: "Rate Limit Exceeded", Domain: "usageLimits", Reason: "rateLimitExceeded"}
	errUserRate  = driveError{Code: 403, Message: "User Rate Limit Exceeded", Domain: "usageLimits", Reason: "userRateLimitExceeded"}
	errBackend   = driveError{Code: 500, Message: "Backend Error", Domain: "global", Reason: "backendError"}
	errUnavail   = driveError{Code: 503, Message: "The service is currently unavailable.", Domain: "global", Reason: "backendError", Status: "UNAVAILABLE"}
	errAuth      = driveError{Code: 401,
		Message: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
		Domain:  "global", Reason: "authError", Location: "Authorization", LocationType: "header", Status: "UNAUTHENTICATED"}
	errQuota = driveError{Code: 403, Message: "The user's Drive storage quota has been exceeded.", Domain: "usageLimits", Reason: "storageQuotaExceeded"}
)

func errNotFound(id string) driveError {
	return driveError{Code: 404, Message: "File not found: " + id + ".", Domain: "global", Reason: "notFound", Location: "fileId", LocationType: "parameter"}
}

func errInvalid(location, msg string) driveError {
	return driveError{Code: 400, Message: msg, Domain: "global", Reason: "invalid", Location: location, LocationType: "parameter"}
}

func errBadRequest(msg string) driveError {
	return driveError{Code: 400, Message: msg, Domain: "global", Reason: "badRequest"}
}

func errDuplicateID() driveError {
	return driveError{Code: 409, Message: "A file already exists with the provided ID.", Domain: "global", Reason: "duplicate", Location: "id", LocationType: "other"}
}

// ErrorBody renders Drive's own error body for an injected status.
func (s *Server) ErrorBody(status int) (string, []byte) {
	var e driveError
	switch {
	case status == 429:
		e = errRateLimit
	case status == 403:
		e = errUserRate
	case status == 401:
		e = errAuth
	case status == 404:
		e = errNotFound("injected")
	case status == 503:
		e = errUnavail
	case status >= 500:
		e = errBackend
		e.Code = status
	default:
		e = errBadRequest(http.StatusText(status))
		e.Code = status
	}
	return "application/json; charset=UTF-8", e.body()
}

func writeError(w http.ResponseWriter, e driveError) {
	if e.Code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.Code)
	w.Write(e.body())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
