package watcher

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"
)

// fullScan walks the whole folder. It is the truth the events only hint at: it finds
// files whose events were lost, and forgets reported files that no longer exist.
func (w *watch) fullScan() {
	if w.missing {
		w.checkRoot() // Back runs a full scan itself
		return
	}
	fi, err := os.Stat(w.cfg.Path)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("%s is not a directory", w.cfg.Path)
	}
	if err != nil {
		w.goMissing(err)
		return
	}
	if w.root != nil && !os.SameFile(w.root, fi) {
		w.root = fi
		w.closeNotify()
		w.openNotify()
	}
	w.root = fi
	w.gen++
	start := time.Now()
	complete, err := w.scanTree(w.cfg.Path, "", fi)
	if err != nil {
		// The folder itself cannot be read: that is not "empty".
		w.goMissing(err)
		return
	}
	if complete {
		for rel, r := range w.reported {
			if r.gen != w.gen {
				delete(w.reported, rel)
			}
		}
	}
	w.log.Debug("scanned folder", "took", time.Since(start), "pending", w.gate.len(), "complete", complete)
}

// scanDir scans a directory an event revealed (a new or moved-in subfolder).
func (w *watch) scanDir(abs, rel string, fi fs.FileInfo) {
	if _, err := w.scanTree(abs, rel, fi); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.log.Warn("cannot read subfolder", "path", abs, "err", err)
	}
}

// scanTree watches dir, then lists it, so nothing created in between is missed, and
// sends every file that may be new through the gate. err is for dir itself; complete
// is false when some subfolder could not be read (those are logged, not fatal).
func (w *watch) scanTree(dir, rel string, fi fs.FileInfo) (complete bool, err error) {
	w.addWatch(dir, fi)
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	complete = true
	for {
		ents, err := f.ReadDir(1024)
		for _, ent := range ents {
			if !w.scanEntry(dir, rel, ent) {
				complete = false
			}
		}
		if err == io.EOF {
			return complete, nil
		}
		if err != nil {
			return false, err
		}
	}
}

func (w *watch) scanEntry(dir, dirRel string, ent fs.DirEntry) (complete bool) {
	name := ent.Name()
	abs := filepath.Join(dir, name)
	rel := path.Join(dirRel, name)
	switch t := ent.Type(); {
	case t.IsDir():
		if !w.cfg.Recursive || !w.filter.dir(rel, abs) {
			return true
		}
		fi, err := ent.Info()
		if err != nil {
			return errors.Is(err, fs.ErrNotExist)
		}
		ok, err := w.scanTree(abs, rel, fi)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.log.Warn("cannot read subfolder", "path", abs, "err", err)
			return false
		}
		return ok
	case t&fs.ModeType != 0:
		return true // symlinks are not followed; devices, FIFOs and sockets are not files
	}
	if !w.filter.file(rel, abs) {
		return true
	}
	fi, err := ent.Info()
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	if fi.Mode().IsRegular() {
		w.found(rel, fi)
	}
	return true
}

// found handles a file a scan saw. A file already reported unchanged is only marked as
// still there. A new one whose mtime is already older than Settle needs just a quick
// second stat; a recent one (or one dated in the future) waits the full Settle.
func (w *watch) found(rel string, fi fs.FileInfo) {
	s := stampOf(fi)
	if r, ok := w.reported[rel]; ok && r.stamp == s {
		r.gen = w.gen
		w.reported[rel] = r
		return
	}
	now := time.Now()
	if e := w.gate.get(rel); e != nil {
		if e.seen != s {
			w.observe(rel, s, now, w.cfg.Settle, "it keeps changing")
		}
		return
	}
	wait := w.cfg.Settle
	if now.Sub(fi.ModTime()) >= w.cfg.Settle {
		wait = w.quick
	}
	w.observe(rel, s, now, wait, "it keeps changing")
}
