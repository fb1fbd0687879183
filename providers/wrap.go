package providers

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
