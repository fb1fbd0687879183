package fakedropbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/async"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/files"
)

// closedSession uploads b into a session closed by its last call, as a
// batch commit requires, and returns the cursor to commit it at.
func closedSession(t *testing.T, dbx files.ContextClient, b []byte, chunk int) *files.UploadSessionCursor {
	t.Helper()
	ctx := context.Background()
	first := min(chunk, len(b))
	sa := files.NewUploadSessionStartArg()
	sa.Close = first == len(b)
	st, err := dbx.UploadSessionStartContext(ctx, sa, bytes.NewReader(b[:first]))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	for off := first; off < len(b); off += chunk {
		end := min(off+chunk, len(b))
		a := files.NewUploadSessionAppendArg(files.NewUploadSessionCursor(st.SessionId, uint64(off)))
		a.Close = end == len(b)
		if err := dbx.UploadSessionAppendV2Context(ctx, a, bytes.NewReader(b[off:end])); err != nil {
			t.Fatalf("append at %d: %v", off, err)
		}
	}
	return files.NewUploadSessionCursor(st.SessionId, uint64(len(b)))
}

func (e *env) readBack(t *testing.T, dbx files.ContextClient, p string) []byte {
	t.Helper()
	_, body, err := dbx.DownloadContext(context.Background(), files.NewDownloadArg(p))
	if err != nil {
		t.Fatalf("download %s: %v", p, err)
	}
	defer body.Close()
	got, _ := io.ReadAll(body)
	return got
}

// finish_batch_v2 commits every entry at once and answers per entry, at
// the entry's position: the stored file's metadata or the
// UploadSessionFinishError, as rclone's default batch mode reads them.
func TestFinishBatchV2(t *testing.T) {
	e := start(t, t.TempDir())
	dbx := files.NewContext(e.sdk(e.token))
	ctx := context.Background()

	small, big, open := data(1000), data(10_000), data(500)
	cSmall := closedSession(t, dbx, small, 4096) // closed by start
	cBig := closedSession(t, dbx, big, 3000)     // closed by the last append
	st, err := dbx.UploadSessionStartContext(ctx, files.NewUploadSessionStartArg(), bytes.NewReader(open))
	if err != nil {
		t.Fatal(err)
	}
	cOpen := files.NewUploadSessionCursor(st.SessionId, 500)
	cWrong := closedSession(t, dbx, data(700), 700)
	cWrong.Offset = 600

	res, err := dbx.UploadSessionFinishBatchV2Context(ctx, files.NewUploadSessionFinishBatchArg([]*files.UploadSessionFinishArg{
		files.NewUploadSessionFinishArg(cSmall, files.NewCommitInfo("/Batch/small.bak")),
		files.NewUploadSessionFinishArg(cOpen, files.NewCommitInfo("/Batch/open.bak")),
		files.NewUploadSessionFinishArg(cBig, files.NewCommitInfo("/Batch/big.bak")),
		files.NewUploadSessionFinishArg(cWrong, files.NewCommitInfo("/Batch/wrong.bak")),
		files.NewUploadSessionFinishArg(files.NewUploadSessionCursor("pid_upload_session:nope", 0), files.NewCommitInfo("/Batch/gone.bak")),
	}))
	if err != nil {
		t.Fatalf("finish_batch_v2: %v", err)
	}
	if len(res.Entries) != 5 {
		t.Fatalf("%d entries, want 5", len(res.Entries))
	}
	for i, want := range []struct {
		b    []byte
		path string
	}{{small, "/Batch/small.bak"}, {}, {big, "/Batch/big.bak"}} {
		en := res.Entries[i]
		if want.b == nil {
			continue
		}
		if en.Tag != files.UploadSessionFinishBatchResultEntrySuccess || en.Success == nil ||
			en.Success.PathDisplay != want.path || en.Success.Size != uint64(len(want.b)) || en.Success.ContentHash != contentHash(want.b) {
			t.Errorf("entry %d = %+v (success %+v)", i, en, en.Success)
		}
		if got := e.readBack(t, dbx, want.path); !bytes.Equal(got, want.b) {
			t.Errorf("%s reads back %d bytes, want %d", want.path, len(got), len(want.b))
		}
	}
	failure := func(i int, lookup string) *files.UploadSessionLookupError {
		t.Helper()
		en := res.Entries[i]
		if en.Tag != files.UploadSessionFinishBatchResultEntryFailure || en.Failure == nil ||
			en.Failure.Tag != files.UploadSessionFinishErrorLookupFailed || en.Failure.LookupFailed.Tag != lookup {
			t.Fatalf("entry %d = %+v (failure %+v), want lookup_failed/%s", i, en, en.Failure, lookup)
		}
		return en.Failure.LookupFailed
	}
	failure(1, files.UploadSessionLookupErrorNotClosed)
	if lf := failure(3, files.UploadSessionLookupErrorIncorrectOffset); lf.IncorrectOffset.CorrectOffset != 700 {
		t.Errorf("correct_offset = %d, want 700", lf.IncorrectOffset.CorrectOffset)
	}
	failure(4, files.UploadSessionLookupErrorNotFound)

	// The refused session is still there: closed, it commits in a new batch.
	a := files.NewUploadSessionAppendArg(cOpen)
	a.Close = true
	if err := dbx.UploadSessionAppendV2Context(ctx, a, bytes.NewReader(nil)); err != nil {
		t.Fatalf("closing append: %v", err)
	}
	// A second entry for a path the batch already wrote, with other bytes,
	// fails on its own with the WriteError.
	cOther := closedSession(t, dbx, data(300), 300)
	res, err = dbx.UploadSessionFinishBatchV2Context(ctx, files.NewUploadSessionFinishBatchArg([]*files.UploadSessionFinishArg{
		files.NewUploadSessionFinishArg(cOpen, files.NewCommitInfo("/Batch/open.bak")),
		files.NewUploadSessionFinishArg(cOther, files.NewCommitInfo("/batch/SMALL.bak")),
	}))
	if err != nil {
		t.Fatalf("second finish_batch_v2: %v", err)
	}
	if en := res.Entries[0]; en.Tag != "success" || en.Success.Size != 500 {
		t.Errorf("entry 0 = %+v", en)
	}
	if en := res.Entries[1]; en.Tag != "failure" || en.Failure.Tag != files.UploadSessionFinishErrorPath ||
		en.Failure.Path.Tag != files.WriteErrorConflict {
		t.Errorf("entry 1 = %+v (failure %+v), want path/conflict", en, en.Failure)
	}
	if got := e.readBack(t, dbx, "/Batch/open.bak"); !bytes.Equal(got, open) {
		t.Errorf("open.bak reads back %d bytes", len(got))
	}
	if fs := e.srv.Files(); len(fs) != 3 {
		t.Errorf("Files() = %+v, want small, big and open", fs)
	}
}

// The older finish_batch launches a job; finish_batch/check reports it in
// progress once and then complete with the same entries finish_batch_v2
// gives. An unknown job id is invalid_async_job_id.
func TestFinishBatchAsyncJob(t *testing.T) {
	e := start(t, t.TempDir())
	dbx := files.NewContext(e.sdk(e.token))
	ctx := context.Background()
	b := data(5000)
	c := closedSession(t, dbx, b, 2048)

	launch, err := dbx.UploadSessionFinishBatchContext(ctx, files.NewUploadSessionFinishBatchArg([]*files.UploadSessionFinishArg{
		files.NewUploadSessionFinishArg(c, files.NewCommitInfo("/Async/a.bak")),
		files.NewUploadSessionFinishArg(files.NewUploadSessionCursor("pid_upload_session:nope", 0), files.NewCommitInfo("/Async/b.bak")),
	}))
	if err != nil {
		t.Fatalf("finish_batch: %v", err)
	}
	if launch.Tag != files.UploadSessionFinishBatchLaunchAsyncJobId || !strings.HasPrefix(launch.AsyncJobId, "dbjid:") {
		t.Fatalf("launch = %+v", launch)
	}
	var tags []string
	var done *files.UploadSessionFinishBatchResult
	for range 5 {
		st, err := dbx.UploadSessionFinishBatchCheckContext(ctx, async.NewPollArg(launch.AsyncJobId))
		if err != nil {
			t.Fatalf("check: %v", err)
		}
		tags = append(tags, st.Tag)
		if st.Tag == files.UploadSessionFinishBatchJobStatusComplete {
			done = st.Complete
			break
		}
	}
	if strings.Join(tags, ",") != "in_progress,complete" {
		t.Fatalf("check tags = %v, want in_progress then complete", tags)
	}
	if len(done.Entries) != 2 || done.Entries[0].Tag != "success" || done.Entries[0].Success.ContentHash != contentHash(b) ||
		done.Entries[1].Tag != "failure" || done.Entries[1].Failure.LookupFailed.Tag != files.UploadSessionLookupErrorNotFound {
		t.Fatalf("complete = %+v", done.Entries)
	}
	if got := e.readBack(t, dbx, "/async/A.bak"); !bytes.Equal(got, b) {
		t.Errorf("a.bak reads back %d bytes", len(got))
	}

	_, err = dbx.UploadSessionFinishBatchCheckContext(ctx, async.NewPollArg("dbjid:nope"))
	var ce files.UploadSessionFinishBatchCheckAPIError
	if !errors.As(err, &ce) || ce.EndpointError == nil || ce.EndpointError.Tag != async.PollErrorInvalidAsyncJobId {
		t.Errorf("check of an unknown job = %#v", err)
	}

	// The same check under the name the SDKs give it.
	req, _ := http.NewRequest("POST", e.url+"/2/files/upload_session/finish_batch_check",
		strings.NewReader(`{"async_job_id":"`+launch.AsyncJobId+`"}`))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `".tag":"complete"`) {
		t.Errorf("finish_batch_check = %d %s", resp.StatusCode, body)
	}
}

// A batch argument the schema refuses fails the whole call with 400 text.
func TestFinishBatchBadArgument(t *testing.T) {
	e := start(t, t.TempDir())
	for name, body := range map[string]string{
		"no entries":   `{}`,
		"bad path":     `{"entries":[{"cursor":{"session_id":"x","offset":0},"commit":{"path":"no-slash"}}]}`,
		"too many":     `{"entries":[` + strings.Repeat(`{"cursor":{"session_id":"x","offset":0},"commit":{"path":"/a"}},`, 1000) + `{"cursor":{"session_id":"x","offset":0},"commit":{"path":"/a"}}]}`,
		"not an entry": `{"entries":[1]}`,
	} {
		req, _ := http.NewRequest("POST", e.url+"/2/files/upload_session/finish_batch_v2", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.HasPrefix(string(msg), `Error in call to API function "files/upload_session/finish_batch_v2"`) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, msg)
		}
	}
}
