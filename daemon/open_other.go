//go:build !windows

package daemon

import "os"

// openShared opens a source file for reading. On Unix other programs can
// always rename or delete it while it is open.
func openShared(name string) (*os.File, error) { return os.Open(name) }
