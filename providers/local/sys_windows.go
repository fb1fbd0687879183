//go:build windows

package local

import (
	"errors"

	"golang.org/x/sys/windows"
)

func isNoSpace(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL)
}
func isReadOnly(err error) bool { return errors.Is(err, windows.ERROR_WRITE_PROTECT) }

// syncDir is a no-op: Windows has no directory fsync; MoveFileEx is durable
// once the file itself was flushed.
func syncDir(string) {}

func diskUsage(dir string) (used, total int64, err error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, 0, err
	}
	var free, tot, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &free, &tot, &totalFree); err != nil {
		return 0, 0, err
	}
	return int64(tot - free), int64(tot), nil
}
