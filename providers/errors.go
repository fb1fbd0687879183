package providers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is matched (errors.Is) by errors for absent remote files.
var ErrNotFound = errors.New("not found")

// ErrStalled is matched (errors.Is) by errors of calls given up because
// nothing moved: no answer, or no body bytes, for the destination's timeout.
var ErrStalled = errors.New("stalled")

// Stalled is the error of a call given up because nothing moved; what says
// what did not happen ("no data moved for 2m0s"). It is Temporary: the
// next attempt may well get through, and the queue keeps the job.
func Stalled(what string) error {
	return &Error{Kind: Temporary, Err: stallError(what)}
}

type stallError string

func (e stallError) Error() string {
	// Not "will retry": push gives up on it; the daemon says it retries.
	return string(e) + "; the service or the network stalled"
}

func (e stallError) Is(target error) bool { return target == ErrStalled }

// Kind says what the caller should do about an error. Each adapter maps
// every error it sees onto exactly one Kind, in one classify function.
type Kind int

const (
	// Temporary errors are retried with backoff: 5xx, resets, timeouts,
	// and anything unrecognised.
	Temporary Kind = iota
	// RateLimited errors are retried no sooner than Error.RetryAfter, and
	// slow every worker that uses the same account.
	RateLimited
	// Permanent errors mean this file cannot succeed as it is (a name the
	// service refuses, a source that vanished): dead-letter and tell.
	Permanent
	// Fatal errors mean the destination is unusable until a person acts
	// (login revoked, storage full, folder gone): pause it, tell, keep the jobs.
	Fatal
	// Canceled is the caller's own context ending. It is never retried and
	// never counted as a failure.
	Canceled
)

func (k Kind) String() string {
	switch k {
	case Temporary:
		return "temporary"
	case RateLimited:
		return "rate-limited"
	case Permanent:
		return "permanent"
	case Fatal:
		return "fatal"
	case Canceled:
		return "canceled"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Reason refines Fatal and Permanent errors for people and alerts.
type Reason string

const (
	ReasonAuth       Reason = "auth"      // login expired or revoked
	ReasonQuota      Reason = "quota"     // account or disk full
	ReasonMissing    Reason = "missing"   // destination folder or disk absent
	ReasonReadOnly   Reason = "read-only" // no permission to write
	ReasonName       Reason = "name"      // the service refuses the name or path
	ReasonChecksum   Reason = "checksum"  // stored bytes differ from the source
	ReasonSourceGone Reason = "source"    // the local file changed or vanished
)

// Error is a classified error. Adapters return it (wrapping the service's
// own error); everything above them decides by Kind only.
type Error struct {
	Kind       Kind
	Reason     Reason        // optional refinement
	RetryAfter time.Duration // for RateLimited: the server's requested wait
	Hint       string        // what a person should do, in plain words
	Err        error
}

func (e *Error) Error() string {
	msg := "<nil>"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Hint != "" {
		return msg + " (" + e.Hint + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Classify wraps err as kind. A nil err stays nil.
func Classify(kind Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Err: err}
}

// Errorf builds a classified error with a reason and a hint for people.
func Errorf(kind Kind, reason Reason, hint string, format string, args ...any) error {
	return &Error{Kind: kind, Reason: reason, Hint: hint, Err: fmt.Errorf(format, args...)}
}

// KindOf reports the Kind of err. Context cancellation and deadline are
// Canceled; unclassified errors are Temporary, because a backup tool should
// rather try again than give up on a file.
func KindOf(err error) Kind {
	if err == nil {
		return Temporary
	}
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, ErrNotFound) {
		return Permanent // asking again will not make it appear
	}
	return Temporary
}

// ReasonOf returns the Reason recorded on err, or "".
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// HintOf returns the hint recorded on err, or "".
func HintOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

// RetryAfterOf returns the wait a RateLimited error asks for, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) && e.Kind == RateLimited {
		return e.RetryAfter
	}
	return 0
}
