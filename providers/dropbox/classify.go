package dropbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/auth"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/files"

	"github.com/offsite-backup/offsite/providers"
)

// routeError is what offsite needs of a route's own (409) error, read from
// the SDK's typed error of whichever route answered.
type routeError struct {
	tag     string             // the route's union tag ("path", "lookup_failed", …)
	write   *files.WriteError  // why a write failed
	lookup  *files.LookupError // why a path lookup failed
	session string             // upload-session lookup tag ("not_found", "incorrect_offset", …)
	summary string
}

// routeErrorOf unpacks the SDK's typed route errors.
func routeErrorOf(err error) (routeError, bool) {
	var (
		up  files.UploadAPIError
		st  files.UploadSessionStartAPIError
		ap  files.UploadSessionAppendV2APIError
		fi  files.UploadSessionFinishAPIError
		gm  files.GetMetadataAPIError
		lf  files.ListFolderAPIError
		lc  files.ListFolderContinueAPIError
		del files.DeleteV2APIError
		dl  files.DownloadAPIError
	)
	var r routeError
	switch {
	case errors.As(err, &up) && up.EndpointError != nil:
		r = routeError{tag: up.EndpointError.Tag, summary: up.ErrorSummary}
		if p := up.EndpointError.Path; p != nil {
			r.write = p.Reason
		}
	case errors.As(err, &st) && st.EndpointError != nil:
		r = routeError{tag: st.EndpointError.Tag, summary: st.ErrorSummary}
	case errors.As(err, &ap) && ap.EndpointError != nil:
		// append flattens the session lookup error into its own union,
		// beside content_hash_mismatch, which is about this call's bytes.
		e := ap.EndpointError
		r = routeError{tag: e.Tag, session: e.Tag, summary: ap.ErrorSummary}
		if e.Tag == files.UploadSessionAppendErrorContentHashMismatch {
			r.session = ""
		}
	case errors.As(err, &fi) && fi.EndpointError != nil:
		e := fi.EndpointError
		r = routeError{tag: e.Tag, write: e.Path, summary: fi.ErrorSummary}
		if strings.HasPrefix(e.Tag, "concurrent_session_") {
			r.session = e.Tag // the session lacks data or was not closed: start over
		}
		if l := e.LookupFailed; l != nil {
			r.session = l.Tag
		}
	case errors.As(err, &gm) && gm.EndpointError != nil:
		r = routeError{tag: gm.EndpointError.Tag, lookup: gm.EndpointError.Path, summary: gm.ErrorSummary}
	case errors.As(err, &lf) && lf.EndpointError != nil:
		r = routeError{tag: lf.EndpointError.Tag, lookup: lf.EndpointError.Path, summary: lf.ErrorSummary}
	case errors.As(err, &lc) && lc.EndpointError != nil:
		r = routeError{tag: lc.EndpointError.Tag, lookup: lc.EndpointError.Path, summary: lc.ErrorSummary}
	case errors.As(err, &del) && del.EndpointError != nil:
		r = routeError{tag: del.EndpointError.Tag, lookup: del.EndpointError.PathLookup, write: del.EndpointError.PathWrite, summary: del.ErrorSummary}
	case errors.As(err, &dl) && dl.EndpointError != nil:
		r = routeError{tag: dl.EndpointError.Tag, lookup: dl.EndpointError.Path, summary: dl.ErrorSummary}
	default:
		return routeError{}, false
	}
	return r, true
}

func (r routeError) writeTag() string {
	if r.write == nil {
		return ""
	}
	return r.write.Tag
}

func (r routeError) lookupTag() string {
	if r.lookup == nil {
		return ""
	}
	return r.lookup.Tag
}

// conflictTag is the WriteConflictError tag ("file", "folder",
// "file_ancestor") when a write found something in the way.
func (r routeError) conflictTag() string {
	if r.write == nil || r.write.Tag != files.WriteErrorConflict || r.write.Conflict == nil {
		return ""
	}
	return r.write.Conflict.Tag
}

// classify maps every error a Dropbox call returns onto a providers kind.
// info carries what the transport saw (Retry-After); it may be nil. The
// service's words stay out of people's sight only where they could carry a
// secret: error summaries are tags and paths, never tokens or session ids.
func (c *Client) classify(op string, err error, info *callInfo) error {
	if err == nil {
		return nil
	}
	wrap := func(kind providers.Kind, reason providers.Reason, hint string) error {
		return providers.Errorf(kind, reason, hint, "%s: %w", op, err)
	}
	var (
		pe  *providers.Error
		rl  auth.RateLimitAPIError
		au  auth.AuthAPIError
		ac  auth.AccessAPIError
		se  auth.ServerError
		br  auth.BadRequest
		sdk dropbox.SDKInternalError
	)
	authHint := fmt.Sprintf("run `offsite auth %s` to log in again", c.name)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", op, err)
	case errors.As(err, &pe):
		return fmt.Errorf("%s: %w", op, err) // the token source classified it already
	case errors.As(err, &rl):
		wait := time.Duration(0)
		if info != nil {
			wait = info.retryAfter
		}
		if wait == 0 && rl.RateLimitError != nil {
			wait = time.Duration(rl.RateLimitError.RetryAfter) * time.Second
		}
		return &providers.Error{Kind: providers.RateLimited, RetryAfter: wait, Err: fmt.Errorf("%s: %w", op, err)}
	case errors.As(err, &au):
		// Reached only after a refresh was tried (see call).
		return wrap(providers.Fatal, providers.ReasonAuth, authHint)
	case errors.As(err, &ac):
		return wrap(providers.Fatal, providers.ReasonReadOnly, "check that the Dropbox app may write files")
	case errors.As(err, &se):
		return wrap(providers.Temporary, "", "")
	case errors.As(err, &br):
		return wrap(providers.Permanent, "", "") // the service could not accept the request as sent
	case errors.As(err, &sdk):
		return wrap(providers.Temporary, "", "")
	}
	r, ok := routeErrorOf(err)
	if !ok {
		return wrap(providers.Temporary, "", "") // network trouble, bodies that do not parse
	}
	switch r.writeTag() {
	case files.WriteErrorInsufficientSpace, files.WriteErrorTeamFolderInsufficientSpace, files.WriteErrorMemberFolderInsufficientSpace:
		return wrap(providers.Fatal, providers.ReasonQuota, "free up space in Dropbox or upgrade the plan")
	case files.WriteErrorUploadTrafficLimitReached:
		return wrap(providers.Fatal, providers.ReasonQuota, "the team's monthly upload limit is reached")
	case files.WriteErrorMalformedPath, files.WriteErrorDisallowedName:
		return wrap(providers.Permanent, providers.ReasonName, "Dropbox refuses this name")
	case files.WriteErrorConflict:
		return wrap(providers.Permanent, providers.ReasonName, "something else is stored under this name in Dropbox")
	case files.WriteErrorNoWritePermission, files.WriteErrorTeamFolder, files.WriteErrorAccessRestricted:
		return wrap(providers.Fatal, providers.ReasonReadOnly, "check the Dropbox folder's permissions")
	case files.WriteErrorTooManyWriteOperations:
		return &providers.Error{Kind: providers.RateLimited, RetryAfter: time.Second, Err: fmt.Errorf("%s: %w", op, err)}
	}
	switch r.lookupTag() {
	case files.LookupErrorNotFound:
		return fmt.Errorf("%s: %w", op, providers.ErrNotFound)
	case files.LookupErrorMalformedPath, files.LookupErrorNotFile, files.LookupErrorNotFolder:
		return wrap(providers.Permanent, providers.ReasonName, "")
	case files.LookupErrorRestrictedContent, files.LookupErrorUnsupportedContentType:
		return wrap(providers.Permanent, "", "")
	}
	switch r.session {
	case files.UploadSessionLookupErrorTooLarge, files.UploadSessionLookupErrorPayloadTooLarge:
		return wrap(providers.Permanent, "", "the file is larger than Dropbox accepts")
	case "":
	default: // not_found, incorrect_offset, closed: a new attempt starts over
		return wrap(providers.Temporary, "", "")
	}
	switch r.tag {
	case files.UploadErrorContentHashMismatch:
		return wrap(providers.Temporary, providers.ReasonChecksum, "")
	case files.UploadErrorPayloadTooLarge:
		return wrap(providers.Permanent, "", "the file is larger than Dropbox accepts")
	case files.UploadSessionFinishErrorTooManyWriteOperations: // the same tag on delete_v2
		return &providers.Error{Kind: providers.RateLimited, RetryAfter: time.Second, Err: fmt.Errorf("%s: %w", op, err)}
	}
	return wrap(providers.Temporary, "", "")
}
