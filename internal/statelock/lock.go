// Package statelock makes sure one offsite daemon at a time uses a state
// folder. The lock is an OS file lock, which the kernel drops when the
// holder dies, so a crash or power cut can never leave a stale lock behind;
// the file's text only names the holder for the error message.
package statelock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrHeld is matched by the error Acquire returns when another process holds the lock.
var ErrHeld = errors.New("state folder in use")

// Lock is a held state lock.
type Lock struct {
	f *os.File
}

// Acquire takes the lock in dir, failing at once if another process holds it.
func Acquire(dir, what string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state folder: %w", err)
	}
	name := filepath.Join(dir, "offsite.lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := lockFile(f); err != nil {
		holder, _ := os.ReadFile(name)
		f.Close()
		h := strings.TrimSpace(string(holder))
		if h == "" {
			h = "another offsite process"
		}
		return nil, fmt.Errorf("%w: %s already uses %s; stop it first (or `offsite service stop`), or give this one its own state_dir: %w",
			ErrHeld, h, dir, err)
	}
	host, _ := os.Hostname()
	// Who holds the lock is only information for the next one refused:
	// failing to write it does not weaken the lock.
	_ = f.Truncate(0)
	fmt.Fprintf(f, "offsite %s (pid %d on %s, since %s)\n", what, os.Getpid(), host, time.Now().Format(time.RFC3339))
	_ = f.Sync()
	return &Lock{f: f}, nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0) // informational, see Acquire
	uerr := unlockFile(l.f)
	err := errors.Join(uerr, l.f.Close())
	l.f = nil
	return err
}
