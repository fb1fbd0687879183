//go:build windows

package watcher

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// writerHolds reports whether another program still has abs open for
// writing: an open that does not share write access fails while it does.
// The handle is closed at once, so the program is never the one refused
// (its own next open for writing could be, for those microseconds).
func writerHolds(abs string) bool {
	h, err := open(abs, windows.FILE_SHARE_READ|windows.FILE_SHARE_DELETE)
	if err != nil {
		return errors.Is(err, windows.ERROR_SHARING_VIOLATION)
	}
	windows.CloseHandle(h)
	return false
}

// openRead opens a settled file for the format check, sharing everything
// so the program may rewrite, rename or delete it meanwhile, and never
// through a link.
func openRead(abs string) (*os.File, error) {
	h, err := open(abs, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: abs, Err: err}
	}
	return os.NewFile(uintptr(h), abs), nil
}

func open(abs string, share uint32) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(abs)
	if err != nil {
		return 0, err
	}
	return windows.CreateFile(p, windows.GENERIC_READ, share, nil, windows.OPEN_EXISTING,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
}
