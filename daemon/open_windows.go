//go:build windows

package daemon

import (
	"os"

	"golang.org/x/sys/windows"
)

// openShared opens a source file with FILE_SHARE_DELETE as well as read and
// write sharing, so a POS program or Excel can still delete, rename or
// rewrite its backup while offsite reads it (os.Open would block them).
func openShared(name string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(h), name), nil
}
