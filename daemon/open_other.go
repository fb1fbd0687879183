//go:build !windows

package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// openSource opens rel (slash-separated) under the watched folder root for
// reading. On Unix other programs can always rename or delete it while it
// is open. No link is followed below root: each folder is opened with
// O_NOFOLLOW relative to its parent, and the file itself too, so a link
// swapped in after the gate passed the file (day.bak -> /etc/shadow) fails
// with errLinked instead of being read. O_NONBLOCK keeps a FIFO swapped in
// from blocking the open; it changes nothing for a regular file.
func openSource(root, rel string) (*os.File, error) {
	name := filepath.Join(root, filepath.FromSlash(rel))
	dir, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	parts := strings.Split(rel, "/")
	for _, p := range parts[:len(parts)-1] {
		next, err := unix.Openat(dir, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(dir)
		if err != nil {
			return nil, linkOr(name, err)
		}
		dir = next
	}
	fd, err := unix.Openat(dir, parts[len(parts)-1], unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	unix.Close(dir)
	if err != nil {
		return nil, linkOr(name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = errNotRegular
		}
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return f, nil
}

// linkOr maps O_NOFOLLOW's refusal (ELOOP; EMLINK on FreeBSD; ENOTDIR for a
// folder that became a link to a file) onto errLinked.
func linkOr(name string, err error) error {
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) || errors.Is(err, syscall.ENOTDIR) {
		err = errLinked
	}
	return &os.PathError{Op: "open", Path: name, Err: err}
}
