//go:build windows

package drives

import (
	"strings"

	"golang.org/x/sys/windows"
)

// volumeOf names path's volume by its mount point (C:\, or a folder a
// disk is mounted on), as GetVolumePathName finds it.
func volumeOf(path string) (string, error) {
	if _, err := exists(path); err != nil {
		return "", err
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return "", err
	}
	buf := make([]uint16, windows.MAX_LONG_PATH)
	if err := windows.GetVolumePathName(p, &buf[0], uint32(len(buf))); err != nil {
		return "", err
	}
	return strings.ToUpper(windows.UTF16ToString(buf)), nil
}
