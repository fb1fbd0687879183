//go:build windows

package setup

import "golang.org/x/sys/windows"

// IsAdmin reports whether this process runs elevated: an administrator
// whose shell was not started with "Run as administrator" holds a filtered
// token and may not create services.
func IsAdmin() bool { return windows.GetCurrentProcessToken().IsElevated() }
