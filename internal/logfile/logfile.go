// Package logfile is a log file that rotates by size while it is written:
// a service that runs for months keeps a bounded history (name, name.1 …
// name.N, newest first) instead of one file that grows without end.
package logfile

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// Defaults: 10 MiB per file, five old files kept (60 MiB at most).
const (
	DefaultMaxSize = 10 << 20
	DefaultKeep    = 5
)

// File is an io.Writer appending to a log file and rotating it once it
// would pass MaxSize. Safe for concurrent use; each Write lands whole in
// one file, so a log record is never split across two.
type File struct {
	name    string
	maxSize int64
	keep    int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// Open appends to name (created 0600), rotating when a write would take it
// past maxSize bytes and keeping keep old files. Zero values take the defaults.
func Open(name string, maxSize int64, keep int) (*File, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if keep <= 0 {
		keep = DefaultKeep
	}
	l := &File{name: name, maxSize: maxSize, keep: keep}
	if err := l.open(); err != nil {
		return nil, err
	}
	if l.size >= maxSize {
		if err := l.rotate(); err != nil {
			l.f.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *File) open() error {
	f, err := os.OpenFile(l.name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open log %s: %w", l.name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log %s: %w", l.name, err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Write appends p, rotating first when p would take the file past the limit.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.size > 0 && l.size+int64(len(p)) > l.maxSize {
		if err := l.rotate(); err != nil {
			// Keep logging into the file we have rather than lose the record.
			fmt.Fprintf(os.Stderr, "offsite: %v\n", err)
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// rotate closes the file (Windows cannot rename an open one), shifts
// name.i to name.i+1, dropping the oldest, and starts a new name.
func (l *File) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("rotate log %s: %w", l.name, err)
	}
	l.f = nil
	os.Remove(fmt.Sprintf("%s.%d", l.name, l.keep))
	for i := l.keep - 1; i >= 1; i-- {
		// A missing older file is normal; any other failure shows in the
		// rename of the live log below, which is reported.
		_ = os.Rename(fmt.Sprintf("%s.%d", l.name, i), fmt.Sprintf("%s.%d", l.name, i+1))
	}
	rerr := os.Rename(l.name, l.name+".1")
	if err := l.open(); err != nil {
		return err
	}
	if rerr != nil {
		return fmt.Errorf("rotate log %s: %w", l.name, rerr)
	}
	return nil
}

// Close closes the file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Logger logs as text to console and, when the state folder can hold it,
// to its offsite.log, rotated at DefaultMaxSize with DefaultKeep previous
// files: a Windows service or a scheduled `once` has no console, and a
// technician wants the history. The func returned closes the file.
func Logger(console io.Writer, stateDir string, level slog.Level) (*slog.Logger, func()) {
	opts := &slog.HandlerOptions{Level: level}
	text := slog.NewTextHandler(console, opts)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return slog.New(text), func() {}
	}
	f, err := Open(filepath.Join(stateDir, "offsite.log"), DefaultMaxSize, DefaultKeep)
	if err != nil {
		fmt.Fprintf(console, "offsite: %v; logging to the console only\n", err)
		return slog.New(text), func() {}
	}
	return slog.New(slog.NewMultiHandler(text, slog.NewTextHandler(f, opts))), func() { f.Close() }
}

// Level is the log level a config's log_level names (info when empty or
// unknown); verbose (-v) is debug whatever the config says.
func Level(name string, verbose bool) slog.Level {
	switch {
	case verbose || name == "debug":
		return slog.LevelDebug
	case name == "warn":
		return slog.LevelWarn
	case name == "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
