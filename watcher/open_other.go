//go:build !windows

package watcher

import (
	"os"
	"syscall"
)

// writerHolds reports whether a writer still has abs open. Unix has no
// open that says so; close-write events (Linux) stand in for it.
func writerHolds(string) bool { return false }

// openRead opens a settled file for the format check: never through a
// link, and never blocking on a FIFO swapped in meanwhile.
func openRead(abs string) (*os.File, error) {
	return os.OpenFile(abs, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}
