package onedrive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

// upload is one Put in progress.
type upload struct {
	c    *Client
	path string   // the caller's path
	segs []string // encoded, destination folder included
	r    io.ReadSeeker
	size int64
	o    providers.PutOptions
	op   string
}

// Put stores size bytes from r at p. It looks before it creates: a file of
// the same size and quickXorHash is returned as it is; different content
// under exactly this name is replaced, so exactly one file remains, but a
// file OneDrive merely takes for this name (other case or normalisation)
// is never replaced. Files up to 4 MiB (or one
// chunk, if smaller) go in one PUT, bigger ones through an upload session
// that a saved o.Session resumes.
func (c *Client) Put(ctx context.Context, p string, r io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	segs, err := c.remoteSegments(p)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	if len(segs) == len(c.folder) {
		return providers.RemoteFile{}, providers.Errorf(providers.Permanent, providers.ReasonName, "", "%s: empty file path", c.cfg.Name)
	}
	if size < 0 {
		return providers.RemoteFile{}, providers.Errorf(providers.Permanent, providers.ReasonSourceGone, "", "upload %s: negative size %d", p, size)
	}
	u := &upload{c: c, path: p, segs: segs, r: r, size: size, o: o, op: "upload " + p}
	if len(o.Session) > 0 && size > c.simpleLimit() {
		// The bytes of a saved session are already there: continue it first.
		if rf, done, err := u.resume(ctx); done || err != nil {
			return rf, err
		}
	}
	return u.lookThenCreate(ctx, false)
}

func (c *Client) simpleLimit() int64 { return min(simpleMax, c.chunk) }

// lookThenCreate returns an existing identical file, or uploads. A name
// conflict (another writer got there between look and create) is resolved
// by looking again, once.
func (u *upload) lookThenCreate(ctx context.Context, again bool) (providers.RemoteFile, error) {
	conflict := "fail"
	existing, err := u.c.statSegs(ctx, u.path, u.segs)
	switch {
	case err == nil && existing.Folder != nil:
		return providers.RemoteFile{}, providers.Errorf(providers.Permanent, providers.ReasonName, "",
			"upload %s: a folder of that name exists", u.path)
	case err == nil:
		if same, err := u.sameContent(ctx, existing); err != nil || same {
			if same {
				u.done()
			}
			return existing.remote(u.path), err
		}
		if want := u.segs[len(u.segs)-1]; existing.Name != want {
			// OneDrive took our name for one it holds (case, NFC/NFD):
			// that is another file, never to be replaced.
			return providers.RemoteFile{}, providers.Errorf(providers.Permanent, providers.ReasonName,
				"OneDrive ignores case and accents' encoding in names; offsite gives such a file a name of its own, so this is a file stored by something else: rename one of them",
				"upload %s: OneDrive holds another file as %q, which it takes for the same name", u.path, decodeName(existing.Name))
		}
		conflict = "replace"
	case !isNotFound(err):
		return providers.RemoteFile{}, err
	}
	if err := u.c.ensureFolders(ctx, u.segs[:len(u.segs)-1]); err != nil {
		return providers.RemoteFile{}, err
	}
	var rf providers.RemoteFile
	if u.size <= u.c.simpleLimit() {
		rf, err = u.simple(ctx, conflict)
	} else {
		rf, err = u.session(ctx, conflict)
	}
	if errors.Is(err, errConflict) && !again {
		return u.lookThenCreate(ctx, true)
	}
	if isNotFound(err) && !again {
		// A cached folder was removed behind our back.
		u.c.forgetFolders()
		return u.lookThenCreate(ctx, true)
	}
	return rf, err
}

// sameContent reports whether it already holds exactly the bytes of r.
func (u *upload) sameContent(ctx context.Context, it *driveItem) (bool, error) {
	if it.Size != u.size || it.File == nil || it.File.Hashes.QuickXorHash == "" {
		return false, nil
	}
	local, err := u.localHash(ctx)
	if err != nil {
		return false, err
	}
	return providers.SameHash(providers.QuickXor, local, it.File.Hashes.QuickXorHash), nil
}

// localHash is the quickXorHash of the source: o.Hash when the caller
// computed it, else read from r.
func (u *upload) localHash(ctx context.Context) (string, error) {
	if u.o.Hash != "" {
		return u.o.Hash, nil
	}
	if _, err := u.r.Seek(0, io.SeekStart); err != nil {
		return "", u.sourceErr(err)
	}
	h := providers.NewQuickXor()
	n, err := io.CopyBuffer(h, io.LimitReader(ctxReader{ctx, u.r}, u.size), make([]byte, 256<<10))
	if err == nil && n < u.size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return "", u.sourceErr(err)
	}
	return providers.EncodeHash(providers.QuickXor, h.Sum(nil)), nil
}

// simple sends the whole file in one PUT. The body is buffered (at most
// 4 MiB) so that a refused token can be refreshed and the request resent.
func (u *upload) simple(ctx context.Context, conflict string) (providers.RemoteFile, error) {
	buf := make([]byte, u.size)
	if err := u.readAt(ctx, 0, buf); err != nil {
		return providers.RemoteFile{}, err
	}
	url := u.c.itemURL(u.segs, "/content") + "?@microsoft.graph.conflictBehavior=" + conflict
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(buf))
	if err != nil {
		return providers.RemoteFile{}, fmt.Errorf("%s: %w", u.op, err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	var it driveItem
	if err := u.c.exchange(u.c.api, u.op, req, &it); err != nil {
		return providers.RemoteFile{}, err
	}
	if !u.o.ModTime.IsZero() && it.ID != "" {
		// A simple upload cannot carry the file's own time; set it after,
		// as restores and listings should show when the backup was made.
		// The upload has landed, so a failure here only costs the time.
		if t, err := u.setModTime(ctx, it.ID); err == nil {
			it = t
		}
	}
	return u.finish(ctx, &it)
}

// setModTime sets fileSystemInfo.lastModifiedDateTime of item id to the source's time.
func (u *upload) setModTime(ctx context.Context, id string) (driveItem, error) {
	body, _ := json.Marshal(map[string]any{"fileSystemInfo": map[string]any{
		"lastModifiedDateTime": u.o.ModTime.UTC().Format(time.RFC3339)}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, u.c.drive+"/items/"+url.PathEscape(id), bytes.NewReader(body))
	if err != nil {
		return driveItem{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	var it driveItem
	err = u.c.exchange(u.c.api, u.op, req, &it)
	return it, err
}

// finish checks what the service reports for the finished upload.
//
// OneDrive for Business and SharePoint may rewrite Office documents as
// they land (they add metadata), so the stored size and hash differ from
// the bytes sent although every byte was accepted. Reporting that as a
// mismatch would delete and re-upload the file forever. For .docx, .xlsx
// and .pptx the adapter therefore trusts the acknowledged upload: it
// returns the hash of the bytes it sent and logs a note. Other files are
// returned as reported, and the caller's hash check decides.
func (u *upload) finish(ctx context.Context, it *driveItem) (providers.RemoteFile, error) {
	u.done()
	rf := it.remote(u.path)
	if !isOffice(u.path) {
		return rf, nil
	}
	local, err := u.localHash(ctx)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	if rf.Size != u.size || !providers.SameHash(providers.QuickXor, rf.Hash, local) {
		u.c.log.Info("onedrive: the service rewrote an Office document after accepting it; keeping the hash of the bytes sent",
			"dest", u.c.cfg.Name, "path", u.path, "sent_size", u.size, "stored_size", rf.Size)
		rf.Size, rf.Hash = u.size, local
	}
	return rf, nil
}

// done tells the caller no session state needs keeping any more.
func (u *upload) done() {
	if u.o.OnSession != nil && len(u.o.Session) > 0 {
		u.o.OnSession(nil)
	}
}

func isOffice(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".docx", ".xlsx", ".pptx":
		return true
	}
	return false
}

// readAt fills buf from the source at off.
func (u *upload) readAt(ctx context.Context, off int64, buf []byte) error {
	if _, err := u.r.Seek(off, io.SeekStart); err != nil {
		return u.sourceErr(err)
	}
	if _, err := io.ReadFull(ctxReader{ctx, u.r}, buf); err != nil {
		return u.sourceErr(err)
	}
	return nil
}

// sourceErr classifies a failure to read the local file: ending early means
// the file changed under us (Permanent, back to the watcher's gate);
// anything else may pass.
func (u *upload) sourceErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return &providers.Error{Kind: providers.Canceled, Err: fmt.Errorf("%s: %w", u.op, err)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return providers.Errorf(providers.Permanent, providers.ReasonSourceGone, "",
			"%s: the source ended before %d bytes", u.op, u.size)
	}
	return providers.Errorf(providers.Temporary, providers.ReasonSourceGone, "", "%s: read source: %w", u.op, err)
}

// ctxReader stops reading once ctx ends, so a stalled source cannot hold a
// cancelled upload.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ensureFolders creates the folders segs names, top-down, remembering
// which exist. One look at the deepest folder usually settles it.
func (c *Client) ensureFolders(ctx context.Context, segs []string) error {
	if len(segs) == 0 || c.knownFolder(segs) {
		return nil
	}
	if it, err := c.statSegs(ctx, "folder", segs); err == nil && it.Folder != nil {
		c.rememberFolders(segs)
		return nil
	}
	for i := 1; i <= len(segs); i++ {
		if c.knownFolder(segs[:i]) {
			continue
		}
		body := map[string]any{"name": segs[i-1], "folder": map[string]any{}, "@microsoft.graph.conflictBehavior": "fail"}
		err := c.call(ctx, "create folder "+decodePath(segs[:i]), http.MethodPost, c.itemURL(segs[:i-1], "/children"), body, nil)
		if err != nil && !errors.Is(err, errConflict) {
			return err
		}
		c.rememberFolders(segs[:i])
	}
	return nil
}

func folderKey(segs []string) string { return strings.ToLower(strings.Join(segs, "/")) }

func (c *Client) knownFolder(segs []string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.folders[folderKey(segs)]
}

func (c *Client) rememberFolders(segs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 1; i <= len(segs); i++ {
		c.folders[folderKey(segs[:i])] = true
	}
}

func (c *Client) forgetFolders() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.folders)
}

func decodePath(segs []string) string {
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = decodeName(s)
	}
	return strings.Join(out, "/")
}
