package drives

import (
	"errors"
	"io/fs"
	"os"
)

// SameDisk reports whether the existing folders a and b live on one disk
// (one volume), so that a copy from one to the other is not offsite: a
// failed disk, a theft or a fire takes both. known is false when either
// folder does not exist (a USB disk not plugged in) or cannot be looked at:
// then nothing can be said.
func SameDisk(a, b string) (same, known bool) {
	va, err := volumeOf(a)
	if err != nil {
		return false, false
	}
	vb, err := volumeOf(b)
	if err != nil {
		return false, false
	}
	return va == vb, true
}

// exists is a folder's stat, or an error naming why there is none.
func exists(path string) (fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a folder")
	}
	return fi, err
}
