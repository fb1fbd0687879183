package fakedropbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/files"
)

func concurrentStart(t *testing.T, dbx files.ContextClient) string {
	t.Helper()
	arg := files.NewUploadSessionStartArg()
	arg.SessionType = &files.UploadSessionType{Tagged: dropbox.Tagged{Tag: files.UploadSessionTypeConcurrent}}
	st, err := dbx.UploadSessionStartContext(context.Background(), arg, bytes.NewReader(nil))
	if err != nil {
		t.Fatalf("start a concurrent session: %v", err)
	}
	return st.SessionId
}

func appendAt(dbx files.ContextClient, id string, off int, b []byte, closing bool) error {
	a := files.NewUploadSessionAppendArg(files.NewUploadSessionCursor(id, uint64(off)))
	a.Close = closing
	return dbx.UploadSessionAppendV2Context(context.Background(), a, files.WithoutAutoContentHash(bytes.NewReader(b)))
}

// TestConcurrentSession uploads a file in pieces sent at once and out of
// order, one of them twice, and reads it back with its content_hash.
func TestConcurrentSession(t *testing.T) {
	e := start(t, t.TempDir())
	dbx := files.NewContext(e.sdk(e.token))
	const unit = concurrentUnit
	d := data(3*unit + 1234)
	id := concurrentStart(t, dbx)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i, off := range []int{2 * unit, 3 * unit, 0, unit} {
		wg.Go(func() {
			errs[i] = appendAt(dbx, id, off, d[off:min(off+unit, len(d))], off == 3*unit)
		})
	}
	// Other uploads save the index meanwhile, the session's pieces with it.
	wg.Go(func() {
		for i := range 20 {
			if _, err := dbx.UploadContext(context.Background(), files.NewUploadArg(fmt.Sprintf("/other/%d.bak", i)), bytes.NewReader(data(100))); err != nil {
				errs[4] = err
				return
			}
		}
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	// A resend after a lost answer replaces the piece.
	if err := appendAt(dbx, id, unit, d[unit:2*unit], false); err != nil {
		t.Fatalf("append the same piece again: %v", err)
	}
	fin := files.NewUploadSessionFinishArg(files.NewUploadSessionCursor(id, uint64(len(d))), files.NewCommitInfo("/c/file.bak"))
	md, err := dbx.UploadSessionFinishContext(context.Background(), fin, files.WithoutAutoContentHash(bytes.NewReader(nil)))
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	if md.Size != uint64(len(d)) || md.ContentHash != contentHash(d) {
		t.Errorf("finished as %d bytes, %s; want %d, %s", md.Size, md.ContentHash, len(d), contentHash(d))
	}
	_, body, err := dbx.DownloadContext(context.Background(), files.NewDownloadArg("/c/file.bak"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, d) {
		t.Error("downloaded bytes differ")
	}
	if fs := e.srv.Files(); len(fs) != 21 || fs[0].SHA256 == "" {
		t.Errorf("control API lists %+v", fs)
	}
}

func TestConcurrentSessionRules(t *testing.T) {
	e := start(t, t.TempDir())
	dbx := files.NewContext(e.sdk(e.token))
	ctx := context.Background()
	const unit = concurrentUnit
	d := data(2*unit + 10)
	tagOf := func(err error) string {
		var ae files.UploadSessionAppendV2APIError
		var fe files.UploadSessionFinishAPIError
		var se files.UploadSessionStartAPIError
		switch {
		case errors.As(err, &ae):
			return ae.EndpointError.Tag
		case errors.As(err, &fe):
			if fe.EndpointError.LookupFailed != nil {
				return fe.EndpointError.Tag + "/" + fe.EndpointError.LookupFailed.Tag
			}
			return fe.EndpointError.Tag
		case errors.As(err, &se):
			return se.EndpointError.Tag
		}
		return ""
	}
	concurrent := &files.UploadSessionType{Tagged: dropbox.Tagged{Tag: files.UploadSessionTypeConcurrent}}

	arg := files.NewUploadSessionStartArg()
	arg.SessionType = concurrent
	_, err := dbx.UploadSessionStartContext(ctx, arg, bytes.NewReader(d[:10]))
	if got := tagOf(err); got != files.UploadSessionStartErrorConcurrentSessionDataNotAllowed {
		t.Errorf("start with data: %q (%v)", got, err)
	}
	arg.Close = true
	_, err = dbx.UploadSessionStartContext(ctx, arg, bytes.NewReader(nil))
	if got := tagOf(err); got != files.UploadSessionStartErrorConcurrentSessionCloseNotAllowed {
		t.Errorf("start closed: %q (%v)", got, err)
	}

	id := concurrentStart(t, dbx)
	for _, tc := range []struct {
		name     string
		off, end int
		closing  bool
		want     string
	}{
		{"unaligned offset", 10, unit + 10, false, files.UploadSessionLookupErrorConcurrentSessionInvalidOffset},
		{"unaligned size", 0, unit - 1, false, files.UploadSessionLookupErrorConcurrentSessionInvalidDataSize},
	} {
		if got := tagOf(appendAt(dbx, id, tc.off, d[tc.off:tc.end], tc.closing)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	finish := func(off int) error {
		fin := files.NewUploadSessionFinishArg(files.NewUploadSessionCursor(id, uint64(off)), files.NewCommitInfo("/r.bak"))
		_, err := dbx.UploadSessionFinishContext(ctx, fin, files.WithoutAutoContentHash(bytes.NewReader(nil)))
		return err
	}
	if err := appendAt(dbx, id, 0, d[:unit], false); err != nil {
		t.Fatal(err)
	}
	if got := tagOf(finish(len(d))); got != files.UploadSessionFinishErrorConcurrentSessionNotClosed {
		t.Errorf("finish before the closing append: %q", got)
	}
	if err := appendAt(dbx, id, 2*unit, d[2*unit:], true); err != nil {
		t.Fatal(err)
	}
	if got := tagOf(finish(len(d))); got != files.UploadSessionFinishErrorConcurrentSessionMissingData {
		t.Errorf("finish with a piece missing: %q", got)
	}
	if got := tagOf(appendAt(dbx, id, 3*unit, d[:unit], false)); got != files.UploadSessionLookupErrorClosed {
		t.Errorf("append past the closing piece: %q", got)
	}
	if err := appendAt(dbx, id, unit, d[unit:2*unit], false); err != nil {
		t.Fatal(err)
	}
	if got := tagOf(finish(unit)); got != "lookup_failed/"+files.UploadSessionLookupErrorIncorrectOffset {
		t.Errorf("finish at a wrong offset: %q", got)
	}
	fin := files.NewUploadSessionFinishArg(files.NewUploadSessionCursor(id, uint64(len(d))), files.NewCommitInfo("/r.bak"))
	if _, err := dbx.UploadSessionFinishContext(ctx, fin, bytes.NewReader(d[:5])); tagOf(err) != files.UploadSessionFinishErrorConcurrentSessionDataNotAllowed {
		t.Errorf("finish with data: %v", err)
	}
	if err := finish(len(d)); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if got := tagOf(appendAt(dbx, id, 0, d[:unit], false)); got != files.UploadSessionLookupErrorNotFound {
		t.Errorf("append after finish: %q", got)
	}
}

// TestConcurrentSessionSurvivesRestart: pieces acknowledged before a
// restart are still there after it.
func TestConcurrentSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir)
	dbx := files.NewContext(e.sdk(e.token))
	d := data(concurrentUnit + 5)
	id := concurrentStart(t, dbx)
	if err := appendAt(dbx, id, 0, d[:concurrentUnit], false); err != nil {
		t.Fatal(err)
	}
	e2 := start(t, dir)
	dbx = files.NewContext(e2.sdk(e2.token))
	if err := appendAt(dbx, id, concurrentUnit, d[concurrentUnit:], true); err != nil {
		t.Fatal(err)
	}
	fin := files.NewUploadSessionFinishArg(files.NewUploadSessionCursor(id, uint64(len(d))), files.NewCommitInfo("/s.bak"))
	md, err := dbx.UploadSessionFinishContext(context.Background(), fin, files.WithoutAutoContentHash(bytes.NewReader(nil)))
	if err != nil || md.ContentHash != contentHash(d) {
		t.Fatalf("finish after a restart = %+v, %v", md, err)
	}
}
