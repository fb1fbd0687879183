package fakedropbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// maxBatch is the most entries one finish_batch call may commit.
const maxBatch = 1000

// batchJob is one finish_batch commit, kept for finish_batch/check.
type batchJob struct {
	result  map[string]any // UploadSessionFinishBatchResult
	polled  bool
	created time.Time
}

// jobLife is how long a finished job's result can still be fetched.
const jobLife = time.Hour

// batchArg decodes an UploadSessionFinishBatchArg. A malformed argument is
// refused for the whole call, with 400 and text, as Dropbox's argument
// check does before any entry is looked at.
func batchArg(w http.ResponseWriter, route string, arg []byte) ([]finishEntry, bool) {
	var a struct {
		Entries []finishEntry `json:"entries"`
	}
	if err := json.Unmarshal(arg, &a); err != nil || a.Entries == nil {
		badRequest(w, fmt.Sprintf(`Error in call to API function %q: request body: missing required field 'entries'`, route))
		return nil, false
	}
	if len(a.Entries) > maxBatch {
		badRequest(w, fmt.Sprintf(`Error in call to API function %q: request body: entries: list has more than %d items`, route, maxBatch))
		return nil, false
	}
	for i, e := range a.Entries {
		if !validPath(e.Commit.Path) {
			badRequest(w, fmt.Sprintf(`Error in call to API function %q: request body: entries[%d].commit.path: did not match pattern`, route, i))
			return nil, false
		}
	}
	return a.Entries, true
}

// finishEntry is an UploadSessionFinishArg inside a batch. Its
// content_hash would cover "the content uploaded in this call", and a
// batch call uploads none, so it is not checked.
type finishEntry struct {
	Cursor cursor     `json:"cursor"`
	Commit commitInfo `json:"commit"`
}

// commitBatch finishes each entry in order and returns the
// UploadSessionFinishBatchResult: one success (the file's metadata) or
// failure (an UploadSessionFinishError) per entry, at the entry's position.
func (s *Server) commitBatch(entries []finishEntry) (map[string]any, error) {
	out := make([]map[string]any, 0, len(entries))
	for _, a := range entries {
		e, ferr, err := s.finishSession(a.Cursor, a.Commit, "", http.NoBody, true)
		switch {
		case err != nil:
			return nil, err
		case ferr != nil:
			out = append(out, union("failure", "failure", ferr))
		default:
			m := metadata(e, false)
			m[".tag"] = "success"
			out = append(out, m)
		}
	}
	return map[string]any{"entries": out}, nil
}

// finishBatchV2 is files/upload_session/finish_batch_v2: it commits the
// batch before it answers.
func (s *Server) finishBatchV2(w http.ResponseWriter, r *http.Request, arg []byte) {
	entries, ok := batchArg(w, "files/upload_session/finish_batch_v2", arg)
	if !ok {
		return
	}
	res, err := s.commitBatch(entries)
	if err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// finishBatch is the older files/upload_session/finish_batch, which
// launches an async job. The emulator commits at once and keeps the
// result; the job reads as in_progress on its first check, so a client's
// polling is exercised, and complete from then on.
func (s *Server) finishBatch(w http.ResponseWriter, r *http.Request, arg []byte) {
	entries, ok := batchArg(w, "files/upload_session/finish_batch", arg)
	if !ok {
		return
	}
	res, err := s.commitBatch(entries)
	if err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	id := "dbjid:" + randomHex(32)
	now := time.Now()
	s.mu.Lock()
	for old, j := range s.jobs {
		if now.Sub(j.created) > jobLife {
			delete(s.jobs, old)
		}
	}
	s.jobs[id] = &batchJob{result: res, created: now}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, union("async_job_id", "async_job_id", id))
}

// finishBatchCheck is files/upload_session/finish_batch/check: the
// UploadSessionFinishBatchJobStatus of a finish_batch job.
func (s *Server) finishBatchCheck(w http.ResponseWriter, r *http.Request, arg []byte) {
	var a struct {
		AsyncJobID string `json:"async_job_id"`
	}
	if err := json.Unmarshal(arg, &a); err != nil || a.AsyncJobID == "" {
		badRequest(w, `Error in call to API function "files/upload_session/finish_batch/check": request body: missing required field 'async_job_id'`)
		return
	}
	s.mu.Lock()
	j := s.jobs[a.AsyncJobID]
	first := j != nil && !j.polled
	if j != nil {
		j.polled = true
	}
	s.mu.Unlock()
	switch {
	case j == nil:
		writeError(w, http.StatusConflict, union("invalid_async_job_id"))
	case first:
		writeJSON(w, http.StatusOK, union("in_progress"))
	default:
		res := map[string]any{".tag": "complete"}
		for k, v := range j.result {
			res[k] = v
		}
		writeJSON(w, http.StatusOK, res)
	}
}
