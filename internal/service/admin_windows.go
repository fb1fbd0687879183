//go:build windows

package service

import "golang.org/x/sys/windows"

// isAdmin reports whether this process runs elevated: an administrator
// whose shell was not started with "Run as administrator" holds a filtered
// token and may not create services.
func isAdmin() bool { return windows.GetCurrentProcessToken().IsElevated() }
