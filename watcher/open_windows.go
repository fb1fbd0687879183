//go:build windows

package watcher

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// openCheck opens a settled file for the format check without sharing
// write access: Windows refuses that while the program writing the backup
// still has it open, which is the surest sign it is not finished. Delete
// sharing stays, so the program may still rename or remove it.
func openCheck(abs string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(abs)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ, windows.FILE_SHARE_READ|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: abs, Err: err}
	}
	return os.NewFile(uintptr(h), abs), nil
}

// stillWriting reports an openCheck error that means a writer holds the file.
func stillWriting(err error) bool { return errors.Is(err, windows.ERROR_SHARING_VIOLATION) }
