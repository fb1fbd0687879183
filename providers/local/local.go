// Package local stores backups in a folder: a USB disk, a second drive or a
// mounted network share. Every file appears atomically: it is written under
// a temporary name, synced, and renamed into place.
package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

// tempPrefix marks files being written. They are never listed, and stale
// ones are swept (see Sweep).
const tempPrefix = ".offsite-tmp-"

// Client is a local folder destination.
type Client struct {
	root  string
	owner string // names this installation's temp files, so Sweep knows its own
}

var _ providers.Provider = (*Client)(nil)

// Config configures a Client.
type Config struct {
	// Root is the destination folder. It must exist: a missing root usually
	// means an unplugged disk or an unmounted share, and writing into the
	// empty mount point instead would fill the local disk.
	Root string
	// Owner is a short stable token naming this installation (letters and
	// digits); temp files carry it.
	Owner string
}

// New returns a Client for c.Root. It does not touch the disk; Check does.
func New(c Config) *Client {
	owner := strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, c.Owner)
	if owner == "" {
		owner = "x"
	}
	return &Client{root: c.Root, owner: owner}
}

func (c *Client) HashKind() providers.HashKind { return providers.SHA256 }

// Names are a local folder's name rules, on every system: Windows and macOS
// disks, and the FAT/exFAT USB disks a shop plugs into any PC, ignore
// case, and macOS also Unicode normalisation. A Linux disk that tells
// them apart loses nothing by it: a second name differing only in case
// gets a timestamp. Segments are at most 255 bytes on the common file
// systems, and names that are not UTF-8 are escaped, as Windows, macOS and
// UTF-8 FAT mounts cannot store them.
var Names = providers.NameRules{FoldCase: true, Normalize: true, MaxName: 255}

func (c *Client) NameRules() providers.NameRules { return Names }

// Check reports whether the destination can be written now.
func (c *Client) Check(ctx context.Context) error {
	if err := c.checkRoot(); err != nil {
		return err
	}
	f, err := os.CreateTemp(c.root, c.tempPattern())
	if err != nil {
		return c.classify("write test file", err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func (c *Client) tempPattern() string { return tempPrefix + c.owner + "-*" }

func (c *Client) checkRoot() error {
	st, err := os.Stat(c.root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return providers.Errorf(providers.Fatal, providers.ReasonMissing,
				"plug in the backup disk or connect the share, or fix the destination's path in the config",
				"destination folder %s does not exist", c.root)
		}
		return c.classify("open destination", err)
	}
	if !st.IsDir() {
		return providers.Errorf(providers.Fatal, providers.ReasonMissing, "point the destination's path at a folder",
			"destination %s is not a folder", c.root)
	}
	return nil
}

// rel maps a slash path onto a path relative to the folder, refusing
// anything that would leave it.
func (c *Client) rel(p string) (string, error) {
	clean := path.Clean("/" + p)
	if clean == "/" || strings.Contains(p, "\x00") {
		return "", providers.Errorf(providers.Permanent, providers.ReasonName, "", "invalid path %q", p)
	}
	for _, part := range strings.Split(clean[1:], "/") {
		if strings.HasPrefix(part, tempPrefix) {
			return "", providers.Errorf(providers.Permanent, providers.ReasonName, "", "name %q is reserved for offsite's temporary files", part)
		}
	}
	// Bytes that are not UTF-8 are escaped (providers.EscapeName):
	// Windows, macOS and UTF-8 FAT mounts cannot store them.
	return filepath.FromSlash(providers.EscapeName(clean[1:])), nil
}

// abs is rel joined to the folder.
func (c *Client) abs(p string) (string, error) {
	r, err := c.rel(p)
	if err != nil {
		return "", err
	}
	return filepath.Join(c.root, r), nil
}

// noLinks refuses a path whose folders under the root include a symlink
// (or a Windows junction): writing through one would put backups, or
// delete files, wherever the link points. The root itself may be a link;
// the config names it. The writes themselves go through an os.Root, so a
// link swapped in after this check still cannot lead outside the root.
func (c *Client) noLinks(rel string) error {
	dir := filepath.Dir(rel)
	if dir == "." {
		return nil
	}
	at := c.root
	for _, part := range strings.Split(dir, string(filepath.Separator)) {
		at = filepath.Join(at, part)
		fi, err := os.Lstat(at)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // created as a real folder below
		}
		if err != nil {
			return c.classify("check folder", err)
		}
		if fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
			return c.linkError(at)
		}
	}
	return nil
}

// linkError is Fatal: every file routed through the link would fail the
// same way, so the destination pauses with one alert and resumes by
// itself once the link is gone.
func (c *Client) linkError(link string) error {
	return providers.Errorf(providers.Fatal, "",
		fmt.Sprintf("replace the link %s with a real folder (move what it holds into it), or point the destination's path at the folder the link leads to", link),
		"%s is a symbolic link (or junction) inside the destination %s; offsite does not write through links, so backups cannot land outside the destination", link, c.root)
}

// inRoot maps an error from an os.Root operation: one that tried to leave
// the root (a link swapped in after noLinks) names the link.
func (c *Client) inRoot(op, rel string, err error) error {
	if strings.Contains(err.Error(), "escapes from parent") {
		if lerr := c.noLinks(rel); lerr != nil {
			return lerr
		}
		return c.linkError(filepath.Join(c.root, filepath.Dir(rel)))
	}
	return c.classify(op, err)
}

// createTemp creates a new temp file in dir (relative to root) through root.
func (c *Client) createTemp(root *os.Root, dir string) (*os.File, string, error) {
	for range 100 {
		name := filepath.Join(dir, tempPrefix+c.owner+"-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("no free temp name in %s", dir)
}

var _ providers.Streamer = (*Client)(nil)

// Put writes size bytes from r to path through a synced temp file and a rename.
func (c *Client) Put(ctx context.Context, p string, r io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	return c.put(ctx, p, r, size, o)
}

// PutStream writes r, to its end, to path the same way: the temp file and
// the rename already make the write atomic, so a stream needs nothing kept
// to send again. A failed Read of r leaves only the temp file, removed.
func (c *Client) PutStream(ctx context.Context, p string, r io.Reader, o providers.PutOptions) (providers.RemoteFile, error) {
	return c.put(ctx, p, r, -1, o)
}

// put writes r to p; size < 0 reads r to its end.
func (c *Client) put(ctx context.Context, p string, r io.Reader, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	if err := c.checkRoot(); err != nil {
		return providers.RemoteFile{}, err
	}
	rel, err := c.rel(p)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	if err := c.noLinks(rel); err != nil {
		return providers.RemoteFile{}, err
	}
	if held := lookAlike(filepath.Join(c.root, rel)); held != "" {
		return providers.RemoteFile{}, providers.Errorf(providers.Permanent, providers.ReasonName,
			"this disk ignores case or accents' encoding in names; offsite gives such a file a name of its own, so this file was stored by something else: rename one of them",
			"write %s: the disk holds another file as %q, which it takes for the same name", cleanRel(p), providers.UnescapeName(held))
	}
	root, err := os.OpenRoot(c.root)
	if err != nil {
		return providers.RemoteFile{}, c.classify("open destination", err)
	}
	defer root.Close()
	if err := root.MkdirAll(filepath.Dir(rel), 0o755); err != nil {
		return providers.RemoteFile{}, c.inRoot("create folder", rel, err)
	}
	f, tmp, err := c.createTemp(root, filepath.Dir(rel))
	if err != nil {
		return providers.RemoteFile{}, c.inRoot("create temp file", rel, err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			root.Remove(tmp)
		}
	}()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size)
	}
	var read *readErr
	if size < 0 {
		// A stream's producer failing is its own error, not the disk's.
		read = &readErr{r: src}
		src = read
	}
	if ctx.Done() != nil {
		src = &ctxReader{ctx: ctx, r: src}
	}
	var written int64
	if o.OnProgress != nil {
		src = &progressReader{r: src, fn: o.OnProgress, done: &written}
	}
	n, err := io.CopyBuffer(w, src, make([]byte, 1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return providers.RemoteFile{}, ctx.Err()
		}
		if read != nil && read.err != nil {
			return providers.RemoteFile{}, fmt.Errorf("write %s: %w", cleanRel(p), read.err)
		}
		return providers.RemoteFile{}, c.classify("write", err)
	}
	if size >= 0 && n != size {
		return providers.RemoteFile{}, providers.Errorf(providers.Permanent, providers.ReasonSourceGone,
			"the file shrank while it was read; it will be picked up again once it is stable",
			"short read: got %d of %d bytes", n, size)
	}
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return providers.RemoteFile{}, c.classify("sync", err)
	}
	if !o.ModTime.IsZero() {
		_ = root.Chtimes(tmp, o.ModTime, o.ModTime)
	}
	// Close before rename: Windows refuses to rename an open file.
	if err := f.Close(); err != nil {
		return providers.RemoteFile{}, c.classify("close", err)
	}
	if err := ctx.Err(); err != nil {
		return providers.RemoteFile{}, err
	}
	if err := root.Rename(tmp, rel); err != nil {
		return providers.RemoteFile{}, c.inRoot("rename into place", rel, err)
	}
	committed = true
	syncDir(filepath.Join(c.root, filepath.Dir(rel)))
	mt := o.ModTime
	if mt.IsZero() {
		mt = time.Now()
	}
	return providers.RemoteFile{Path: cleanRel(p), Size: n, ModTime: mt, Hash: hex.EncodeToString(h.Sum(nil))}, nil
}

// lookAlike returns the stored name of the file a case- or
// normalisation-insensitive disk (Windows, macOS, FAT/exFAT) finds at dst
// under another name, or "": that file is another file, never replaced.
func lookAlike(dst string) string {
	if _, err := os.Lstat(dst); err != nil {
		return ""
	}
	entries, err := os.ReadDir(filepath.Dir(dst))
	if err != nil {
		return ""
	}
	base := filepath.Base(dst)
	held := base
	for _, e := range entries {
		if e.Name() == base {
			return ""
		}
		if Names.Key(e.Name()) == Names.Key(base) {
			held = e.Name()
		}
	}
	return held
}

func cleanRel(p string) string { return path.Clean("/" + p)[1:] }

// Stat describes path, hashing its content (local disks report no hash of their own).
func (c *Client) Stat(ctx context.Context, p string) (providers.RemoteFile, error) {
	abs, err := c.abs(p)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return providers.RemoteFile{}, c.notFound(p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return providers.RemoteFile{}, c.classify("stat", err)
	}
	if st.IsDir() {
		return providers.RemoteFile{Path: cleanRel(p), Dir: true, ModTime: st.ModTime()}, nil
	}
	sum, _, err := providers.HashReader(&ctxReader{ctx: ctx, r: f}, providers.SHA256)
	if err != nil {
		return providers.RemoteFile{}, c.classify("read", err)
	}
	return providers.RemoteFile{Path: cleanRel(p), Size: st.Size(), ModTime: st.ModTime(), Hash: sum[providers.SHA256]}, nil
}

// List returns dir's entries without hashes (Stat one to hash it).
func (c *Client) List(ctx context.Context, dir string) ([]providers.RemoteFile, error) {
	abs := c.root
	if d := cleanRel(dir); d != "" {
		var err error
		if abs, err = c.abs(d); err != nil {
			return nil, err
		}
	}
	entries, err := os.ReadDir(abs)
	if errors.Is(err, fs.ErrNotExist) {
		if abs == c.root {
			return nil, c.checkRoot()
		}
		return nil, nil
	}
	if err != nil {
		return nil, c.classify("list", err)
	}
	var out []providers.RemoteFile
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, providers.RemoteFile{
			Path:    path.Join(cleanRel(dir), providers.UnescapeName(e.Name())),
			Size:    info.Size(),
			ModTime: info.ModTime(),
			Dir:     e.IsDir(),
		})
	}
	return out, nil
}

func (c *Client) Delete(ctx context.Context, p string) error {
	rel, err := c.rel(p)
	if err != nil {
		return err
	}
	if err := c.noLinks(rel); err != nil {
		return err
	}
	root, err := os.OpenRoot(c.root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return c.checkRoot()
		}
		return c.classify("open destination", err)
	}
	defer root.Close()
	if err := root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return c.inRoot("delete", rel, err)
	}
	syncDir(filepath.Join(c.root, filepath.Dir(rel)))
	return nil
}

func (c *Client) Get(ctx context.Context, p string) (io.ReadCloser, error) {
	abs, err := c.abs(p)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, c.notFound(p, err)
	}
	return f, nil
}

// Quota reports the free space of the disk holding the folder.
func (c *Client) Quota(ctx context.Context) (used, total int64, err error) {
	if err := c.checkRoot(); err != nil {
		return 0, 0, err
	}
	return diskUsage(c.root)
}

// Sweep removes temp files a crash left behind: this installation's own
// (it holds the state lock, so none of them is being written), and anyone's
// older than a day (an upload that old is dead). It returns how many it removed.
func (c *Client) Sweep(ctx context.Context) (int, error) {
	if err := c.checkRoot(); err != nil {
		return 0, err
	}
	own := tempPrefix + c.owner + "-"
	removed := 0
	err := filepath.WalkDir(c.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || ctx.Err() != nil {
			return ctx.Err() // unreadable corners are skipped
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		stale := strings.HasPrefix(d.Name(), own)
		if !stale {
			if info, err := d.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
				stale = true
			}
		}
		if stale && os.Remove(p) == nil {
			removed++
		}
		return nil
	})
	return removed, err
}

func (c *Client) notFound(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if rerr := c.checkRoot(); rerr != nil {
			return rerr
		}
		return fmt.Errorf("%s: %w", p, providers.ErrNotFound)
	}
	return c.classify("open "+p, err)
}

// classify is the adapter's one mapping from OS errors to kinds.
func (c *Client) classify(op string, err error) error {
	wrapped := fmt.Errorf("%s in %s: %w", op, c.root, err)
	switch {
	case isNoSpace(err):
		return &providers.Error{Kind: providers.Fatal, Reason: providers.ReasonQuota,
			Hint: "the backup disk is full: delete old backups from it or use a larger disk", Err: wrapped}
	case errors.Is(err, fs.ErrPermission) || isReadOnly(err):
		return &providers.Error{Kind: providers.Fatal, Reason: providers.ReasonReadOnly,
			Hint: "offsite cannot write there: check the disk is not write-protected and the service's user may write to the folder", Err: wrapped}
	case errors.Is(err, fs.ErrNotExist):
		if rerr := c.checkRoot(); rerr != nil {
			return rerr
		}
		return &providers.Error{Kind: providers.Temporary, Err: wrapped}
	}
	return &providers.Error{Kind: providers.Temporary, Err: wrapped}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// readErr keeps the error of its reader's last failed Read.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

type progressReader struct {
	r    io.Reader
	fn   func(int64)
	done *int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		*p.done += int64(n)
		p.fn(*p.done)
	}
	return n, err
}
