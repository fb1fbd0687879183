//go:build !windows

package drives

// Only Windows has drive letters.
var lookup Lookup
