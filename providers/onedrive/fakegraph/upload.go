package fakegraph

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
)

const (
	// FragmentUnit is the multiple every fragment but the last must be.
	FragmentUnit = 320 << 10
	// MaxFragment is the bound each fragment must stay under.
	MaxFragment = 60 << 20
)

// target resolves where a by-path or by-id upload lands: an existing file
// to replace, or a parent folder and a new name.
func (s *Server) targetLocked(rt route) (parent *item, name string, gerr *graphError) {
	base := s.st.Items[rt.baseID]
	if base == nil {
		return nil, "", errNotFound("item " + rt.baseID)
	}
	if rt.rel == "" {
		if base.Folder {
			return nil, "", errInvalid("", "Cannot upload content to a folder")
		}
		return s.st.Items[base.ParentID], base.Name, nil
	}
	_, parent, leaf := s.walkLocked(rt.baseID, rt.rel)
	if parent == nil {
		// OneDrive may create missing parents; clients must not rely on it.
		return nil, "", errNotFound("parent of " + rt.rel)
	}
	if gerr := checkName(leaf); gerr != nil {
		return nil, "", gerr
	}
	return parent, leaf, nil
}

// simpleUpload is PUT …/content: the body lands in a temp file and becomes
// visible only once every declared byte has arrived.
func (s *Server) simpleUpload(w http.ResponseWriter, r *http.Request, rt route) {
	conflict := r.URL.Query().Get("@microsoft.graph.conflictBehavior")
	if conflict == "" {
		conflict = "replace"
	}
	s.mu.Lock()
	parent, name, gerr := s.targetLocked(rt)
	quotaLeft := s.cloud.Quota("onedrive") - s.usedLocked()
	s.mu.Unlock()
	if gerr != nil {
		writeError(w, gerr)
		return
	}
	if r.ContentLength < 0 {
		writeError(w, &graphError{http.StatusLengthRequired, "invalidRequest", "Content-Length is required", ""})
		return
	}
	if r.ContentLength > 250<<20 {
		writeError(w, &graphError{http.StatusRequestEntityTooLarge, "invalidRequest", "Use an upload session for files this large", "maxFileSizeExceeded"})
		return
	}
	if r.ContentLength > quotaLeft {
		io.Copy(io.Discard, r.Body)
		writeError(w, errQuota)
		return
	}
	tmp := s.partPath("simple-" + randomID(8))
	defer os.Remove(tmp)
	f, err := os.Create(tmp)
	if err != nil {
		writeError(w, &graphError{http.StatusInternalServerError, "generalException", err.Error(), ""})
		return
	}
	h := newReceived()
	n, err := io.Copy(io.MultiWriter(f, h), r.Body)
	f.Close()
	if err != nil || n != r.ContentLength {
		writeError(w, errInvalid("", fmt.Sprintf("Received %d of %d bytes", n, r.ContentLength)))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	answer, status, gerr := s.commitLocked(parent.ID, name, conflict, tmp, h, time.Time{})
	if gerr != nil {
		writeError(w, gerr)
		return
	}
	writeJSON(w, status, answer)
}

// commitLocked turns the file at tmp into the item name in parentID,
// honouring conflict. h is the hash of tmp's bytes taken as they arrived;
// nil, or one that does not cover the whole file, reads tmp back instead.
// It answers with the driveItem as committed: 201 for a new item, 200 for
// a replaced one.
func (s *Server) commitLocked(parentID, name, conflict, tmp string, h *received, fsMod time.Time) (map[string]any, int, *graphError) {
	if s.st.Items[parentID] == nil {
		return nil, 0, errNotFound("parent folder")
	}
	if st, err := os.Stat(tmp); h == nil || err != nil || h.n != st.Size() {
		if h, err = hashFile(tmp); err != nil {
			return nil, 0, &graphError{http.StatusInternalServerError, "generalException", err.Error(), ""}
		}
	}
	size := h.n
	old := s.childLocked(parentID, name)
	var freed int64
	if old != nil {
		switch {
		case old.Folder || conflict == "fail":
			return nil, 0, errNameExists(name)
		case conflict == "rename":
			name, old = s.freeNameLocked(parentID, name), nil
		default:
			freed = old.Size
		}
	}
	if s.usedLocked()-freed+size > s.cloud.Quota("onedrive") {
		return nil, 0, errQuota
	}
	now := time.Now().UTC()
	if fsMod.IsZero() {
		fsMod = now
	}
	it, status := old, http.StatusOK
	if it == nil {
		it, status = &item{ID: newItemID(), ParentID: parentID, Name: name, Created: now}, http.StatusCreated
	}
	if err := os.Rename(tmp, s.blobPath(it.ID)); err != nil {
		return nil, 0, &graphError{http.StatusInternalServerError, "generalException", err.Error(), ""}
	}
	// SHA-256 is only for the control API, computed when first listed.
	it.Size, it.QuickXor, it.SHA256, it.Modified, it.FSModified = size, h.quickXor(), "", now, fsMod.UTC()
	s.st.Items[it.ID] = it
	answer := s.renderLocked(it)
	if s.RewriteOffice && isOffice(name) {
		s.rewriteLocked(it)
	}
	s.saveLocked()
	return answer, status, nil
}

// rewriteLocked adds properties to a stored Office document the way
// SharePoint does after accepting it: the upload's answer still shows the
// bytes sent, every later read shows a bigger file with another hash.
func (s *Server) rewriteLocked(it *item) {
	f, err := os.OpenFile(s.blobPath(it.ID), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return
	}
	f.Write([]byte("<!-- sharepoint properties -->"))
	f.Close()
	if h, err := hashFile(s.blobPath(it.ID)); err == nil {
		it.Size, it.QuickXor, it.SHA256 = h.n, h.quickXor(), ""
	}
}

func isOffice(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".docx", ".xlsx", ".pptx":
		return true
	}
	return false
}

// createSession is POST …/createUploadSession.
func (s *Server) createSession(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		Item struct {
			Conflict       string `json:"@microsoft.graph.conflictBehavior"`
			Name           string `json:"name"`
			FileSize       *int64 `json:"fileSize"`
			FileSystemInfo struct {
				LastModified time.Time `json:"lastModifiedDateTime"`
			} `json:"fileSystemInfo"`
		} `json:"item"`
	}
	if body, err := fakecloud.ReadAllLimited(r.Body); err != nil || (len(body) > 0 && json.Unmarshal(body, &req) != nil) {
		writeError(w, errInvalid("", "Invalid request body"))
		return
	}
	conflict := req.Item.Conflict
	if conflict == "" {
		conflict = "replace"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, name, gerr := s.targetLocked(rt)
	if gerr != nil {
		writeError(w, gerr)
		return
	}
	if old := s.childLocked(parent.ID, name); old != nil && (old.Folder || conflict == "fail") {
		writeError(w, errNameExists(name))
		return
	}
	ss := &session{ID: randomID(16), ParentID: parent.ID, Name: name, Conflict: conflict, Total: -1,
		Expires: time.Now().Add(s.SessionTTL).UTC(), FSModified: req.Item.FileSystemInfo.LastModified,
		TempAuth: "v1." + randomID(24)}
	if fs := req.Item.FileSize; fs != nil {
		if s.usedLocked()+*fs > s.cloud.Quota("onedrive") {
			writeError(w, errQuota)
			return
		}
		ss.Total = *fs
	}
	if err := os.WriteFile(s.partPath(ss.ID), nil, 0o644); err != nil {
		writeError(w, &graphError{http.StatusInternalServerError, "generalException", err.Error(), ""})
		return
	}
	s.st.Sessions[ss.ID] = ss
	s.saveLocked()
	writeJSON(w, http.StatusOK, map[string]any{
		"uploadUrl":          uploadURL(fakecloud.BaseURL(r), ss),
		"expirationDateTime": ss.Expires.Format(timeFormat),
		"nextExpectedRanges": []string{"0-"},
	})
}

// uploadURL is the session's uploadUrl in the form OneDrive for Business
// gives: outside the API's path, pre-authenticated by a tempauth query
// parameter. That parameter is how clients (rclone since 1.6x) tell an
// upload URL that must not get the Graph token from one on the API host
// that needs it. Real personal drives use another host instead; the
// emulator serves one host, so it takes the business form.
func uploadURL(base string, ss *session) string {
	u := base + "/_graph/upload/" + ss.ID
	if ss.TempAuth != "" {
		u += "?tempauth=" + url.QueryEscape(ss.TempAuth)
	}
	return u
}

// sessionLocked returns the live session id names, dropping it when expired.
func (s *Server) sessionLocked(id string) *session {
	ss := s.st.Sessions[id]
	if ss != nil && time.Now().After(ss.Expires) {
		s.dropSessionLocked(ss)
		return nil
	}
	return ss
}

func (s *Server) dropSessionLocked(ss *session) {
	delete(s.st.Sessions, ss.ID)
	s.running.Delete(ss.ID)
	os.Remove(s.partPath(ss.ID))
	s.saveLocked()
}

func (s *Server) sessionStatus(ss *session) map[string]any {
	return map[string]any{
		"expirationDateTime": ss.Expires.Format(timeFormat),
		"nextExpectedRanges": []string{strconv.FormatInt(ss.Received, 10) + "-"},
	}
}

// serveSession handles PUT (fragment), GET (status) and DELETE (cancel) on
// an uploadUrl. The URL is pre-authenticated by its tempauth parameter,
// which must match the session's; an Authorization header is refused, as
// Graph warns it may be.
func (s *Server) serveSession(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		io.Copy(io.Discard, r.Body)
		writeError(w, errAuthOnUpload)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/_graph/upload/")
	mu, _ := s.sessLocks.LoadOrStore(id, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	s.mu.Lock()
	ss := s.sessionLocked(id)
	var snapshot session
	if ss != nil {
		snapshot = *ss
	}
	s.mu.Unlock()
	if ss == nil {
		io.Copy(io.Discard, r.Body)
		writeError(w, errSessionGone)
		return
	}
	if got := r.URL.Query().Get("tempauth"); snapshot.TempAuth != "" &&
		subtle.ConstantTimeCompare([]byte(got), []byte(snapshot.TempAuth)) != 1 {
		io.Copy(io.Discard, r.Body)
		writeError(w, errTempAuth)
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.sessionStatus(&snapshot))
	case http.MethodDelete:
		s.mu.Lock()
		s.dropSessionLocked(ss)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		s.putFragment(w, r, snapshot)
	default:
		writeError(w, &graphError{http.StatusMethodNotAllowed, "invalidRequest", "Method not allowed", ""})
	}
}

var contentRange = regexp.MustCompile(`^bytes (\d+)-(\d+)/(\d+)$`)

// putFragment enforces Graph's fragment rules: in order, a multiple of
// 320 KiB except the last, under 60 MiB, the same total every time.
func (s *Server) putFragment(w http.ResponseWriter, r *http.Request, ss session) {
	m := contentRange.FindStringSubmatch(r.Header.Get("Content-Range"))
	if m == nil {
		io.Copy(io.Discard, r.Body)
		writeError(w, errInvalid("", "The Content-Range header is missing or malformed"))
		return
	}
	start, _ := strconv.ParseInt(m[1], 10, 64)
	end, _ := strconv.ParseInt(m[2], 10, 64)
	total, _ := strconv.ParseInt(m[3], 10, 64)
	length := end - start + 1
	fail := func(e *graphError) {
		io.Copy(io.Discard, r.Body)
		writeError(w, e)
	}
	switch {
	case end < start || end >= total:
		fail(errRange("", "The Content-Range is invalid"))
		return
	case ss.Total >= 0 && total != ss.Total:
		fail(errInvalid("", "The total size in Content-Range changed within the session"))
		return
	case r.ContentLength != length:
		fail(errInvalid("fragmentLengthMismatch", "Content-Length does not match Content-Range"))
		return
	case length >= MaxFragment:
		fail(errInvalid("maxFragmentLengthExceeded", "Fragments must be smaller than 60 MiB"))
		return
	case end+1 < total && length%FragmentUnit != 0:
		fail(errInvalid("", "Fragment sizes must be a multiple of 320 KiB"))
		return
	case start < ss.Received:
		fail(errRange("fragmentOverlap", "The uploaded fragment overlaps with data that has already been received."))
		return
	case start > ss.Received:
		fail(errRange("fragmentOutOfOrder", "The uploaded fragment is out of order."))
		return
	}
	s.mu.Lock()
	over := s.usedLocked()+total > s.cloud.Quota("onedrive")
	s.mu.Unlock()
	if over {
		fail(errQuota)
		return
	}
	part := s.partPath(ss.ID)
	f, err := os.OpenFile(part, os.O_WRONLY, 0)
	if err != nil {
		fail(&graphError{http.StatusInternalServerError, "generalException", err.Error(), ""})
		return
	}
	// The running hash follows the fragments in order; one that does not
	// line up (the emulator restarted mid-session) is dropped, and the
	// commit reads the file back instead.
	var dst io.Writer = io.NewOffsetWriter(f, start)
	if start == 0 {
		s.running.Store(ss.ID, newReceived())
	}
	if h, ok := s.running.Load(ss.ID); ok && h.(*received).n == start {
		dst = io.MultiWriter(dst, h.(*received))
	} else {
		s.running.Delete(ss.ID)
	}
	n, err := io.Copy(dst, io.LimitReader(r.Body, length))
	if err != nil || n != length {
		// A torn fragment is not received: the next one must start here again.
		s.running.Delete(ss.ID)
		f.Truncate(start)
		f.Close()
		writeError(w, errInvalid("fragmentLengthMismatch", "The fragment was incomplete"))
		return
	}
	f.Close()

	s.mu.Lock()
	defer s.mu.Unlock()
	live := s.st.Sessions[ss.ID]
	if live == nil {
		writeError(w, errSessionGone)
		return
	}
	live.Total, live.Received = total, end+1
	live.Expires = time.Now().Add(s.SessionTTL).UTC()
	if live.Received < total {
		s.saveLocked()
		writeJSON(w, http.StatusAccepted, s.sessionStatus(live))
		return
	}
	var h *received
	if r, ok := s.running.Load(ss.ID); ok {
		h = r.(*received)
	}
	answer, status, gerr := s.commitLocked(live.ParentID, live.Name, live.Conflict, part, h, live.FSModified)
	s.dropSessionLocked(live)
	if gerr != nil {
		writeError(w, gerr)
		return
	}
	writeJSON(w, status, answer)
}

// redirectDownload answers …/content with a 302 to a short-lived
// pre-authenticated URL, as Graph does.
func (s *Server) redirectDownload(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	it, gerr := s.lookupLocked(rt)
	if gerr == nil && it.Folder {
		gerr = errInvalid("", "Folders have no content")
	}
	tok := randomID(16)
	if gerr == nil {
		now := time.Now()
		for k, d := range s.downloads {
			if now.After(d.expires) {
				delete(s.downloads, k)
			}
		}
		s.downloads[tok] = download{itemID: it.ID, expires: now.Add(time.Hour)}
	}
	s.mu.Unlock()
	if gerr != nil {
		writeError(w, gerr)
		return
	}
	w.Header().Set("Location", fakecloud.BaseURL(r)+"/_graph/download/"+tok)
	w.WriteHeader(http.StatusFound)
}

// serveDownload serves a pre-authenticated URL. It refuses a bearer token,
// so a client that leaks its Graph token to the download host is caught.
// serveDownload serves a pre-authenticated download URL. The real one is
// on another host, so clients that follow the redirect drop their Graph
// token; here it is the same host, and Go keeps the header on a same-host
// redirect, so a token is ignored rather than refused.
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.URL.Path, "/_graph/download/")
	s.mu.Lock()
	d, ok := s.downloads[tok]
	var it *item
	if ok && time.Now().Before(d.expires) {
		it = s.st.Items[d.itemID]
	}
	var f *os.File
	var err error
	if it != nil {
		// Opened under the lock so a concurrent replace cannot swap the blob mid-open.
		f, err = os.Open(s.blobPath(it.ID))
	}
	s.mu.Unlock()
	if it == nil || err != nil {
		writeError(w, errNotFound("download"))
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", it.Modified, f)
}
