// Package fakedropbox emulates the parts of the Dropbox v2 API offsite
// uses, closely enough for the unmodified Go SDK: RPC and content routes on
// one host, union-tagged errors, upload sessions, content_hash, case-
// insensitive paths that keep their case, and files kept on disk so they
// survive a restart. Faults, tokens, quotas and statistics come from the
// shared fakecloud core.
package fakedropbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/offsite-backup/offsite/internal/fakecloud"
)

// Server is the Dropbox emulator. It implements fakecloud.Service.
type Server struct {
	cloud *fakecloud.Cloud
	dir   string

	mu       sync.Mutex
	entries  map[string]*entry // by lower-cased path
	sessions map[string]*session
	jobs     map[string]*batchJob // finish_batch jobs by async_job_id

	bufs sync.Pool // *[]byte of copyBuf bytes, for request bodies on their way to disk
}

const copyBuf = 1 << 20

// copyBody copies a request body to w through a pooled buffer: a buffer
// per request would be a megabyte of garbage for every chunk received.
func (s *Server) copyBody(w io.Writer, body io.Reader) (int64, error) {
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, copyBuf)
		bp = &b
	}
	defer s.bufs.Put(bp)
	return io.CopyBuffer(w, body, *bp)
}

var _ fakecloud.Service = (*Server)(nil)

// New returns an emulator keeping its files under dataDir, loading what an
// earlier run stored there.
func New(cloud *fakecloud.Cloud, dataDir string) (*Server, error) {
	s := &Server{cloud: cloud, dir: dataDir, entries: map[string]*entry{}, sessions: map[string]*session{}, jobs: map[string]*batchJob{}}
	if err := s.load(); err != nil {
		return nil, err
	}
	cloud.Register(s)
	return s, nil
}

// Name is the service's name in the control API.
func (s *Server) Name() string { return "dropbox" }

// Files lists stored files by path from the account root, without the leading slash.
func (s *Server) Files() []fakecloud.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []fakecloud.File{}
	changed := false
	for _, e := range s.entries {
		if e.Folder {
			continue
		}
		if e.SHA256 == "" {
			if sum, err := sha256File(s.blobPath(e.Blob)); err == nil {
				e.SHA256, changed = sum, true
			}
		}
		out = append(out, fakecloud.File{Path: strings.TrimPrefix(e.Display, "/"), Size: e.Size, SHA256: e.SHA256})
	}
	if changed {
		s.saveLocked()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// ErrorBody renders Dropbox's own body for an injected status.
func (s *Server) ErrorBody(status int) (string, []byte) {
	const jsonType = "application/json"
	switch {
	case status == http.StatusTooManyRequests:
		return jsonType, []byte(`{"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 1}}`)
	case status == http.StatusUnauthorized:
		return jsonType, []byte(`{"error_summary": "expired_access_token/..", "error": {".tag": "expired_access_token"}}`)
	case status == http.StatusForbidden:
		return jsonType, []byte(`{"error_summary": "no_permission/..", "error": {".tag": "no_permission"}}`)
	case status == http.StatusConflict:
		return jsonType, []byte(`{"error_summary": "other/..", "error": {".tag": "other"}}`)
	case status == http.StatusBadRequest:
		return "text/plain; charset=utf-8", []byte("Error in call to API function: bad request")
	}
	return "text/plain; charset=utf-8", []byte(http.StatusText(status))
}

// Routes lists the patterns Register mounts, one per API function.
func Routes() []string {
	var rec fakecloud.RouteRecorder
	(&Server{cloud: fakecloud.New(time.Hour)}).Register(&rec)
	return rec
}

// Register mounts the API, content and token routes on mux.
func (s *Server) Register(mux fakecloud.Mux) {
	for _, rt := range s.routes() {
		mux.Handle("/2/"+rt.name, s.cloud.Wrap("dropbox", rt.upload, s.handle(rt)))
	}
	mux.Handle("/2/", s.cloud.Wrap("dropbox", false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		badRequest(w, "Unknown API function: "+strings.TrimPrefix(r.URL.Path, "/2/"))
	})))
	mux.Handle("/oauth2/token", s.cloud.Wrap("dropbox", false, s.cloud.TokenHandler("dropbox")))
	// The path older clients (rclone up to 1.6x) still refresh at.
	mux.Handle("/1/oauth2/token", s.cloud.Wrap("dropbox", false, s.cloud.TokenHandler("dropbox")))
	mux.Handle("POST /_fakecloud/dropbox/sessions/expire", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ExpireSessions()
		w.WriteHeader(http.StatusNoContent)
	}))
}

// route is one API function. content routes take their argument in the
// Dropbox-API-Arg header; RPC routes in the JSON body.
type route struct {
	name    string
	content bool
	upload  bool
	serve   func(w http.ResponseWriter, r *http.Request, arg []byte)
}

func (s *Server) handle(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			badRequest(w, fmt.Sprintf("Error in call to API function %q: Unsupported method %s", rt.name, r.Method))
			return
		}
		switch s.cloud.CheckToken("dropbox", r) {
		case fakecloud.TokenOK:
		case fakecloud.TokenExpired:
			writeError(w, http.StatusUnauthorized, union("expired_access_token"))
			return
		default:
			writeError(w, http.StatusUnauthorized, union("invalid_access_token"))
			return
		}
		var arg []byte
		if rt.content {
			arg = []byte(r.Header.Get("Dropbox-API-Arg"))
			if len(arg) == 0 {
				arg = []byte(r.URL.Query().Get("arg"))
			}
		} else {
			b, err := fakecloud.ReadAllLimited(r.Body)
			if err != nil {
				return
			}
			arg = b
		}
		if len(arg) == 0 {
			arg = []byte("null")
		}
		if !json.Valid(arg) {
			where := "request body"
			if rt.content {
				where = `HTTP header "Dropbox-API-Arg"`
			}
			badRequest(w, fmt.Sprintf("Error in call to API function %q: %s: could not decode input as JSON", "files/"+rt.name, where))
			return
		}
		rt.serve(w, r, arg)
	})
}

// union builds a tagged-union value: {".tag": tag, k1: v1, …}.
func union(tag string, kv ...any) map[string]any {
	u := map[string]any{".tag": tag}
	for i := 0; i+1 < len(kv); i += 2 {
		u[kv[i].(string)] = kv[i+1]
	}
	return u
}

// summary follows the nested tags of an error union, as error_summary does.
func summary(u map[string]any) string {
	var tags []string
	for u != nil {
		tag, _ := u[".tag"].(string)
		if tag == "" {
			if r, ok := u["reason"].(map[string]any); ok {
				u = r
				continue
			}
			break
		}
		tags = append(tags, tag)
		next, _ := u[tag].(map[string]any)
		if next == nil {
			next, _ = u["reason"].(map[string]any)
		}
		u = next
	}
	return strings.Join(tags, "/") + "/.."
}

// writeError answers with a route error (409) or an auth error (401) body.
func writeError(w http.ResponseWriter, status int, u map[string]any) {
	writeJSON(w, status, map[string]any{"error_summary": summary(u), "error": u})
}

// badRequest answers 400 with plain text, as Dropbox does.
func badRequest(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	w.Write([]byte(msg))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// headerSafe escapes non-ASCII as \uXXXX so JSON can travel in a header.
func headerSafe(b []byte) string {
	var sb strings.Builder
	for _, r := range string(b) {
		switch {
		case r < 0x7f:
			sb.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&sb, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
	}
	return sb.String()
}
