package fakedrive

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
)

// upload serves /upload/drive/v3/files: one-request uploads, session
// starts, and (with upload_id) the chunks and status queries of a session.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("upload_id") != "" {
		s.chunk(w, r)
		return
	}
	if r.URL.Path != "/upload/drive/v3/files" || r.Method != http.MethodPost {
		// Content updates (PATCH …/files/{id}) are not emulated: offsite
		// uploads new files and deletes old ones instead.
		writeError(w, errBadRequest("The emulator supports only files.create uploads."))
		return
	}
	if serve := s.uploadKinds()[q.Get("uploadType")]; serve != nil {
		serve(w, r)
		return
	}
	writeError(w, errInvalid("uploadType", "Invalid value for uploadType: "+q.Get("uploadType")))
}

// uploadKinds are the files.create uploads, by uploadType.
func (s *Server) uploadKinds() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"multipart": s.multipartUpload,
		"related":   s.multipartUpload,
		"media": func(w http.ResponseWriter, r *http.Request) {
			s.mediaUpload(w, r, createMeta{}, r.Body, r.Header.Get("Content-Type"))
		},
		"resumable": s.startSession,
	}
}

func (s *Server) multipartUpload(w http.ResponseWriter, r *http.Request) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		writeError(w, errBadRequest("Bad content type. Please use multipart."))
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	part, err := mr.NextPart()
	if err != nil {
		writeError(w, errBadRequest("Multipart body has no metadata part."))
		return
	}
	var m createMeta
	b, err := fakecloud.ReadAllLimited(part)
	if err == nil && len(b) > 0 {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		writeError(w, errBadRequest("Invalid JSON payload received."))
		return
	}
	media, err := mr.NextPart()
	if err != nil {
		writeError(w, errBadRequest("Multipart body has no media part."))
		return
	}
	s.mediaUpload(w, r, m, media, media.Header.Get("Content-Type"))
}

// mediaUpload stores body as a new file described by m.
func (s *Server) mediaUpload(w http.ResponseWriter, r *http.Request, m createMeta, body io.Reader, mediaType string) {
	tmp, err := os.CreateTemp(s.partDir(), "media-*")
	if err != nil {
		writeError(w, errBackend)
		return
	}
	defer os.Remove(tmp.Name())
	h := newHashes()
	_, err = io.CopyBuffer(io.MultiWriter(tmp, h), body, make([]byte, 256<<10))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// The client went away mid-body; Drive stores nothing.
		writeError(w, errBadRequest("Incomplete request body."))
		return
	}
	f, derr := s.commit(m, mediaType, h, tmp.Name())
	if derr != nil {
		writeError(w, *derr)
		return
	}
	s.writeFile(w, r, http.StatusOK, f)
}

// commit makes the content at path a new file, if the quota allows.
func (s *Server) commit(m createMeta, mediaType string, h *hashes, path string) (*file, *driveError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usedLocked()+h.n > s.cloud.Quota("drive") {
		return nil, &errQuota
	}
	f, derr := s.newFileLocked(m, mediaType)
	if derr != nil {
		return nil, derr
	}
	h.apply(f)
	if err := os.Rename(path, s.blobPath(f.ID)); err != nil {
		return nil, &errBackend
	}
	s.st.Files[f.ID] = f
	if err := s.saveLocked(); err != nil {
		return nil, &errBackend
	}
	return f, nil
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request) {
	m, err := decodeMeta(r)
	if err != nil {
		writeError(w, errBadRequest("Invalid JSON payload received."))
		return
	}
	total := int64(-1)
	if v := r.Header.Get("X-Upload-Content-Length"); v != "" {
		if total, err = strconv.ParseInt(v, 10, 64); err != nil || total < 0 {
			writeError(w, errBadRequest("Invalid X-Upload-Content-Length."))
			return
		}
	}
	s.mu.Lock()
	// Validate the metadata now, as Drive does, so a bad parent fails
	// before any bytes are sent.
	_, derr := s.newFileLocked(m, "")
	if derr == nil && total >= 0 && s.usedLocked()+total > s.cloud.Quota("drive") {
		derr = &errQuota
	}
	var sess *session
	if derr == nil {
		if m.MimeType == "" {
			m.MimeType = r.Header.Get("X-Upload-Content-Type")
		}
		sess = &session{ID: sessionID(), Total: total, Created: time.Now().UTC(), Meta: file{
			ID: m.ID, Name: m.Name, MimeType: m.MimeType, Parents: m.Parents,
		}}
		if m.ModifiedTime != "" {
			sess.Meta.Modified, _ = time.Parse(time.RFC3339Nano, m.ModifiedTime)
		}
		sess.Fields = r.URL.Query().Get("fields")
		if err := os.WriteFile(s.partPath(sess.ID), nil, 0o644); err != nil {
			derr = &errBackend
		} else {
			s.st.Sessions[sess.ID] = sess
			if err := s.saveLocked(); err != nil {
				derr = &errBackend
			}
		}
	}
	s.mu.Unlock()
	if derr != nil {
		writeError(w, *derr)
		return
	}
	// Drive echoes the request's parameters in the session URI.
	q := r.URL.Query()
	q.Set("upload_id", sess.ID)
	w.Header().Set("Location", fakecloud.BaseURL(r)+"/upload/drive/v3/files?"+q.Encode())
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// contentRange is a parsed Content-Range request header.
type contentRange struct {
	first, last int64 // -1, -1 for a status query ("*/N")
	total       int64 // -1 when "*"
}

func parseContentRange(v string) (contentRange, error) {
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "bytes"))
	rng, tot, ok := strings.Cut(v, "/")
	if !ok {
		return contentRange{}, fmt.Errorf("no total in Content-Range %q", v)
	}
	cr := contentRange{first: -1, last: -1, total: -1}
	if tot != "*" {
		n, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || n < 0 {
			return cr, fmt.Errorf("bad total in Content-Range %q", v)
		}
		cr.total = n
	}
	if rng == "*" {
		return cr, nil
	}
	a, b, ok := strings.Cut(rng, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || first < 0 || last < first || (cr.total >= 0 && last >= cr.total) {
		return cr, fmt.Errorf("bad range in Content-Range %q", v)
	}
	cr.first, cr.last = first, last
	return cr, nil
}

// chunk serves one request to a session URI: a chunk of data, an empty
// final chunk ("bytes */N") or a status query.
func (s *Server) chunk(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("upload_id")
	lock, _ := s.sessLocks.LoadOrStore(id, &sync.Mutex{})
	lock.(*sync.Mutex).Lock()
	defer lock.(*sync.Mutex).Unlock()

	s.mu.Lock()
	sess := s.st.Sessions[id]
	if sess != nil && time.Since(sess.Created) > SessionTTL {
		delete(s.st.Sessions, id)
		os.Remove(s.partPath(id))
		sess = nil
	}
	var snap session
	if sess != nil {
		snap = *sess
	}
	s.mu.Unlock()
	if sess == nil {
		io.Copy(io.Discard, r.Body)
		writeError(w, driveError{Code: 404, Message: "Upload session not found or expired.", Domain: "global", Reason: "notFound"})
		return
	}
	if snap.FileID != "" {
		// Finished already: answer as the final chunk did, so a client
		// whose answer was lost learns the file without uploading twice.
		io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		f := s.st.Files[snap.FileID]
		s.mu.Unlock()
		if f == nil {
			writeError(w, errNotFound(snap.FileID))
			return
		}
		s.writeFileFields(w, http.StatusOK, f, snap.Fields)
		return
	}

	cr := contentRange{first: -1, last: -1, total: -1}
	if v := r.Header.Get("Content-Range"); v != "" {
		var err error
		if cr, err = parseContentRange(v); err != nil {
			io.Copy(io.Discard, r.Body)
			writeError(w, errBadRequest(err.Error()))
			return
		}
	} else if r.ContentLength > 0 {
		cr = contentRange{first: 0, last: r.ContentLength - 1, total: r.ContentLength}
	}
	if cr.total >= 0 {
		if snap.Total >= 0 && snap.Total != cr.total {
			io.Copy(io.Discard, r.Body)
			writeError(w, errBadRequest("Content-Range total does not match the upload size."))
			return
		}
		snap.Total = cr.total
	}
	received := snap.Received
	if n := cr.last - cr.first + 1; cr.first >= 0 && cr.last+1 < snap.Total && n%chunkGranule != 0 {
		// Every chunk but the last is a multiple of 256 KiB.
		io.Copy(io.Discard, r.Body)
		writeError(w, errBadRequest(fmt.Sprintf("Invalid request. The chunk size (%d bytes) must be a multiple of 256 KiB except for the final chunk.", n)))
		return
	}
	if cr.first >= 0 {
		n, derr := s.appendChunk(&snap, cr, r.Body)
		if derr != nil {
			writeError(w, *derr)
			return
		}
		received = n
	} else {
		io.Copy(io.Discard, r.Body)
		if snap.Total >= 0 && received > snap.Total {
			writeError(w, errBadRequest("More bytes received than the declared size."))
			return
		}
	}

	s.mu.Lock()
	if cur := s.st.Sessions[id]; cur != nil {
		cur.Received, cur.Total = received, snap.Total
		s.saveLocked()
	}
	s.mu.Unlock()

	if snap.Total >= 0 && received == snap.Total {
		s.finish(w, id)
		return
	}
	if r.Header.Get("X-GUploader-No-308") == "yes" {
		w.Header().Set("X-Http-Status-Code-Override", "308")
	}
	if received > 0 {
		w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", received-1))
	}
	w.Header().Set("Content-Length", "0")
	if r.Header.Get("X-GUploader-No-308") == "yes" {
		w.WriteHeader(http.StatusOK)
		return
	}
	// A real 308 with no Location: Go's client does not follow it.
	w.WriteHeader(http.StatusPermanentRedirect)
}

// chunkGranule is the unit of every chunk but the last.
const chunkGranule = 256 << 10

// appendChunk writes the part of a chunk the session does not hold yet and
// returns the new received count. Bytes sent again after a lost answer are
// skipped; a gap is refused. A body that ends early stores nothing.
func (s *Server) appendChunk(sess *session, cr contentRange, body io.Reader) (int64, *driveError) {
	n := cr.last - cr.first + 1
	if cr.first > sess.Received {
		io.Copy(io.Discard, body)
		e := errBadRequest(fmt.Sprintf("Chunk starts at %d but only %d bytes were received.", cr.first, sess.Received))
		return 0, &e
	}
	end := max(sess.Received, cr.last+1)
	s.mu.Lock()
	over := s.usedLocked()+end > s.cloud.Quota("drive")
	s.mu.Unlock()
	if over {
		io.Copy(io.Discard, body)
		return 0, &errQuota
	}
	skip := min(sess.Received-cr.first, n)
	if _, err := io.CopyN(io.Discard, body, skip); err != nil {
		e := errBadRequest("Incomplete chunk.")
		return 0, &e
	}
	f, err := os.OpenFile(s.partPath(sess.ID), os.O_WRONLY, 0)
	if err != nil {
		return 0, &errBackend
	}
	defer f.Close()
	if _, err := f.Seek(sess.Received, io.SeekStart); err != nil {
		return 0, &errBackend
	}
	var w io.Writer = f
	if sess.Received == 0 {
		s.running.Store(sess.ID, newHashes())
	}
	h, _ := s.running.Load(sess.ID)
	if hh, ok := h.(*hashes); ok && hh.n == sess.Received {
		w = io.MultiWriter(f, hh)
	} else {
		s.running.Delete(sess.ID)
	}
	if _, err := io.CopyN(w, body, n-skip); err != nil {
		s.running.Delete(sess.ID)
		f.Truncate(sess.Received)
		e := errBadRequest("Incomplete chunk.")
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			e = errBackend
		}
		return 0, &e
	}
	return end, nil
}

// finish turns a complete session into a file and answers with it.
func (s *Server) finish(w http.ResponseWriter, id string) {
	var h *hashes
	if r, ok := s.running.LoadAndDelete(id); ok {
		h = r.(*hashes)
	}
	if st, err := os.Stat(s.partPath(id)); h == nil || err != nil || h.n != st.Size() {
		var err error
		if h, err = hashFile(s.partPath(id)); err != nil {
			writeError(w, errBackend)
			return
		}
	}
	s.mu.Lock()
	sess := s.st.Sessions[id]
	s.mu.Unlock()
	if sess == nil {
		writeError(w, errNotFound(id))
		return
	}
	m := createMeta{ID: sess.Meta.ID, Name: sess.Meta.Name, MimeType: sess.Meta.MimeType, Parents: sess.Meta.Parents}
	if !sess.Meta.Modified.IsZero() {
		m.ModifiedTime = sess.Meta.Modified.Format(time.RFC3339Nano)
	}
	f, derr := s.commit(m, "", h, s.partPath(id))
	if derr != nil {
		writeError(w, *derr)
		return
	}
	s.mu.Lock()
	if cur := s.st.Sessions[id]; cur != nil {
		cur.FileID = f.ID
		s.saveLocked()
	}
	s.mu.Unlock()
	s.writeFileFields(w, http.StatusOK, f, sess.Fields)
}

func sessionID() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "ADPycd" + hex.EncodeToString(b)
}
