// Package fakedrive emulates the parts of the Google Drive v3 API a backup
// tool uses, well enough for the unmodified Go Drive client: folders, the
// q/fields/paging subset of files.list, files.get (metadata and media),
// multipart, media and resumable uploads (both 308 styles), delete,
// generateIds and about.get. Files and metadata live on disk, so a restart
// of the process keeps them; faults, statistics, quotas and tokens come
// from the shared fakecloud core.
package fakedrive

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
)

// SessionTTL is how long a resumable session lives, as on Drive.
const SessionTTL = 7 * 24 * time.Hour

// Server is the Drive emulator. Create it with New.
type Server struct {
	cloud *fakecloud.Cloud
	dir   string

	mu sync.Mutex
	st state

	sessLocks sync.Map // session id → *sync.Mutex: one chunk at a time per session
	// running: session id → *hashes of the part file's bytes so far, fed as
	// chunks land, so finishing need not read the file again. Missing after
	// a restart, when finish falls back to reading it.
	running sync.Map
}

var _ fakecloud.Service = (*Server)(nil)

// New opens (or creates) the drive kept under dataDir and registers it with cloud.
func New(cloud *fakecloud.Cloud, dataDir string) (*Server, error) {
	s := &Server{cloud: cloud, dir: filepath.Join(dataDir, "drive")}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("fakedrive: %w", err)
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	cloud.Register(s)
	return s, nil
}

// Routes lists what Register mounts: the patterns of its own mux, of the
// metadata API behind /drive/v3/, and the upload kinds /upload/drive/v3/
// tells apart (by uploadType, or upload_id for a resumable session's URI).
func Routes() []string {
	s := &Server{cloud: fakecloud.New(time.Hour)}
	var rec fakecloud.RouteRecorder
	s.Register(&rec)
	s.mountAPI(&rec)
	for _, t := range slices.Sorted(maps.Keys(s.uploadKinds())) {
		rec = append(rec, "uploadType="+t)
	}
	return append(rec, "upload_id=")
}

// mountAPI mounts the metadata routes, served under /drive/v3/.
func (s *Server) mountAPI(mux fakecloud.Mux) {
	mux.Handle("GET /drive/v3/files", http.HandlerFunc(s.list))
	mux.Handle("POST /drive/v3/files", http.HandlerFunc(s.createMetadata))
	mux.Handle("GET /drive/v3/files/generateIds", http.HandlerFunc(s.generateIDs))
	mux.Handle("GET /drive/v3/files/{id}", http.HandlerFunc(s.get))
	mux.Handle("PATCH /drive/v3/files/{id}", http.HandlerFunc(s.update))
	mux.Handle("DELETE /drive/v3/files/{id}", http.HandlerFunc(s.delete))
	mux.Handle("GET /drive/v3/about", http.HandlerFunc(s.about))
}

// Register mounts the API, upload, token and device-code routes on mux.
func (s *Server) Register(mux fakecloud.Mux) {
	api := http.NewServeMux()
	s.mountAPI(api)
	mux.Handle("/drive/v3/", s.cloud.Wrap("drive", false, s.authorized(api)))
	mux.Handle("/upload/drive/v3/", s.cloud.Wrap("drive", true, s.authorized(http.HandlerFunc(s.upload))))
	mux.Handle("/token", s.cloud.Wrap("drive", false, s.cloud.TokenHandler("drive")))
	mux.Handle("/device/code", s.cloud.Wrap("drive", false, s.cloud.DeviceCodeHandler()))
}

// authorized answers a missing, unknown or expired access token with
// Drive's 401. A resumable session URI is its own credential, as on Drive,
// so chunks may come without a token; a token they do carry must be valid.
func (s *Server) authorized(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := r.URL.Query().Get("upload_id") != ""
		if session && r.Header.Get("Authorization") == "" {
			h.ServeHTTP(w, r)
			return
		}
		if s.cloud.CheckToken("drive", r) != fakecloud.TokenOK {
			writeError(w, errAuth)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Name is the service name the control API knows it by.
func (s *Server) Name() string { return "drive" }

// Files lists stored binary files by folder path from My Drive.
func (s *Server) Files() []fakecloud.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []fakecloud.File
	for _, f := range s.st.Files {
		if f.isFolder() || f.Trashed {
			continue
		}
		out = append(out, fakecloud.File{Path: s.pathLocked(f), Size: f.Size, SHA256: f.SHA256})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// render is f as Drive's File resource, before `fields` selection. int64
// values are JSON strings, as the Go client expects.
func (s *Server) render(f *file) map[string]any {
	m := map[string]any{
		"kind":         "drive#file",
		"id":           f.ID,
		"name":         f.Name,
		"mimeType":     f.MimeType,
		"trashed":      f.Trashed,
		"createdTime":  f.Created.UTC().Format(timeFormat),
		"modifiedTime": f.Modified.UTC().Format(timeFormat),
	}
	if len(f.Parents) > 0 {
		m["parents"] = f.Parents
	}
	if !f.isFolder() {
		m["size"] = strconv.FormatInt(f.Size, 10)
		m["quotaBytesUsed"] = strconv.FormatInt(f.Size, 10)
		m["md5Checksum"] = f.MD5
		m["sha256Checksum"] = f.SHA256
	}
	return m
}

const timeFormat = "2006-01-02T15:04:05.000Z"

// defaultFileFields is what Drive returns for a file when fields is absent.
var defaultFileFields = selection{"kind": nil, "id": nil, "name": nil, "mimeType": nil}

// fields parses r's fields parameter, falling back to def.
func fields(r *http.Request, def selection) (selection, error) {
	f := r.URL.Query().Get("fields")
	if f == "" {
		return def, nil
	}
	return parseFields(f)
}

// writeFile answers with f as selected by the request's fields parameter.
func (s *Server) writeFile(w http.ResponseWriter, r *http.Request, status int, f *file) {
	s.writeFileFields(w, status, f, r.URL.Query().Get("fields"))
}

func (s *Server) writeFileFields(w http.ResponseWriter, status int, f *file, fieldsParam string) {
	sel := defaultFileFields
	if fieldsParam != "" {
		var err error
		if sel, err = parseFields(fieldsParam); err != nil {
			writeError(w, errInvalid("fields", "Invalid field selection "+fieldsParam))
			return
		}
	}
	s.mu.Lock()
	obj := sel.apply(s.render(f))
	s.mu.Unlock()
	writeJSON(w, status, obj)
}
