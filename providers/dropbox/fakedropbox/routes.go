package fakedropbox

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// maxRequest is the most a single upload request may carry.
const maxRequest = 150 << 20

const timeFormat = "2006-01-02T15:04:05Z"

func (s *Server) routes() []route {
	return []route{
		{name: "files/upload", content: true, upload: true, serve: s.upload},
		{name: "files/upload_session/start", content: true, upload: true, serve: s.sessionStart},
		{name: "files/upload_session/append_v2", content: true, upload: true, serve: s.sessionAppend},
		{name: "files/upload_session/finish", content: true, upload: true, serve: s.sessionFinish},
		{name: "files/upload_session/finish_batch_v2", serve: s.finishBatchV2},
		{name: "files/upload_session/finish_batch", serve: s.finishBatch},
		{name: "files/upload_session/finish_batch/check", serve: s.finishBatchCheck},
		// The check as the SDKs name it (upload_session_finish_batch_check).
		{name: "files/upload_session/finish_batch_check", serve: s.finishBatchCheck},
		{name: "files/download", content: true, serve: s.download},
		{name: "files/get_metadata", serve: s.getMetadata},
		{name: "files/list_folder", serve: s.listFolder},
		{name: "files/list_folder/continue", serve: s.listFolderContinue},
		{name: "files/delete_v2", serve: s.delete},
		{name: "files/create_folder_v2", serve: s.createFolder},
		{name: "users/get_space_usage", serve: s.spaceUsage},
	}
}

// metadata renders an entry as Dropbox's Metadata; tagged adds the union
// tag that get_metadata, list_folder and delete_v2 carry.
func metadata(e *entry, tagged bool) map[string]any {
	m := map[string]any{
		"name":         path.Base(e.Display),
		"path_lower":   strings.ToLower(e.Display),
		"path_display": e.Display,
		"id":           e.ID,
	}
	if e.Folder {
		if tagged {
			m[".tag"] = "folder"
		}
		return m
	}
	if tagged {
		m[".tag"] = "file"
	}
	m["client_modified"] = e.ClientModified.UTC().Format(timeFormat)
	m["server_modified"] = e.ServerModified.UTC().Format(timeFormat)
	m["rev"] = e.Rev
	m["size"] = e.Size
	m["is_downloadable"] = true
	m["content_hash"] = e.ContentHash
	return m
}

// spool copies a request body into a temp file, hashing it on the way.
func (s *Server) spool(body io.Reader) (string, *sums, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "up-*")
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	h := newSums()
	_, err = s.copyBody(io.MultiWriter(f, h), io.LimitReader(body, maxRequest+1))
	if err != nil {
		os.Remove(f.Name())
		return "", nil, err
	}
	return f.Name(), h, nil
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request, arg []byte) {
	var a struct {
		commitInfo
		ContentHash string `json:"content_hash"`
	}
	if err := json.Unmarshal(arg, &a); err != nil || !validPath(a.Path) {
		badRequest(w, `Error in call to API function "files/upload": HTTP header "Dropbox-API-Arg": path: did not match pattern`)
		return
	}
	tmp, h, err := s.spool(r.Body)
	if err != nil {
		return // the client went away mid-body; nothing was stored
	}
	defer os.Remove(tmp)
	switch {
	case h.n > maxRequest:
		writeError(w, http.StatusConflict, union("payload_too_large"))
	case a.ContentHash != "" && a.ContentHash != h.contentHash():
		writeError(w, http.StatusConflict, union("content_hash_mismatch"))
	default:
		e, werr := s.commit(a.commitInfo, tmp, h)
		if werr != nil {
			writeError(w, http.StatusConflict, union("path", "reason", werr, "upload_session_id", "pid_upload_session:"+randomHex(24)))
			return
		}
		writeJSON(w, http.StatusOK, metadata(e, false))
	}
}

func (s *Server) sessionStart(w http.ResponseWriter, r *http.Request, arg []byte) {
	var a struct {
		Close       bool   `json:"close"`
		ContentHash string `json:"content_hash"`
		SessionType *struct {
			Tag string `json:".tag"`
		} `json:"session_type"`
	}
	if err := json.Unmarshal(arg, &a); err != nil {
		badRequest(w, `Error in call to API function "files/upload_session/start": HTTP header "Dropbox-API-Arg": could not decode input as JSON`)
		return
	}
	concurrent := a.SessionType != nil && a.SessionType.Tag == "concurrent"
	if concurrent {
		// A concurrent session starts empty and open.
		if hasData(r.Body) {
			writeError(w, http.StatusConflict, union("concurrent_session_data_not_allowed"))
			return
		}
		if a.Close {
			writeError(w, http.StatusConflict, union("concurrent_session_close_not_allowed"))
			return
		}
	}
	id, ss, err := s.newSession(concurrent)
	if err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !concurrent && !s.appendChecked(w, ss, r.Body, a.ContentHash) {
		return
	}
	if a.Close {
		s.mu.Lock() // the session is in the index, which others may be saving
		ss.Closed = true
		s.saveLocked()
		s.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, map[string]string{"session_id": id})
}

type cursor struct {
	SessionID string `json:"session_id"`
	Offset    int64  `json:"offset"`
}

// useSession finds and locks the session for an append or finish and
// checks the offset. On failure it returns the UploadSessionLookupError.
func (s *Server) useSession(c cursor, body io.Reader) (*session, map[string]any) {
	ss := s.session(c.SessionID)
	if ss == nil {
		return nil, union("not_found")
	}
	ss.mu.Lock()
	if s.session(c.SessionID) != ss {
		ss.mu.Unlock()
		return nil, union("not_found") // finished while we waited
	}
	switch {
	case ss.Concurrent: // its appends and finish check their own offsets
	case c.Offset != ss.Offset:
		ss.mu.Unlock()
		return nil, union("incorrect_offset", "correct_offset", ss.Offset)
	case ss.Closed:
		// A closed session takes no more data, but an empty body may
		// still finish it (clients stream bodies of unknown length).
		if n, _ := io.ReadFull(body, make([]byte, 1)); n > 0 {
			ss.mu.Unlock()
			return nil, union("closed")
		}
	}
	return ss, nil
}

func (s *Server) sessionAppend(w http.ResponseWriter, r *http.Request, arg []byte) {
	var a struct {
		Cursor      cursor `json:"cursor"`
		Close       bool   `json:"close"`
		ContentHash string `json:"content_hash"`
	}
	if err := json.Unmarshal(arg, &a); err != nil {
		badRequest(w, `Error in call to API function "files/upload_session/append_v2": HTTP header "Dropbox-API-Arg": could not decode input as JSON`)
		return
	}
	if ss := s.session(a.Cursor.SessionID); ss != nil && ss.Concurrent {
		s.concurrentAppend(w, r, ss, a.Cursor.Offset, a.Close, a.ContentHash)
		return
	}
	ss, lerr := s.useSession(a.Cursor, r.Body)
	if lerr != nil {
		io.Copy(io.Discard, r.Body)
		// append_v2 flattens the lookup error into its own union.
		writeError(w, http.StatusConflict, lerr)
		return
	}
	defer ss.mu.Unlock()
	if !s.appendChecked(w, ss, r.Body, a.ContentHash) {
		return
	}
	if a.Close {
		s.mu.Lock()
		ss.Closed = true
		s.saveLocked()
		s.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, nil)
}

// concurrentAppend is append_v2 on a concurrent session: any order, each
// offset and every length but the closing one's a multiple of 4 MiB.
func (s *Server) concurrentAppend(w http.ResponseWriter, r *http.Request, ss *session, off int64, closing bool, wantHash string) {
	if off%concurrentUnit != 0 {
		io.Copy(io.Discard, r.Body)
		writeError(w, http.StatusConflict, union("concurrent_session_invalid_offset"))
		return
	}
	if lerr := s.appendAt(ss, off, closing, r.Body, wantHash); lerr != nil {
		writeError(w, http.StatusConflict, lerr)
		return
	}
	writeJSON(w, http.StatusOK, nil)
}

func (s *Server) sessionFinish(w http.ResponseWriter, r *http.Request, arg []byte) {
	var a struct {
		Cursor      cursor     `json:"cursor"`
		Commit      commitInfo `json:"commit"`
		ContentHash string     `json:"content_hash"`
	}
	if err := json.Unmarshal(arg, &a); err != nil || !validPath(a.Commit.Path) {
		badRequest(w, `Error in call to API function "files/upload_session/finish": HTTP header "Dropbox-API-Arg": commit.path: did not match pattern`)
		return
	}
	e, ferr, err := s.finishSession(a.Cursor, a.Commit, a.ContentHash, r.Body, false)
	switch {
	case errors.Is(err, errClientGone):
	case err != nil:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	case ferr != nil:
		writeError(w, http.StatusConflict, ferr)
	default:
		writeJSON(w, http.StatusOK, metadata(e, false))
	}
}

// errClientGone reports a request body that broke off: nothing was
// stored and nobody is left to answer.
var errClientGone = errors.New("client went away mid-body")

// finishSession commits the upload session c names to commit, after
// appending body (finish's own data). A batch entry carries no data and
// must name a closed session. On a refusal it returns the
// UploadSessionFinishError union; err is the emulator's own failure.
func (s *Server) finishSession(c cursor, commit commitInfo, contentHash string, body io.Reader, batch bool) (*entry, map[string]any, error) {
	// A concurrent session's finish waits out the appends still writing
	// (lock order: use, then mu); none start after it.
	if ss := s.session(c.SessionID); ss != nil && ss.Concurrent {
		ss.use.Lock()
		defer ss.use.Unlock()
	}
	ss, lerr := s.useSession(c, body)
	if lerr != nil {
		io.Copy(io.Discard, body)
		return nil, union("lookup_failed", "lookup_failed", lerr), nil
	}
	defer ss.mu.Unlock()
	src := s.sessionPath(ss.File)
	h := ss.running
	switch {
	case ss.Concurrent:
		if hasData(body) {
			return nil, union("concurrent_session_data_not_allowed"), nil
		}
		if c.Offset != ss.End && ss.Closed {
			return nil, union("lookup_failed", "lookup_failed", union("incorrect_offset", "correct_offset", ss.End)), nil
		}
		var ferr map[string]any
		if h, ferr = ss.assemble(); ferr != nil {
			return nil, ferr, nil
		}
		if err := os.Truncate(src, ss.End); err != nil { // past End lie only refused appends
			return nil, nil, err
		}
	case batch && !ss.Closed:
		return nil, union("lookup_failed", "lookup_failed", union("not_closed")), nil
	default:
		mismatch, err := s.appendBody(ss, body, contentHash)
		if err != nil {
			return nil, nil, errClientGone
		}
		if mismatch {
			return nil, union("content_hash_mismatch"), nil
		}
	}
	if !ss.Concurrent && (h == nil || h.n != ss.Offset) {
		var err error
		if h, err = hashFile(src); err != nil {
			return nil, nil, err
		}
	}
	s.mu.Lock()
	ss.Closed = true
	s.mu.Unlock()
	e, werr := s.commit(commit, src, h)
	if werr != nil {
		// The data stays in the session: the client may finish again
		// with an empty body at the new offset.
		return nil, union("path", "path", werr), nil
	}
	s.dropSession(c.SessionID)
	os.Remove(src) // still there when an identical file made the commit a no-op
	return e, nil, nil
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, arg []byte) {
	var a struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(arg, &a); err != nil || !validPath(a.Path) {
		badRequest(w, `Error in call to API function "files/download": HTTP header "Dropbox-API-Arg": path: did not match pattern`)
		return
	}
	s.mu.Lock()
	e := s.lookupLocked(a.Path)
	var f *os.File
	var err error
	if e != nil && !e.Folder {
		f, err = os.Open(s.blobPath(e.Blob))
	}
	s.mu.Unlock()
	switch {
	case e == nil:
		writeError(w, http.StatusConflict, union("path", "path", union("not_found")))
		return
	case e.Folder:
		writeError(w, http.StatusConflict, union("path", "path", union("not_file")))
		return
	case err != nil:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	b, _ := json.Marshal(metadata(e, false))
	w.Header().Set("Dropbox-API-Result", headerSafe(b))
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, f)
}

func (s *Server) getMetadata(w http.ResponseWriter, r *http.Request, arg []byte) {
	var a struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(arg, &a); err != nil || !validPath(a.Path) {
		badRequest(w, `Error in call to API function "files/get_metadata": request body: path: did not match pattern`)
		return
	}
	s.mu.Lock()
	e := s.lookupLocked(a.Path)
	s.mu.Unlock()
	if e == nil {
		writeError(w, http.StatusConflict, union("path", "path", union("not_found")))
		return
	}
	writeJSON(w, http.StatusOK, metadata(e, true))
}

// listCursor is what a list_folder cursor encodes.
type listCursor struct {
	Dir       string `json:"d"`
	Recursive bool   `json:"r,omitempty"`
	After     string `json:"a,omitempty"`
	Limit     int    `json:"l,omitempty"`
}

func (s *Server) listFolder(w http.ResponseWriter, r *http.Request, arg []byte) {
	var a struct {
		Path      string `json:"path"`
		Recursive bool   `json:"recursive"`
		Limit     int    `json:"limit"`
	}
	if err := json.Unmarshal(arg, &a); err != nil || (a.Path != "" && !validPath(a.Path)) {
		badRequest(w, `Error in call to API function "files/list_folder": request body: path: did not match pattern`)
		return
	}
	if a.Limit < 0 || a.Limit > 2000 {
		badRequest(w, `Error in call to API function "files/list_folder": request body: limit: value out of range`)
		return
	}
	s.list(w, listCursor{Dir: a.Path, Recursive: a.Recursive, Limit: a.Limit})
}

func (s *Server) listFolderContinue(w http.ResponseWriter, r *http.Request, arg []byte) {
	var a struct {
		Cursor string `json:"cursor"`
	}
	var c listCursor
	err := json.Unmarshal(arg, &a)
	if err == nil {
		var b []byte
		if b, err = base64.RawURLEncoding.DecodeString(a.Cursor); err == nil {
			err = json.Unmarshal(b, &c)
		}
	}
	if err != nil {
		badRequest(w, `Error in call to API function "files/list_folder/continue": Invalid "cursor" parameter`)
		return
	}
	s.list(w, c)
}

func (s *Server) list(w http.ResponseWriter, c listCursor) {
	s.mu.Lock()
	dir := ""
	if c.Dir != "" {
		e := s.lookupLocked(c.Dir)
		switch {
		case e == nil:
			s.mu.Unlock()
			writeError(w, http.StatusConflict, union("path", "path", union("not_found")))
			return
		case !e.Folder:
			s.mu.Unlock()
			writeError(w, http.StatusConflict, union("path", "path", union("not_folder")))
			return
		}
		dir = e.Display
	}
	all := s.childrenLocked(dir, c.Recursive)
	s.mu.Unlock()
	limit := c.Limit
	if limit == 0 {
		limit = 2000
	}
	entries := []any{}
	more := false
	for _, e := range all {
		lower := strings.ToLower(e.Display)
		if lower <= c.After {
			continue
		}
		if len(entries) == limit {
			more = true
			break
		}
		entries = append(entries, metadata(e, true))
		c.After = lower
	}
	b, _ := json.Marshal(c)
	writeJSON(w, http.StatusOK, map[string]any{
		"entries": entries, "cursor": base64.RawURLEncoding.EncodeToString(b), "has_more": more,
	})
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, arg []byte) {
	var a struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(arg, &a); err != nil || !validPath(a.Path) {
		badRequest(w, `Error in call to API function "files/delete_v2": request body: path: did not match pattern`)
		return
	}
	s.mu.Lock()
	e := s.lookupLocked(a.Path)
	if e != nil {
		s.removeLocked(e)
	}
	s.mu.Unlock()
	if e == nil {
		writeError(w, http.StatusConflict, union("path_lookup", "path_lookup", union("not_found")))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"metadata": metadata(e, true)})
}

func (s *Server) createFolder(w http.ResponseWriter, r *http.Request, arg []byte) {
	var a struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(arg, &a); err != nil || !validPath(a.Path) {
		badRequest(w, `Error in call to API function "files/create_folder_v2": request body: path: did not match pattern`)
		return
	}
	if tag := checkWritePath(a.Path); tag != "" {
		writeError(w, http.StatusConflict, union("path", "path", union(tag)))
		return
	}
	s.mu.Lock()
	existing := s.entries[strings.ToLower(a.Path)]
	conflict := ""
	switch {
	case existing != nil && existing.Folder:
		conflict = "folder"
	case existing != nil:
		conflict = "file"
	default:
		conflict = s.mkdirsLocked(a.Path, true)
		s.saveLocked()
	}
	e := s.entries[strings.ToLower(a.Path)]
	s.mu.Unlock()
	if conflict != "" {
		writeError(w, http.StatusConflict, union("path", "path", union("conflict", "conflict", union(conflict))))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"metadata": metadata(e, false)})
}

func (s *Server) spaceUsage(w http.ResponseWriter, r *http.Request, arg []byte) {
	s.mu.Lock()
	used := s.usedLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"used":       used,
		"allocation": union("individual", "allocated", s.cloud.Quota("dropbox")),
	})
}

// hasData reports whether a body that should be empty carries bytes; it
// reads the rest away so the answer can go out.
func hasData(body io.Reader) bool {
	if n, _ := io.ReadFull(body, make([]byte, 1)); n == 0 {
		return false
	}
	io.Copy(io.Discard, body)
	return true
}

// validPath is the argument pattern of path fields: "/…" or "id:…".
func validPath(p string) bool {
	return strings.HasPrefix(p, "/") || strings.HasPrefix(p, "id:")
}

// appendChecked appends a request body to a session; on failure it has
// answered (or the client is gone) and reports false.
func (s *Server) appendChecked(w http.ResponseWriter, ss *session, body io.Reader, hash string) bool {
	mismatch, err := s.appendBody(ss, body, hash)
	if err == nil && mismatch {
		writeError(w, http.StatusConflict, union("content_hash_mismatch"))
	}
	return err == nil && !mismatch
}
