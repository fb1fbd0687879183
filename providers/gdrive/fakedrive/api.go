package fakedrive

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
)

// createMeta is the File metadata a create or upload request carries.
type createMeta struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	MimeType     string   `json:"mimeType"`
	Parents      []string `json:"parents"`
	ModifiedTime string   `json:"modifiedTime"`
	Trashed      *bool    `json:"trashed"`
}

func decodeMeta(r *http.Request) (createMeta, error) {
	var m createMeta
	b, err := fakecloud.ReadAllLimited(r.Body)
	if err != nil || len(b) == 0 {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

// newFileLocked turns metadata into a file with a fresh (or the requested)
// id, checking its parents. Callers hold s.mu and add it to s.st.Files.
func (s *Server) newFileLocked(m createMeta, mediaType string) (*file, *driveError) {
	now := time.Now().UTC()
	f := &file{ID: m.ID, Name: m.Name, MimeType: m.MimeType, Created: now, Modified: now}
	if f.ID == "" {
		f.ID = newID()
	} else if _, used := s.st.Files[f.ID]; used {
		e := errDuplicateID()
		return nil, &e
	}
	if f.Name == "" {
		f.Name = "Untitled"
	}
	if f.MimeType == "" {
		f.MimeType = mediaType
	}
	if f.MimeType == "" {
		f.MimeType = "application/octet-stream"
	}
	if m.ModifiedTime != "" {
		t, err := time.Parse(time.RFC3339Nano, m.ModifiedTime)
		if err != nil {
			e := errInvalid("modifiedTime", "Invalid value for modifiedTime: "+m.ModifiedTime)
			return nil, &e
		}
		f.Modified = t.UTC()
	}
	parents := m.Parents
	if len(parents) == 0 {
		parents = []string{s.st.RootID}
	}
	for _, p := range parents {
		if p == "root" {
			p = s.st.RootID
		}
		if pf := s.st.Files[p]; pf == nil || !pf.isFolder() || pf.Trashed {
			e := errNotFound(p)
			return nil, &e
		}
		f.Parents = append(f.Parents, p)
	}
	return f, nil
}

// lookupLocked resolves an id, with Drive's "root" alias.
func (s *Server) lookupLocked(id string) *file {
	if id == "root" {
		id = s.st.RootID
	}
	return s.st.Files[id]
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	root := s.st.RootID
	s.mu.Unlock()
	pred, err := parseQuery(q.Get("q"), root)
	if err != nil {
		writeError(w, errInvalid("q", "Invalid Value"))
		return
	}
	sel, err := fields(r, selection{"kind": nil, "incompleteSearch": nil, "nextPageToken": nil, "files": defaultFileFields})
	if err != nil {
		writeError(w, errInvalid("fields", "Invalid field selection "+q.Get("fields")))
		return
	}
	// Without pageSize My Drive answers with everything, up to 1000 a page.
	size := 1000
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, errInvalid("pageSize", "Invalid value for pageSize"))
			return
		}
		size = min(n, 1000)
	}
	start := 0
	if v := q.Get("pageToken"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, errInvalid("pageToken", "Invalid Value"))
			return
		}
		start = n
	}

	s.mu.Lock()
	var matched []*file
	for _, f := range s.st.Files {
		if f.ID != s.st.RootID && pred(f) {
			matched = append(matched, f)
		}
	}
	sortFiles(matched)
	resp := map[string]any{"kind": "drive#fileList", "incompleteSearch": false}
	files := []map[string]any{}
	for i := start; i < len(matched) && i < start+size; i++ {
		files = append(files, s.render(matched[i]))
	}
	if start+size < len(matched) {
		resp["nextPageToken"] = strconv.Itoa(start + size)
	}
	s.mu.Unlock()
	resp["files"] = files
	writeJSON(w, http.StatusOK, sel.apply(resp))
}

// createMetadata serves files.create without media: folders, and empty files.
func (s *Server) createMetadata(w http.ResponseWriter, r *http.Request) {
	m, err := decodeMeta(r)
	if err != nil {
		writeError(w, errBadRequest("Invalid JSON payload received."))
		return
	}
	s.mu.Lock()
	f, derr := s.newFileLocked(m, "")
	if derr == nil && !f.isFolder() {
		newHashes().apply(f)
		if err = os.WriteFile(s.blobPath(f.ID), nil, 0o644); err != nil {
			derr = &errBackend
		}
	}
	if derr == nil {
		s.st.Files[f.ID] = f
		if err := s.saveLocked(); err != nil {
			derr = &errBackend
		}
	}
	s.mu.Unlock()
	if derr != nil {
		writeError(w, *derr)
		return
	}
	s.writeFile(w, r, http.StatusOK, f)
}

func (s *Server) generateIDs(w http.ResponseWriter, r *http.Request) {
	n := 10
	if v := r.URL.Query().Get("count"); v != "" {
		c, err := strconv.Atoi(v)
		if err != nil || c < 1 || c > 1000 {
			writeError(w, errInvalid("count", "Invalid value for count"))
			return
		}
		n = c
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newID()
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "drive#generatedIds", "space": "drive", "ids": ids})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	f := s.lookupLocked(id)
	var snapshot file
	if f != nil {
		snapshot = *f
	}
	s.mu.Unlock()
	if f == nil {
		writeError(w, errNotFound(id))
		return
	}
	if r.URL.Query().Get("alt") != "media" {
		s.writeFile(w, r, http.StatusOK, f)
		return
	}
	if snapshot.isFolder() {
		writeError(w, driveError{Code: 403, Message: "Only files with binary content can be downloaded.", Domain: "global", Reason: "fileNotDownloadable", Location: "alt", LocationType: "parameter"})
		return
	}
	content, err := os.Open(s.blobPath(snapshot.ID))
	if err != nil {
		writeError(w, errNotFound(id))
		return
	}
	defer content.Close()
	w.Header().Set("Content-Type", snapshot.MimeType)
	http.ServeContent(w, r, "", snapshot.Modified, content)
}

// update serves metadata changes: rename, trash, modifiedTime.
func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m, err := decodeMeta(r)
	if err != nil {
		writeError(w, errBadRequest("Invalid JSON payload received."))
		return
	}
	s.mu.Lock()
	f := s.lookupLocked(id)
	if f == nil {
		s.mu.Unlock()
		writeError(w, errNotFound(id))
		return
	}
	if m.Name != "" {
		f.Name = m.Name
	}
	if m.Trashed != nil {
		f.Trashed = *m.Trashed
	}
	if t, err := time.Parse(time.RFC3339Nano, m.ModifiedTime); err == nil {
		f.Modified = t.UTC()
	}
	err = s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		writeError(w, errBackend)
		return
	}
	s.writeFile(w, r, http.StatusOK, f)
}

// delete removes a file, or a folder and everything in it, bypassing the trash.
func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	f := s.lookupLocked(id)
	if f == nil || f.ID == s.st.RootID {
		s.mu.Unlock()
		writeError(w, errNotFound(id))
		return
	}
	s.deleteLocked(f.ID)
	err := s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		writeError(w, errBackend)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) about(w http.ResponseWriter, r *http.Request) {
	sel, err := fields(r, nil)
	if err != nil {
		writeError(w, errInvalid("fields", "Invalid field selection"))
		return
	}
	s.mu.Lock()
	used := s.usedLocked()
	s.mu.Unlock()
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	writeJSON(w, http.StatusOK, sel.apply(map[string]any{
		"kind": "drive#about",
		"storageQuota": map[string]any{
			"limit":             n(s.cloud.Quota("drive")),
			"usage":             n(used),
			"usageInDrive":      n(used),
			"usageInDriveTrash": "0",
		},
	}))
}
