// Package watcher notices each backup file in the watched folders once it is completely
// written, and says when a watched folder vanishes or comes back.
//
// Events are hints; the scan is the truth. fsnotify events only name paths to look at,
// a start-up scan, a periodic rescan and a rescan after any watcher error find whatever
// the events missed, and a file is declared ready only after two stats, Settle apart,
// agree on its size and modification time.
package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultSettle = 5 * time.Second
	DefaultRescan = 10 * time.Minute
)

// Config describes one watched folder.
type Config struct {
	Name      string        // watch name
	Path      string        // folder to watch (absolute)
	Include   []string      // glob patterns on the slash-separated relative path or base name; empty = all
	Exclude   []string      // same syntax; also prunes matching subdirectories
	Recursive bool          // descend into subdirectories (dot-directories are always skipped)
	Settle    time.Duration // size+mtime must be unchanged this long (default 5s)
	Rescan    time.Duration // periodic full rescan (default 10m)
	Poll      time.Duration // >0: no fsnotify, scan every Poll (network shares)
	Ignore    []string      // extra absolute paths never to report (offsite's own state dir, if inside)
}

// File is a complete file in a watched folder.
type File struct {
	Watch   string // Config.Name
	Rel     string // slash-separated path relative to Config.Path
	Abs     string
	Size    int64
	ModTime time.Time
	ID      FileID // the file the gate passed; zero when unknown
}

// Sink receives what the watcher finds. Its methods are called from several goroutines
// (one per watch) and may block briefly; events keep being collected meanwhile.
type Sink interface {
	Ready(f File)                    // a complete file (new, or changed since last reported)
	Missing(watch string, err error) // the watched folder vanished or is unreadable
	Back(watch string)               // it is back (a full scan follows)
	// Stuck reports a file that has waited since `since` without becoming
	// complete (why says what holds it): it is not on its way offsite, and
	// only the sink can keep that visible. Unstuck withdraws it when the file
	// is gone; a file that becomes complete is reported by Ready instead.
	Stuck(f File, since time.Time, why string)
	Unstuck(watch, rel string)
}

// Watcher watches every configured folder. Create it with New and start it with Run.
type Watcher struct {
	watches []*watch
	byName  map[string]*watch
	log     *slog.Logger

	mu      sync.Mutex
	running bool
}

// New checks the configurations and prepares a watcher; nothing is touched on disk until Run.
func New(cfgs []Config, sink Sink, log *slog.Logger) (*Watcher, error) {
	if sink == nil {
		return nil, errors.New("watcher: nil sink")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{byName: make(map[string]*watch), log: log}
	for i, c := range cfgs {
		if c.Name == "" {
			return nil, fmt.Errorf("watcher: watch #%d: empty name", i+1)
		}
		if _, dup := w.byName[c.Name]; dup {
			return nil, fmt.Errorf("watcher: watch %q: duplicate name", c.Name)
		}
		if !filepath.IsAbs(c.Path) {
			return nil, fmt.Errorf("watcher: watch %q: path %q is not absolute", c.Name, c.Path)
		}
		if c.Settle < 0 || c.Rescan < 0 || c.Poll < 0 {
			return nil, fmt.Errorf("watcher: watch %q: negative duration", c.Name)
		}
		c.Path = filepath.Clean(c.Path)
		if c.Settle == 0 {
			c.Settle = DefaultSettle
		}
		if c.Rescan == 0 {
			c.Rescan = DefaultRescan
		}
		f, err := newFilter(c)
		if err != nil {
			return nil, fmt.Errorf("watcher: watch %q: %w", c.Name, err)
		}
		wt := newWatch(c, f, sink, log.With("watch", c.Name))
		w.watches = append(w.watches, wt)
		w.byName[c.Name] = wt
	}
	return w, nil
}

// Run watches until ctx ends, then releases every OS watch and returns ctx's error.
// It may be called only once.
func (w *Watcher) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return errors.New("watcher: Run called twice")
	}
	w.running = true
	w.mu.Unlock()

	var wg sync.WaitGroup
	for _, wt := range w.watches {
		wg.Go(func() { wt.run(ctx) })
	}
	wg.Wait()
	return ctx.Err()
}

// Recheck sends one file back through the gate, forgetting that it was reported: the
// reader saw it change, so the version it reported is not the one on disk.
func (w *Watcher) Recheck(watch, rel string) {
	if wt := w.byName[watch]; wt != nil {
		wt.pend.recheck(rel)
	}
}

// Forget makes the watcher treat one file as not yet reported, without
// looking at it now: the next scan offers it again. For a file the sink
// could not take (unreadable for the moment).
func (w *Watcher) Forget(watch, rel string) {
	if wt := w.byName[watch]; wt != nil {
		wt.pend.forget(rel)
	}
}

// Rescan asks for a full rescan of one watch now, or of every watch when watch is "".
func (w *Watcher) Rescan(watch string) {
	for _, wt := range w.watches {
		if watch == "" || wt.cfg.Name == watch {
			wt.pend.requestRescan()
		}
	}
}
