//go:build windows

package drives

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

var lookup Lookup = windowsDrive

var wnetGetConnection = windows.NewLazySystemDLL("mpr.dll").NewProc("WNetGetConnectionW")

func windowsDrive(letter string) Drive {
	root, err := windows.UTF16PtrFromString(letter + `\`)
	if err != nil {
		return Drive{}
	}
	var d Drive
	switch windows.GetDriveType(root) {
	case windows.DRIVE_NO_ROOT_DIR:
		d.Kind = Missing
	case windows.DRIVE_REMOVABLE:
		d.Kind = Removable
	case windows.DRIVE_FIXED:
		d.Kind = Fixed
	case windows.DRIVE_REMOTE:
		d.Kind = Remote
		d.UNC = remoteName(letter)
	case windows.DRIVE_CDROM:
		d.Kind = CDROM
	case windows.DRIVE_RAMDISK:
		d.Kind = RAMDisk
	}
	return d
}

// remoteName asks which share a mapped letter stands for; "" when unknown.
func remoteName(letter string) string {
	if wnetGetConnection.Find() != nil {
		return ""
	}
	local, err := windows.UTF16PtrFromString(letter)
	if err != nil {
		return ""
	}
	buf := make([]uint16, 1024)
	n := uint32(len(buf))
	r, _, _ := wnetGetConnection.Call(uintptr(unsafe.Pointer(local)), uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)))
	if r != 0 {
		return ""
	}
	return windows.UTF16ToString(buf)
}
