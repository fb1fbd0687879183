//go:build windows

package daemon

import (
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// openSource opens rel under the watched folder root with FILE_SHARE_DELETE
// as well as read and write sharing, so a POS program or Excel can still
// delete, rename or rewrite its backup while offsite reads it (os.Open
// would block them). FILE_FLAG_OPEN_REPARSE_POINT opens a symbolic link or
// junction itself rather than its target, so a link swapped in after the
// gate passed the file fails with errLinked instead of being read. (A
// junction on a folder above the file is caught by the intake's file ID
// check against what the watcher saw.)
func openSource(root, rel string) (*os.File, error) {
	name := filepath.Join(root, filepath.FromSlash(rel))
	h, bi, err := openWin(name, windows.FILE_FLAG_OPEN_REPARSE_POINT)
	if err != nil {
		return nil, err
	}
	if bi.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		var tag struct{ Attributes, ReparseTag uint32 }
		err := windows.GetFileInformationByHandleEx(h, windows.FileAttributeTagInfo, (*byte)(unsafe.Pointer(&tag)), uint32(unsafe.Sizeof(tag)))
		windows.CloseHandle(h)
		// Name surrogates (symbolic links, junctions, WSL links) point
		// elsewhere; other reparse points (OneDrive placeholders,
		// deduplicated files) are this file's own data: open it normally
		// and check it still is the same file.
		if err != nil || tag.ReparseTag&0x20000000 != 0 {
			return nil, &os.PathError{Op: "open", Path: name, Err: errLinked}
		}
		h2, bi2, err := openWin(name, 0)
		if err != nil {
			return nil, err
		}
		if bi2.VolumeSerialNumber != bi.VolumeSerialNumber || bi2.FileIndexHigh != bi.FileIndexHigh || bi2.FileIndexLow != bi.FileIndexLow {
			windows.CloseHandle(h2)
			return nil, &os.PathError{Op: "open", Path: name, Err: errLinked}
		}
		h, bi = h2, bi2
	}
	if bi.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
		windows.CloseHandle(h)
		return nil, &os.PathError{Op: "open", Path: name, Err: errNotRegular}
	}
	return os.NewFile(uintptr(h), name), nil
}

func openWin(name string, flags uint32) (windows.Handle, windows.ByHandleFileInformation, error) {
	var bi windows.ByHandleFileInformation
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0, bi, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL|flags, 0)
	if err != nil {
		return 0, bi, &os.PathError{Op: "open", Path: name, Err: err}
	}
	if err := windows.GetFileInformationByHandle(h, &bi); err != nil {
		windows.CloseHandle(h)
		return 0, bi, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return h, bi, nil
}
