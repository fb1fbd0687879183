//go:build !windows

package service

import "os"

// isAdmin reports whether this process may install a system service:
// root, since systemd units and launchd daemons are system-wide.
func isAdmin() bool { return os.Geteuid() == 0 }
