package fakegraph

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/offsite-backup/offsite/internal/fakecloud"
)

// route is a parsed /v1.0 request: the drive itself, or an item reached
// from the root or an id, optionally by a relative path, plus an action.
type route struct {
	drive  bool   // GET /me/drive
	baseID string // root or item id
	rel    string // relative path after "root:" or "items/{id}:"; "" for the base itself
	action string // "", "content", "children" or "createUploadSession"
}

// parseRoute understands /me/drive… and /drives/{id}…, then root, root:/p:,
// items/{id} and items/{id}:/p:, each optionally followed by /action.
func (s *Server) parseRoute(p string) (route, *graphError) {
	p = strings.TrimPrefix(p, "/v1.0")
	switch {
	case strings.HasPrefix(p, "/me/drive"):
		p = strings.TrimPrefix(p, "/me/drive")
	case strings.HasPrefix(p, "/drives/"):
		id, rest, _ := strings.Cut(strings.TrimPrefix(p, "/drives/"), "/")
		if !strings.EqualFold(id, s.st.DriveID) {
			return route{}, errNotFound("drive " + id)
		}
		p = "/" + rest
		if rest == "" {
			p = ""
		}
	default:
		return route{}, errInvalid("", "Invalid request: unknown resource")
	}
	if p == "" || p == "/" {
		return route{drive: true}, nil
	}
	var rt route
	switch {
	case strings.HasPrefix(p, "/root"):
		rt.baseID, p = s.st.RootID, strings.TrimPrefix(p, "/root")
	case strings.HasPrefix(p, "/items/"):
		p = strings.TrimPrefix(p, "/items/")
		end := strings.IndexAny(p, "/:")
		if end < 0 {
			end = len(p)
		}
		rt.baseID, p = p[:end], p[end:]
	default:
		return route{}, errInvalid("", "Invalid request: unknown resource")
	}
	if strings.HasPrefix(p, ":") {
		// root:/a/b: or root:/a/b:/action or root:/a/b (no closing colon).
		rel, tail, closed := strings.Cut(p[1:], ":")
		rt.rel = rel
		if closed {
			p = tail
		} else {
			p = ""
		}
		if rt.rel == "" || rt.rel == "/" {
			rt.rel = ""
		}
	}
	rt.action = strings.TrimPrefix(p, "/")
	switch rt.action {
	case "", "content", "children", "createUploadSession":
		return rt, nil
	}
	return route{}, errInvalid("", "Invalid request: unsupported segment "+rt.action)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rt, gerr := s.parseRoute(r.URL.Path)
	s.mu.Unlock()
	if gerr == nil && utf8.RuneCountInString(rt.rel) > 400 {
		gerr = errInvalid("pathIsTooLong", "The path is too long.")
	}
	if gerr != nil {
		writeError(w, gerr)
		return
	}
	for _, a := range s.apiRoutes() {
		if a.drive == rt.drive && a.action == rt.action && a.method == r.Method {
			a.serve(w, r, rt)
			return
		}
	}
	writeError(w, &graphError{http.StatusMethodNotAllowed, "invalidRequest", "Method not allowed", ""})
}

// apiRoute is one /v1.0 request serveAPI answers: a method on the drive
// itself or on an item, with the action segment after it.
type apiRoute struct {
	method string
	drive  bool
	action string
	serve  func(w http.ResponseWriter, r *http.Request, rt route)
}

func (s *Server) apiRoutes() []apiRoute {
	return []apiRoute{
		{http.MethodGet, true, "", func(w http.ResponseWriter, r *http.Request, _ route) { s.getDrive(w, r) }},
		{http.MethodGet, false, "", s.getItem},
		{http.MethodDelete, false, "", s.deleteItem},
		{http.MethodPatch, false, "", s.updateItem},
		{http.MethodGet, false, "children", s.listChildren},
		{http.MethodPost, false, "children", s.createFolder},
		{http.MethodGet, false, "content", s.redirectDownload},
		{http.MethodPut, false, "content", s.simpleUpload},
		{http.MethodPost, false, "createUploadSession", s.createSession},
	}
}

// lookupLocked resolves rt to an existing item or an itemNotFound error.
func (s *Server) lookupLocked(rt route) (*item, *graphError) {
	if s.st.Items[rt.baseID] == nil {
		return nil, errNotFound("item " + rt.baseID)
	}
	it, _, _ := s.walkLocked(rt.baseID, rt.rel)
	if it == nil {
		return nil, errNotFound(rt.rel)
	}
	return it, nil
}

func (s *Server) getDrive(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	used, total := s.usedLocked(), s.cloud.Quota("onedrive")
	id := s.st.DriveID
	s.mu.Unlock()
	state := "normal"
	switch {
	case used >= total:
		state = "exceeded"
	case used*100 >= total*99:
		state = "critical"
	case used*10 >= total*9:
		state = "nearing"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "driveType": "personal",
		"owner": map[string]any{"user": map[string]any{"displayName": "Fake User", "id": id}},
		"quota": map[string]any{"total": total, "used": used, "remaining": max(total-used, 0), "deleted": 0, "state": state},
	})
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, gerr := s.lookupLocked(rt)
	if gerr != nil {
		writeError(w, gerr)
		return
	}
	writeJSON(w, http.StatusOK, s.renderLocked(it))
}

// updateItem applies the part of a PATCH offsite uses: the item's
// fileSystemInfo.lastModifiedDateTime.
func (s *Server) updateItem(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		FileSystemInfo *struct {
			LastModified time.Time `json:"lastModifiedDateTime"`
		} `json:"fileSystemInfo"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, errInvalid("invalidRequest", "Invalid request body."))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, gerr := s.lookupLocked(rt)
	if gerr != nil {
		writeError(w, gerr)
		return
	}
	if req.FileSystemInfo != nil && !req.FileSystemInfo.LastModified.IsZero() {
		it.FSModified = req.FileSystemInfo.LastModified.UTC()
		s.saveLocked()
	}
	writeJSON(w, http.StatusOK, s.renderLocked(it))
}

func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, gerr := s.lookupLocked(rt)
	if gerr != nil {
		writeError(w, gerr)
		return
	}
	if it.ID == s.st.RootID {
		writeError(w, &graphError{http.StatusForbidden, "accessDenied", "The root cannot be deleted", ""})
		return
	}
	s.deleteLocked(it)
	s.saveLocked()
	w.WriteHeader(http.StatusNoContent)
}

// listChildren pages with $top (default 200) and an opaque $skiptoken,
// linking the next page with an absolute @odata.nextLink.
func (s *Server) listChildren(w http.ResponseWriter, r *http.Request, rt route) {
	q := r.URL.Query()
	top := 200
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, errInvalid("invalidQueryOption", "Invalid $top"))
			return
		}
		top = min(n, 1000)
	}
	skip := 0
	if v := q.Get("$skiptoken"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, errInvalid("invalidQueryOption", "Invalid $skiptoken"))
			return
		}
		skip = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, gerr := s.lookupLocked(rt)
	if gerr != nil {
		writeError(w, gerr)
		return
	}
	if !it.Folder {
		writeError(w, errInvalid("", "The item is not a folder"))
		return
	}
	kids := s.childrenLocked(it.ID)
	value := []map[string]any{}
	end := min(skip+top, len(kids))
	for _, c := range kids[min(skip, len(kids)):end] {
		value = append(value, s.renderLocked(c))
	}
	resp := map[string]any{"value": value}
	if end < len(kids) {
		resp["@odata.nextLink"] = fakecloud.BaseURL(r) + r.URL.EscapedPath() +
			"?$top=" + strconv.Itoa(top) + "&$skiptoken=" + strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, resp)
}

// createFolder is POST …/children with {"name","folder":{}} and an
// optional @microsoft.graph.conflictBehavior (default fail).
func (s *Server) createFolder(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		Name     string          `json:"name"`
		Folder   json.RawMessage `json:"folder"`
		Conflict string          `json:"@microsoft.graph.conflictBehavior"`
	}
	body, err := fakecloud.ReadAllLimited(r.Body)
	if err != nil || json.Unmarshal(body, &req) != nil {
		writeError(w, errInvalid("", "Invalid request body"))
		return
	}
	if req.Folder == nil {
		writeError(w, errInvalid("", "Only folders can be created this way"))
		return
	}
	if gerr := checkName(req.Name); gerr != nil {
		writeError(w, gerr)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, gerr := s.lookupLocked(rt)
	if gerr != nil {
		writeError(w, gerr)
		return
	}
	if !parent.Folder {
		writeError(w, errInvalid("", "The parent is not a folder"))
		return
	}
	name := req.Name
	if old := s.childLocked(parent.ID, name); old != nil {
		switch req.Conflict {
		case "", "fail":
			writeError(w, errNameExists(name))
			return
		case "replace":
			s.deleteLocked(old)
		case "rename":
			name = s.freeNameLocked(parent.ID, name)
		default:
			writeError(w, errInvalid("", "Invalid conflictBehavior "+req.Conflict))
			return
		}
	}
	now := time.Now().UTC()
	it := &item{ID: newItemID(), ParentID: parent.ID, Name: name, Folder: true, Created: now, Modified: now, FSModified: now}
	s.st.Items[it.ID] = it
	s.saveLocked()
	writeJSON(w, http.StatusCreated, s.renderLocked(it))
}

// freeNameLocked returns "name 1.ext", "name 2.ext"… as OneDrive's rename does.
func (s *Server) freeNameLocked(parentID, name string) string {
	stem, ext := name, ""
	if i := strings.LastIndex(name, "."); i > 0 {
		stem, ext = name[:i], name[i:]
	}
	for n := 1; ; n++ {
		cand := stem + " " + strconv.Itoa(n) + ext
		if s.childLocked(parentID, cand) == nil {
			return cand
		}
	}
}

// checkName refuses what OneDrive refuses, with Graph's answer.
func checkName(name string) *graphError {
	switch {
	case name == "" || name == "." || name == ".." || !utf8.ValidString(name):
		return errInvalid("invalidPath", "The name is empty or invalid")
	case strings.ContainsAny(name, `"*:<>?/\|`):
		return errInvalid("", "The provided name cannot contain any illegal characters.")
	case strings.HasPrefix(name, " ") || strings.HasSuffix(name, " ") || strings.HasSuffix(name, "."):
		return errInvalid("", "The provided name cannot begin or end with a space or end with a period.")
	case strings.HasPrefix(name, "~$") || strings.Contains(name, "_vti_"):
		return errInvalid("", "The provided name contains a blocked pattern.")
	}
	stem, _, _ := strings.Cut(name, ".")
	if reserved(name) || reserved(stem) {
		return errInvalid("", "The provided name is a reserved name.")
	}
	return nil
}

func reserved(n string) bool {
	u := strings.ToUpper(n)
	switch u {
	case "CON", "PRN", "AUX", "NUL", ".LOCK", "DESKTOP.INI":
		return true
	}
	return len(u) == 4 && (strings.HasPrefix(u, "COM") || strings.HasPrefix(u, "LPT")) && u[3] >= '0' && u[3] <= '9'
}
