//go:build !windows

package watcher

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// pathID is the identity in fi, the Lstat of the ready file: no second look
// at the path, so it is the file the gate passed.
func pathID(_ string, fi fs.FileInfo) FileID { return statID(fi) }

func statID(fi fs.FileInfo) FileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return FileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}
	}
	return FileID{}
}

// HandleID is the identity of an open file.
func HandleID(f *os.File) (FileID, error) {
	fi, err := f.Stat()
	if err != nil {
		return FileID{}, err
	}
	if id := statID(fi); !id.IsZero() {
		return id, nil
	}
	return FileID{}, errors.New("no file identity")
}
