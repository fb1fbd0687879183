//go:build !windows

package setup

import "os"

// IsAdmin reports whether this process may install a system service:
// root, since systemd units and launchd daemons are system-wide.
func IsAdmin() bool { return os.Geteuid() == 0 }
