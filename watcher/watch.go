package watcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

const (
	// quickCheck is the gap before the second stat of a file whose mtime was already
	// older than Settle when a scan found it, so a start-up scan of many old files
	// does not wait Settle for each.
	quickCheck = 50 * time.Millisecond
	// rootCheck is how often the watched folder itself is stat'ed, to notice it
	// vanishing (or being replaced) when no event says so, and to notice it returning.
	rootCheck = 2 * time.Second
	// fallbackPoll is the scan interval after the OS refused a watch (inotify limits).
	fallbackPoll = 30 * time.Second
	// holdMax bounds how long after its last write a settled file is held
	// back because it still looks unfinished (open for writing, no zip end
	// record...): past it the file goes out anyway, so a missed close or an
	// odd file is never lost.
	holdMax = time.Hour
	// stuckAfter is how long a file may wait in the gate (still changing,
	// still open, unreadable) before the sink hears that it is stuck. A
	// day-end backup is written in minutes; one that changes for an hour is
	// a live file, not a finished backup.
	stuckAfter = time.Hour
)

// waiting is a file in the gate: since when, and whether it was reported stuck.
type waiting struct {
	since time.Time
	told  bool
}

// reportedStamp remembers what was last reported for a file; gen is the full scan that
// last saw it, so files that disappeared are forgotten.
type reportedStamp struct {
	stamp
	gen uint32
}

// watch is one watched folder. Everything below pend is owned by the loop goroutine.
type watch struct {
	cfg    Config
	filter filter
	sink   Sink
	log    *slog.Logger
	pend   *pending

	quick     time.Duration
	rootEvery time.Duration
	holdMax   time.Duration
	stuck     time.Duration

	gate     *gate
	waiting  map[string]*waiting // files in the gate, by rel
	reported map[string]reportedStamp
	gen      uint32
	dirs     map[string]fs.FileInfo // directories with an OS watch, for identity checks
	root     fs.FileInfo            // the watched folder as last seen
	missing  bool
	fallback bool // polling because the OS refused a watch

	fsw     *fsnotify.Watcher
	writers *writers // close-write tracking, Linux only; nil when off
	drained chan struct{}
	rescanT *time.Ticker
}

func newWatch(c Config, f filter, sink Sink, log *slog.Logger) *watch {
	return &watch{
		cfg: c, filter: f, sink: sink, log: log,
		pend:      newPending(),
		quick:     quickCheck,
		rootEvery: rootCheck,
		holdMax:   holdMax,
		stuck:     stuckAfter,
		gate:      newGate(),
		waiting:   make(map[string]*waiting),
		reported:  make(map[string]reportedStamp),
		dirs:      make(map[string]fs.FileInfo),
	}
}

func (w *watch) polling() bool { return w.cfg.Poll > 0 || w.fallback }

func (w *watch) scanInterval() time.Duration {
	switch {
	case w.cfg.Poll > 0:
		return w.cfg.Poll
	case w.fallback:
		return min(fallbackPoll, w.cfg.Rescan)
	}
	return w.cfg.Rescan
}

func (w *watch) run(ctx context.Context) {
	defer w.closeNotify()
	w.rescanT = time.NewTicker(w.scanInterval())
	defer w.rescanT.Stop()
	rootT := time.NewTicker(w.rootEvery)
	defer rootT.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	w.start()
	for {
		if next, ok := w.gate.next(); ok {
			timer.Reset(max(time.Until(next), 0))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-w.pend.wake:
		case <-timer.C:
		case <-w.rescanT.C:
			w.fullScan()
		case <-rootT.C:
			w.checkRoot()
		}
		w.handleHints()
		w.settleDue()
	}
}

// start opens the folder: Missing when it is absent, otherwise watches and a full scan.
func (w *watch) start() {
	fi, err := os.Stat(w.cfg.Path)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("%s is not a directory", w.cfg.Path)
	}
	if err != nil {
		w.goMissing(err)
		return
	}
	w.root = fi
	w.openNotify()
	w.fullScan()
}

// checkRoot notices the folder vanishing, coming back, or being replaced by another
// directory of the same name (whose new inode no OS watch covers yet).
func (w *watch) checkRoot() {
	fi, err := os.Stat(w.cfg.Path)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("%s is not a directory", w.cfg.Path)
	}
	switch {
	case w.missing && err == nil:
		w.closeNotify()
		w.missing = false
		w.root = fi
		w.log.Debug("watched folder is back", "path", w.cfg.Path) // the sink says it to the user
		w.sink.Back(w.cfg.Name)
		w.openNotify()
		w.fullScan()
	case w.missing:
		if !w.polling() && w.fsw == nil {
			w.watchParent()
		}
	case err != nil:
		w.goMissing(err)
	case !os.SameFile(w.root, fi):
		w.log.Info("watched folder was replaced; rewatching", "path", w.cfg.Path)
		w.root = fi
		w.closeNotify()
		w.openNotify()
		w.fullScan()
	}
}

// goMissing reports the folder gone once. Its files are not "deleted": nothing is
// forgotten except the pending gate, and a full scan follows its return.
func (w *watch) goMissing(err error) {
	if w.missing {
		return
	}
	w.missing = true
	w.closeNotify()
	w.gate.reset()
	w.unstickAll()
	w.log.Debug("watched folder missing", "path", w.cfg.Path, "err", err) // the sink says it to the user
	w.sink.Missing(w.cfg.Name, fmt.Errorf("watch %q: %w", w.cfg.Name, err))
	if !w.polling() {
		w.watchParent()
	}
}

// watchParent watches the missing folder's parent, so its return is noticed at once
// rather than at the next rootCheck. Best effort: the parent may be missing too.
func (w *watch) watchParent() {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return
	}
	if err := fsw.Add(filepath.Dir(w.cfg.Path)); err != nil {
		fsw.Close()
		return
	}
	w.attach(fsw)
}

func (w *watch) openNotify() {
	if w.polling() {
		return
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		w.startFallback(err)
		return
	}
	w.attach(fsw)
	w.writers = newWriters()
}

func (w *watch) attach(fsw *fsnotify.Watcher) {
	w.fsw = fsw
	w.drained = make(chan struct{})
	go drain(fsw, w.pend, w.drained)
}

func (w *watch) closeNotify() {
	if w.fsw == nil {
		return
	}
	w.fsw.Close()
	<-w.drained
	w.fsw = nil
	w.writers.close()
	w.writers = nil
	clear(w.dirs)
}

// startFallback switches to polling when the OS refuses watches (inotify's
// max_user_watches or max_user_instances): slower, but no silent gap.
func (w *watch) startFallback(err error) {
	if w.fallback {
		return
	}
	w.fallback = true
	w.log.Error("cannot watch folder for changes; polling instead", "path", w.cfg.Path,
		"every", w.scanInterval(), "err", err)
	if w.rescanT != nil {
		w.rescanT.Reset(w.scanInterval())
	}
}

// addWatch puts an OS watch on dir, once per directory identity. A refusal is logged
// (or, at the OS limit, turns on polling); the directory is scanned either way.
func (w *watch) addWatch(dir string, fi fs.FileInfo) {
	if w.fsw == nil || w.polling() {
		return
	}
	if old, ok := w.dirs[dir]; ok && os.SameFile(old, fi) {
		return
	}
	err := w.fsw.Add(dir)
	switch {
	case err == nil:
		w.dirs[dir] = fi
		w.writers.add(dir)
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EMFILE):
		w.startFallback(err)
	default:
		w.log.Warn("cannot watch subfolder", "path", dir, "err", err)
	}
}

func (w *watch) handleHints() {
	b := w.pend.take()
	for _, err := range b.errs {
		w.log.Warn("folder events lost; rescanning", "err", err)
	}
	for rel := range b.forgets {
		delete(w.reported, rel)
	}
	if w.missing {
		if len(b.paths) > 0 || b.rescan {
			w.checkRoot()
		}
		for rel := range b.rechecks {
			delete(w.reported, rel)
		}
		return
	}
	if b.rescan {
		w.fullScan()
	}
	if w.missing {
		return
	}
	for rel := range b.rechecks {
		delete(w.reported, rel)
		w.hint(w.abs(rel))
	}
	for p := range b.paths {
		w.hint(p)
	}
}

// hint looks at one path an event named. Every event on a pending file restarts its
// settle period.
func (w *watch) hint(abs string) {
	if abs == w.cfg.Path {
		w.checkRoot()
		return
	}
	if w.missing {
		return
	}
	rel, ok := w.rel(abs)
	if !ok || (!w.cfg.Recursive && strings.Contains(rel, "/")) {
		return
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			w.gone(rel, abs)
		}
		return
	}
	switch {
	case fi.IsDir():
		if w.cfg.Recursive && w.filter.dir(rel, abs) {
			if old, ok := w.dirs[abs]; !ok || !os.SameFile(old, fi) {
				w.scanDir(abs, rel, fi)
			}
		}
		return
	case !fi.Mode().IsRegular() || !w.filter.file(rel, abs):
		return
	}
	s := stampOf(fi)
	if r, ok := w.reported[rel]; ok && r.stamp == s && w.gate.get(rel) == nil {
		return // an event that changed nothing we report on (chmod, a sibling's rename)
	}
	w.observe(rel, s, time.Now(), w.cfg.Settle, "it keeps changing")
}

// observe puts rel through the gate and reports it stuck once it has waited
// too long; why says what holds it back ("": nothing that lasts).
func (w *watch) observe(rel string, s stamp, now time.Time, wait time.Duration, why string) {
	w.gate.observe(rel, s, now, wait)
	h := w.waiting[rel]
	if h == nil {
		w.waiting[rel] = &waiting{since: now}
		return
	}
	if h.told || why == "" || now.Sub(h.since) < max(w.stuck, 4*w.cfg.Settle) {
		return
	}
	h.told = true
	abs := w.abs(rel)
	w.log.Warn("file has not become complete; it is not sent", "path", abs, "since", h.since, "why", why)
	w.sink.Stuck(File{Watch: w.cfg.Name, Rel: rel, Abs: abs, Size: s.size, ModTime: time.Unix(0, s.mtime)}, h.since, why)
}

// settled forgets rel's wait: it is reported complete.
func (w *watch) settled(rel string) { delete(w.waiting, rel) }

// unstick forgets rel's wait and withdraws a stuck report: the file is gone.
func (w *watch) unstick(rel string) {
	if h := w.waiting[rel]; h != nil && h.told {
		w.sink.Unstuck(w.cfg.Name, rel)
	}
	delete(w.waiting, rel)
}

func (w *watch) unstickAll() {
	for rel := range w.waiting {
		w.unstick(rel)
	}
}

// gone forgets a path that no longer exists: a file deleted before it settled is
// dropped silently, and a vanished directory's watches are forgotten.
func (w *watch) gone(rel, abs string) {
	w.gate.drop(rel)
	w.unstick(rel)
	delete(w.reported, rel)
	prefix := abs + string(filepath.Separator)
	for d := range w.dirs {
		if d == abs || strings.HasPrefix(d, prefix) {
			delete(w.dirs, d)
			if w.fsw != nil {
				_ = w.fsw.Remove(d) // usually gone already with the directory
			}
		}
	}
}

// settleDue stats every file whose deadline has passed: unchanged means complete.
func (w *watch) settleDue() {
	now := time.Now()
	for e := w.gate.due(now); e != nil; e = w.gate.due(now) {
		abs := w.abs(e.rel)
		fi, err := os.Lstat(abs)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				delete(w.reported, e.rel)
				w.unstick(e.rel)
			} else {
				w.log.Warn("cannot stat file; retrying", "path", abs, "err", err)
				w.observe(e.rel, e.seen, now, w.cfg.Settle, "it cannot be read: "+err.Error())
			}
			continue
		}
		if !fi.Mode().IsRegular() {
			w.unstick(e.rel)
			continue
		}
		s := stampOf(fi)
		if s != e.seen {
			w.observe(e.rel, s, now, w.cfg.Settle, "it keeps changing")
			continue
		}
		if r, ok := w.reported[e.rel]; ok && r.stamp == s {
			w.settled(e.rel)
			continue
		}
		// Held from the last write, not from the first look: `offsite once`
		// starts a new watcher every run, and must still send it in the end.
		// A file older than that goes out unchecked (a start-up scan of many
		// old files costs no extra opens).
		if now.Sub(fi.ModTime()) < w.holdMax {
			if why := w.unfinished(abs); why != "" {
				w.log.Debug("file settled but looks unfinished; waiting", "path", abs, "why", why)
				// Not stuck: holdMax sends it within the hour after its last write.
				w.observe(e.rel, s, now, w.cfg.Settle, "")
				continue
			}
		}
		w.settled(e.rel)
		w.reported[e.rel] = reportedStamp{stamp: s, gen: w.gen}
		w.sink.Ready(File{Watch: w.cfg.Name, Rel: e.rel, Abs: abs, Size: fi.Size(), ModTime: fi.ModTime(), ID: pathID(abs, fi)})
	}
}

// unfinished says why a settled file is not complete yet, or "": its writer
// still has it open (a close-write never came, or Windows refuses an open
// that denies writers), or its format's end is missing. Size and mtime
// alone cannot tell a writer that paused longer than settle from one done.
func (w *watch) unfinished(abs string) string {
	if w.writers.writing(abs) {
		return "still open for writing"
	}
	if writerHolds(abs) {
		return "still open by the program writing it"
	}
	f, err := openRead(abs)
	if err != nil {
		return "" // the reader reports what is wrong with it
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	why, _ := incomplete(f, st.Size())
	return why
}

func (w *watch) abs(rel string) string {
	return filepath.Join(w.cfg.Path, filepath.FromSlash(rel))
}

func (w *watch) rel(abs string) (string, bool) {
	prefix := w.cfg.Path
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	if !strings.HasPrefix(abs, prefix) || len(abs) == len(prefix) {
		return "", false
	}
	return filepath.ToSlash(abs[len(prefix):]), true
}
