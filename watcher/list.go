package watcher

import (
	"errors"
	"io/fs"

	"path"
	"path/filepath"
)

// List returns the files a watch of c would consider, as they are now,
// without waiting for them to settle: what a reader that runs no watcher
// (`offsite status`) compares with what the queue holds. Folders it cannot
// read are skipped; the watched folder itself must be readable.
func List(c Config) ([]File, error) {
	f, err := newFilter(c)
	if err != nil {
		return nil, err
	}
	root := filepath.Clean(c.Path)
	var out []File
	err = filepath.WalkDir(root, func(abs string, d fs.DirEntry, err error) error {
		if err != nil {
			if abs == root {
				return err
			}
			return nil // a subfolder gone or unreadable: the daemon logs it
		}
		if abs == root {
			return nil
		}
		rel, rerr := filepath.Rel(root, abs)
		if rerr != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		switch t := d.Type(); {
		case t.IsDir():
			if !c.Recursive || !f.dir(rel, abs) {
				return filepath.SkipDir
			}
			return nil
		case t&fs.ModeType != 0 || !f.file(rel, abs):
			return nil
		}
		fi, ierr := d.Info()
		if errors.Is(ierr, fs.ErrNotExist) || (ierr == nil && !fi.Mode().IsRegular()) {
			return nil
		}
		if ierr != nil {
			return nil
		}
		out = append(out, File{Watch: c.Name, Rel: path.Clean(rel), Abs: abs, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
