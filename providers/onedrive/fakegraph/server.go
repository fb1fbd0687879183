// Package fakegraph emulates the OneDrive part of Microsoft Graph v1.0 that
// a backup tool uses: items by path and by id, children with paging,
// folder creation with conflict behaviours, simple uploads, upload sessions
// with Graph's fragment rules, downloads through a pre-authenticated
// redirect, delete and the drive's quota. Files live on disk and survive a
// restart; faults, statistics, quotas and tokens come from fakecloud.
package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
)

// Server is the Graph emulator. Create it with New.
type Server struct {
	cloud *fakecloud.Cloud
	dir   string

	// SessionTTL is how long an upload session lives without a fragment
	// (default 24h). Set it before serving.
	SessionTTL time.Duration
	// RewriteOffice makes the emulator behave like OneDrive for Business
	// and SharePoint, which add metadata to Office documents once they
	// land: after the upload's answer, a committed .docx/.xlsx/.pptx grows,
	// so its size and hash differ from what was sent. Set it before serving.
	RewriteOffice bool

	mu        sync.Mutex
	st        state
	downloads map[string]download // pre-authenticated download tokens, in memory only

	sessLocks sync.Map // session id → *sync.Mutex: one fragment at a time per session
	running   sync.Map // session id → *received: the hash of the bytes received so far
}

type download struct {
	itemID  string
	expires time.Time
}

var _ fakecloud.Service = (*Server)(nil)

// tenants are the sign-in authorities whose token endpoints Register
// mounts. A pattern with a {tenant} wildcard would collide with the other
// emulators' routes on a shared mux, so tenant ids are not served.
var tenants = []string{"common", "organizations", "consumers"}

// New opens (or creates) the drive kept under dataDir/onedrive and
// registers it with cloud.
func New(cloud *fakecloud.Cloud, dataDir string) (*Server, error) {
	s := &Server{cloud: cloud, dir: filepath.Join(dataDir, "onedrive"), SessionTTL: 24 * time.Hour,
		downloads: map[string]download{}}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("fakegraph: %w", err)
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	cloud.Register(s)
	return s, nil
}

// Routes lists what Register mounts: its mux patterns, then the /v1.0
// requests serveAPI answers, as "METHOD {drive}" or "METHOD {item}/action"
// ({drive} is /me/drive or /drives/{id}; {item} is {drive}/root,
// {drive}/root:/path:, {drive}/items/{id} or {drive}/items/{id}:/path:).
func Routes() []string {
	var rec fakecloud.RouteRecorder
	(&Server{cloud: fakecloud.New(time.Hour)}).Register(&rec)
	for _, a := range (&Server{}).apiRoutes() {
		base := "{item}"
		if a.drive {
			base = "{drive}"
		}
		if a.action != "" {
			base += "/" + a.action
		}
		rec = append(rec, a.method+" "+base)
	}
	return rec
}

// Register mounts the API, upload-session, download and OAuth routes on mux.
func (s *Server) Register(mux fakecloud.Mux) {
	api := s.cloud.Wrap("onedrive", false, s.authorized(http.HandlerFunc(s.serveAPI)))
	content := s.cloud.Wrap("onedrive", true, s.authorized(http.HandlerFunc(s.serveAPI)))
	mux.Handle("/v1.0/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A simple upload's body is file content and counts as upload bytes.
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/content") {
			content.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	mux.Handle("/_graph/upload/", s.cloud.Wrap("onedrive", true, http.HandlerFunc(s.serveSession)))
	mux.Handle("/_graph/download/", s.cloud.Wrap("onedrive", false, http.HandlerFunc(s.serveDownload)))
	token := s.cloud.Wrap("onedrive", false, s.cloud.TokenHandler("onedrive"))
	device := s.cloud.Wrap("onedrive", false, s.cloud.DeviceCodeHandler())
	for _, t := range tenants {
		mux.Handle("/"+t+"/oauth2/v2.0/token", token)
		mux.Handle("/"+t+"/oauth2/v2.0/devicecode", device)
	}
	// A tenant id (a GUID) cannot be a mux wildcard beside /_fakecloud/, so
	// the login routes of any other tenant are found here, on the fallback.
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" {
			switch parts[3] {
			case "token":
				token.ServeHTTP(w, r)
				return
			case "devicecode":
				device.ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r)
	}))
}

// authorized answers a missing, unknown or expired bearer token with
// Graph's 401.
func (s *Server) authorized(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch s.cloud.CheckToken("onedrive", r) {
		case fakecloud.TokenOK:
			h.ServeHTTP(w, r)
		case fakecloud.TokenMissing:
			writeError(w, errNoToken)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="", error="invalid_token"`)
			writeError(w, errBadToken)
		}
	})
}

// Name is the service name the control API knows it by.
func (s *Server) Name() string { return "onedrive" }

// DriveID is the id of the emulated drive, for /drives/{id} routes.
func (s *Server) DriveID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.DriveID
}

// ExpireSessions ends every open upload session, as Graph does when one
// outlives its expirationDateTime.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.st.Sessions {
		ss.Expires = time.Now().Add(-time.Second)
	}
	s.saveLocked()
}

// Files lists stored files (not folders) by path from the drive root.
func (s *Server) Files() []fakecloud.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []fakecloud.File
	changed := false
	for _, it := range s.st.Items {
		if it.Folder {
			continue
		}
		if it.SHA256 == "" {
			if sum, err := sha256File(s.blobPath(it.ID)); err == nil {
				it.SHA256, changed = sum, true
			}
		}
		out = append(out, fakecloud.File{Path: s.pathLocked(it), Size: it.Size, SHA256: it.SHA256})
	}
	if changed {
		s.saveLocked()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

const timeFormat = "2006-01-02T15:04:05.000Z"

// renderLocked is it as a driveItem. size is a JSON number, as in Graph.
func (s *Server) renderLocked(it *item) map[string]any {
	m := map[string]any{
		"id":                   it.ID,
		"name":                 it.Name,
		"size":                 it.Size,
		"eTag":                 fmt.Sprintf(`"{%s},%d"`, it.ID, it.Modified.UnixNano()),
		"cTag":                 fmt.Sprintf(`"c:{%s},%d"`, it.ID, it.Modified.UnixNano()),
		"createdDateTime":      it.Created.UTC().Format(timeFormat),
		"lastModifiedDateTime": it.Modified.UTC().Format(timeFormat),
		"fileSystemInfo": map[string]any{
			"createdDateTime":      it.Created.UTC().Format(timeFormat),
			"lastModifiedDateTime": it.FSModified.UTC().Format(timeFormat),
		},
	}
	if it.ID == s.st.RootID {
		m["root"] = map[string]any{}
	} else {
		parent := s.st.Items[it.ParentID]
		ppath := "/drive/root:"
		if p := s.pathLocked(parent); p != "" {
			ppath += "/" + p
		}
		m["parentReference"] = map[string]any{"driveId": s.st.DriveID, "driveType": "personal", "id": it.ParentID, "path": ppath}
	}
	if it.Folder {
		m["folder"] = map[string]any{"childCount": len(s.childrenLocked(it.ID))}
	} else {
		m["file"] = map[string]any{"mimeType": "application/octet-stream",
			"hashes": map[string]any{"quickXorHash": it.QuickXor}}
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
