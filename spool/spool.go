// Package spool keeps the stored form (compressed, encrypted) of backups
// being uploaded in the state folder. age output differs on every run, so a
// resumable upload must resend the very bytes it started with: each job's
// stored form is made once, kept until the job ends, and reused after a
// restart.
package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/internal/units"
)

// ErrNoSpace: the state folder's disk cannot hold the stored form.
var ErrNoSpace = errors.New("not enough free space in the state folder for the encrypted or compressed copy")

// Dir is the spool folder.
type Dir struct {
	path string
	free func(dir string) (int64, error) // free bytes; tests replace it
}

// New returns the spool in dir (created on first use, 0700).
func New(dir string) *Dir { return &Dir{path: dir, free: freeSpace} }

// WithFreeSpace replaces how free space is measured (for tests, and for
// filesystems that report none).
func (d *Dir) WithFreeSpace(free func(dir string) (int64, error)) *Dir {
	d.free = free
	return d
}

// Path is where job id's stored form (with the given suffix) lives.
func (d *Dir) Path(id int64, suffix string) string {
	return filepath.Join(d.path, strconv.FormatInt(id, 10)+suffix)
}

// Need is how much free space the stored form of a size-byte file may
// take: compression can grow incompressible data a little, age adds 16
// bytes per 64 KiB and a header; a margin keeps the disk from filling up.
func Need(size int64) int64 { return size + size/256 + 64<<20 }

// Open returns job id's complete stored form, or an error matching
// os.ErrNotExist when there is none.
func (d *Dir) Open(id int64, suffix string) (*os.File, error) {
	return os.Open(d.Path(id, suffix))
}

// Make encodes src (size bytes) into job id's stored form and returns what
// it wrote. The copy becomes visible under its name only once complete and
// synced, so a crash leaves either nothing or a whole file. Every byte
// written is also written to each of also (hashes of the stored form that
// the caller needs, so it does not read the copy again to learn them).
func (d *Dir) Make(id int64, suffix string, src io.Reader, size int64, spec codec.Spec, also ...io.Writer) (codec.Result, error) {
	if err := os.MkdirAll(d.path, 0o700); err != nil {
		return codec.Result{}, fmt.Errorf("create spool folder: %w", err)
	}
	if free, err := d.free(d.path); err == nil && free < Need(size) {
		return codec.Result{}, fmt.Errorf("%w: %s needs about %s, %s has %s free", ErrNoSpace,
			units.Bytes(size), units.Bytes(Need(size)), d.path, units.Bytes(free))
	}
	final := d.Path(id, suffix)
	tmp := final + ".part"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return codec.Result{}, fmt.Errorf("create spool file: %w", err)
	}
	var dst io.Writer = f
	if len(also) > 0 {
		dst = io.MultiWriter(append([]io.Writer{f}, also...)...)
	}
	res, err := codec.Encode(dst, src, spec)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		if isNoSpace(err) {
			return res, fmt.Errorf("%w: %v", ErrNoSpace, err)
		}
		return res, err
	}
	syncDir(d.path)
	return res, nil
}

// Scratch encodes src (size bytes) into a new file of the spool that
// belongs to no job (`offsite push`), open for reading from its start. The
// caller closes and removes it; Sweep removes any a crash left behind.
func (d *Dir) Scratch(src io.Reader, size int64, spec codec.Spec) (*os.File, codec.Result, error) {
	if err := os.MkdirAll(d.path, 0o700); err != nil {
		return nil, codec.Result{}, fmt.Errorf("create spool folder: %w", err)
	}
	if free, err := d.free(d.path); err == nil && free < Need(size) {
		return nil, codec.Result{}, fmt.Errorf("%w: %s needs about %s, %s has %s free", ErrNoSpace,
			units.Bytes(size), units.Bytes(Need(size)), d.path, units.Bytes(free))
	}
	f, err := os.CreateTemp(d.path, scratchPrefix+"*")
	if err != nil {
		return nil, codec.Result{}, fmt.Errorf("create spool file: %w", err)
	}
	res, err := codec.Encode(f, src, spec)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		if isNoSpace(err) {
			err = fmt.Errorf("%w: %v", ErrNoSpace, err)
		}
		return nil, res, err
	}
	return f, res, nil
}

const scratchPrefix = "scratch-"

// Remove deletes job id's stored form, whatever its suffix, and any
// partial one. Nothing there is not an error.
func (d *Dir) Remove(id int64) error {
	var errs []error
	for _, p := range d.files(func(got int64) bool { return got == id }) {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Sweep removes the stored forms of jobs for which keep says false (done,
// superseded or removed while offsite was not running) and every partial
// file. It returns how many files it removed.
func (d *Dir) Sweep(keep func(id int64) bool) (int, error) {
	n := 0
	var errs []error
	for _, p := range d.files(func(int64) bool { return true }) {
		id, partial := parse(filepath.Base(p))
		if id > 0 && !partial && keep(id) {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// IDs lists the jobs with a complete stored form.
func (d *Dir) IDs() []int64 {
	var out []int64
	for _, p := range d.files(func(int64) bool { return true }) {
		if id, partial := parse(filepath.Base(p)); id > 0 && !partial {
			out = append(out, id)
		}
	}
	return out
}

func (d *Dir) files(match func(int64) bool) []string {
	ents, err := os.ReadDir(d.path)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		id, _ := parse(e.Name())
		if id > 0 && match(id) || id == 0 && strings.HasPrefix(e.Name(), scratchPrefix) && match(0) {
			out = append(out, filepath.Join(d.path, e.Name()))
		}
	}
	return out
}

// parse reads "<id>.zst.age" or "<id>.zst.age.part".
func parse(name string) (id int64, partial bool) {
	digits, _, _ := strings.Cut(name, ".")
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return id, strings.HasSuffix(name, ".part")
}
