package providers

import "context"

// As looks through p and the providers it wraps (each wrapper has an
// Unwrap() Provider method) for the first that is a T, for the few
// callers that need something of the adapter beneath a stack of wrappers.
func As[T any](p Provider) (T, bool) {
	for p != nil {
		if t, ok := p.(T); ok {
			return t, true
		}
		u, ok := p.(interface{ Unwrap() Provider })
		if !ok {
			break
		}
		p = u.Unwrap()
	}
	var zero T
	return zero, false
}

// ErrNoQuota is what every wrapper answers for Quota when nothing beneath
// it can report the account's space.
var ErrNoQuota = Errorf(Permanent, "", "", "this destination cannot report its free space")

// QuotaOf asks p, or the first provider beneath it that can tell, for the
// account's space; ErrNoQuota when none can.
func QuotaOf(ctx context.Context, p Provider) (used, total int64, err error) {
	q, ok := As[Quotaer](p)
	if !ok {
		return 0, 0, ErrNoQuota
	}
	return q.Quota(ctx)
}

// CloseOf closes p, or the first provider beneath it that holds
// resources; nil when none does.
func CloseOf(p Provider) error {
	c, ok := As[Closer](p)
	if !ok {
		return nil
	}
	return c.Close()
}
