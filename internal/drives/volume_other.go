//go:build !windows

package drives

import (
	"fmt"
	"syscall"
)

// volumeOf names path's file system by its device number. A mount point
// with nothing mounted on it is the disk under it, which is what a copy
// there would land on.
func volumeOf(path string) (string, error) {
	fi, err := exists(path)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("no device number for %s", path)
	}
	return fmt.Sprint(st.Dev), nil
}
