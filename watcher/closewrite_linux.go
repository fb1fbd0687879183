//go:build linux

package watcher

import (
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// writers tracks which files have been written to since their writer last
// closed them, from inotify's IN_MODIFY and IN_CLOSE_WRITE on one queue so
// their order holds. (fsnotify 1.10 keeps its close-write op unexported.)
// A file written to and not closed since is still open by its writer: a
// pause in its writing is not the end of it.
type writers struct {
	f    *os.File
	mu   sync.Mutex
	wds  map[int]string      // watch descriptor → directory
	open map[string]struct{} // absolute paths written and not closed since
	done chan struct{}
}

func newWriters() *writers {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil // no close-write events: the settle time and format checks remain
	}
	// Non-blocking and wrapped in an os.File, so Close wakes the reader.
	t := &writers{f: os.NewFile(uintptr(fd), "inotify"), wds: map[int]string{}, open: map[string]struct{}{}, done: make(chan struct{})}
	go t.read()
	return t
}

func (t *writers) add(dir string) {
	if t == nil {
		return
	}
	const mask = unix.IN_MODIFY | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_DELETE | unix.IN_ONLYDIR
	wd, err := unix.InotifyAddWatch(int(t.f.Fd()), dir, mask)
	if err != nil {
		return // best effort: without it the file waits for settle alone
	}
	t.mu.Lock()
	t.wds[wd] = dir
	t.mu.Unlock()
}

// writing reports whether abs was written to and not closed since.
func (t *writers) writing(abs string) bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.open[abs]
	return ok
}

func (t *writers) close() {
	if t == nil {
		return
	}
	t.f.Close()
	<-t.done
}

func (t *writers) read() {
	defer close(t.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := t.f.Read(buf)
		if err != nil || n <= 0 {
			return
		}
		t.mu.Lock()
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				clear(t.open) // a close may be lost: fall back on settle alone
				continue
			}
			if ev.Mask&unix.IN_IGNORED != 0 {
				delete(t.wds, int(ev.Wd))
				continue
			}
			dir, ok := t.wds[int(ev.Wd)]
			if !ok || ev.Len == 0 {
				continue
			}
			abs := filepath.Join(dir, unix.ByteSliceToString(name))
			if ev.Mask&unix.IN_MODIFY != 0 && ev.Mask&unix.IN_CLOSE_WRITE == 0 {
				t.open[abs] = struct{}{}
			} else {
				// Closed, or a new file under this name: whatever wrote the
				// old one no longer matters.
				delete(t.open, abs)
			}
		}
		t.mu.Unlock()
	}
}
