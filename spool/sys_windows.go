//go:build windows

package spool

import (
	"errors"

	"golang.org/x/sys/windows"
)

func freeSpace(dir string) (int64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var free, tot, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &free, &tot, &totalFree); err != nil {
		return 0, err
	}
	return int64(free), nil
}

func isNoSpace(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL)
}

// syncDir is a no-op: Windows has no directory fsync.
func syncDir(string) {}
