//go:build windows

package watcher

import (
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// pathID opens the ready file itself (never a link's target) for its file
// ID: Lstat's FileInfo would only look it up later, by path.
func pathID(abs string, _ fs.FileInfo) FileID {
	p, err := windows.UTF16PtrFromString(abs)
	if err != nil {
		return FileID{}
	}
	h, err := windows.CreateFile(p, windows.FILE_READ_ATTRIBUTES,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return FileID{}
	}
	defer windows.CloseHandle(h)
	id, _ := handleID(h)
	return id
}

func handleID(h windows.Handle) (FileID, error) {
	var bi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &bi); err != nil {
		return FileID{}, err
	}
	return FileID{Dev: uint64(bi.VolumeSerialNumber), Ino: uint64(bi.FileIndexHigh)<<32 | uint64(bi.FileIndexLow)}, nil
}

// HandleID is the identity of an open file.
func HandleID(f *os.File) (FileID, error) { return handleID(windows.Handle(f.Fd())) }
