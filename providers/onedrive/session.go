package onedrive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/retry"
)

// sessionState is what OnSession hands out. URL is the uploadUrl, which is
// a credential by itself: the state must never be logged.
type sessionState struct {
	V      int    `json:"v"`
	URL    string `json:"url"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Offset int64  `json:"offset"` // bytes the service has acknowledged
}

const sessionVersion = 1

// errSessionGone means the upload session expired or was finished by a
// request whose answer was lost.
var errSessionGone = errors.New("upload session no longer exists")

// resume continues a saved session. done is false when the state is stale
// or the session is gone; then the caller looks and starts over.
func (u *upload) resume(ctx context.Context) (providers.RemoteFile, bool, error) {
	var st sessionState
	if json.Unmarshal(u.o.Session, &st) != nil || st.V != sessionVersion || st.URL == "" ||
		st.Path != u.path || st.Size != u.size {
		u.forget()
		return providers.RemoteFile{}, false, nil
	}
	off, err := u.status(ctx, st.URL)
	if isNotFound(err) {
		u.forget()
		return providers.RemoteFile{}, false, nil
	}
	if err != nil {
		return providers.RemoteFile{}, true, err
	}
	st.Offset = off
	rf, err := u.send(ctx, &st)
	if errors.Is(err, errSessionGone) {
		u.forget()
		return providers.RemoteFile{}, false, nil
	}
	return rf, true, err
}

// forget drops saved session state that cannot be used.
func (u *upload) forget() {
	if u.o.OnSession != nil {
		u.o.OnSession(nil)
	}
	u.o.Session = nil
}

// session creates an upload session and sends the file through it.
func (u *upload) session(ctx context.Context, conflict string) (providers.RemoteFile, error) {
	for attempt := 0; ; attempt++ {
		st, err := u.create(ctx, conflict)
		if err != nil {
			return providers.RemoteFile{}, err
		}
		rf, err := u.send(ctx, st)
		if !errors.Is(err, errSessionGone) {
			return rf, err
		}
		// Gone mid-way: either it expired, or the final fragment landed and
		// only its answer was lost. Only a look tells which.
		u.forget()
		if it, serr := u.c.statSegs(ctx, u.path, u.segs); serr == nil && it.Folder == nil {
			if same, herr := u.sameContent(ctx, it); herr != nil || same {
				if herr != nil {
					return providers.RemoteFile{}, herr
				}
				return u.finish(ctx, it)
			}
			conflict = "replace"
		}
		if attempt > 0 {
			return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "", "%s: %w twice in a row", u.op, errSessionGone)
		}
	}
}

func (u *upload) create(ctx context.Context, conflict string) (*sessionState, error) {
	props := map[string]any{"@microsoft.graph.conflictBehavior": conflict, "fileSize": u.size}
	if !u.o.ModTime.IsZero() {
		props["fileSystemInfo"] = map[string]any{"lastModifiedDateTime": u.o.ModTime.UTC().Format(time.RFC3339)}
	}
	var resp struct {
		UploadURL string `json:"uploadUrl"`
	}
	if err := u.c.call(ctx, "start "+u.op, http.MethodPost, u.c.itemURL(u.segs, "/createUploadSession"),
		map[string]any{"item": props}, &resp); err != nil {
		return nil, err
	}
	if resp.UploadURL == "" {
		return nil, providers.Errorf(providers.Temporary, "", "", "start %s: the service returned no upload URL", u.op)
	}
	st := &sessionState{V: sessionVersion, URL: resp.UploadURL, Path: u.path, Size: u.size}
	u.save(st)
	return st, nil
}

func (u *upload) save(st *sessionState) {
	if u.o.OnSession == nil {
		return
	}
	b, _ := json.Marshal(st)
	u.o.OnSession(b)
}

// fragment is the service's answer to one fragment.
type fragment struct {
	item    *driveItem // set when the upload is complete
	next    int64      // the next offset the service expects
	overlap bool       // 416: the service holds other bytes than we thought
	gone    bool       // 404: the session is gone
}

// send uploads from st.Offset to the end, in order, each fragment
// streamed from the source and sized by a ChunkSizer. Each fragment is
// retried by retry.Do with the destination's pacer; a 416 resyncs from
// the session's status.
func (u *upload) send(ctx context.Context, st *sessionState) (providers.RemoteFile, error) {
	sizer := providers.NewChunkSizer(u.c.chunk, u.c.maxChunk, fragmentUnit)
	stalls := 0
	for {
		if st.Offset >= u.size {
			return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "",
				"%s: the session holds every byte but did not finish", u.op)
		}
		n := sizer.Next(u.size - st.Offset)
		var fr fragment
		var srcErr error
		start := time.Now()
		err := retry.Do(ctx, u.c.policy, u.c.pacer, func(ctx context.Context) (err error) {
			body, err := providers.NewChunkReader(u.r, st.Offset, n)
			if err != nil {
				srcErr = u.sourceErr(err)
				return nil
			}
			fr, err = u.put(ctx, st.URL, ctxReader{ctx, body}, n, st.Offset)
			body.Detach() // the transport may still be reading it; the next attempt moves the source
			if body.Err != nil {
				// The source's failure, not the service's: no point retrying.
				srcErr = u.sourceErr(body.Err)
				return nil
			}
			return err
		})
		switch {
		case srcErr != nil:
			return providers.RemoteFile{}, srcErr
		case err != nil:
			return providers.RemoteFile{}, err
		case fr.gone:
			return providers.RemoteFile{}, errSessionGone
		case fr.item != nil:
			if u.o.OnProgress != nil {
				u.o.OnProgress(u.size)
			}
			return u.finish(ctx, fr.item)
		case fr.overlap:
			off, err := u.status(ctx, st.URL)
			if isNotFound(err) {
				return providers.RemoteFile{}, errSessionGone
			}
			if err != nil {
				return providers.RemoteFile{}, err
			}
			if stalls++; stalls > 3 {
				return providers.RemoteFile{}, providers.Errorf(providers.Temporary, "", "",
					"%s: the session keeps refusing offset %d", u.op, st.Offset)
			}
			st.Offset = off
		default:
			sizer.Sent(n, time.Since(start))
			stalls = 0
			st.Offset = fr.next
			u.save(st)
			if u.o.OnProgress != nil {
				u.o.OnProgress(st.Offset)
			}
		}
	}
}

// put sends one fragment of n bytes at off to the uploadUrl, without the
// Graph token.
func (u *upload) put(ctx context.Context, uploadURL string, b io.Reader, n, off int64) (fragment, error) {
	op := fmt.Sprintf("%s: fragment at %d", u.op, off)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, uploadURL, b)
	if err != nil {
		return fragment{}, fmt.Errorf("%s: bad upload URL", op)
	}
	req.ContentLength = n
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, u.size))
	resp, err := u.c.plain.Do(req)
	if err != nil {
		return fragment{}, classify(u.c.cfg.Name, op, nil, nil, err)
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	if err != nil {
		return fragment{}, classify(u.c.cfg.Name, op, nil, nil, err)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated:
		var it driveItem
		if err := json.Unmarshal(body, &it); err != nil {
			return fragment{}, classify(u.c.cfg.Name, op, nil, nil, fmt.Errorf("decode answer: %w", err))
		}
		return fragment{item: &it}, nil
	case http.StatusAccepted:
		next, err := nextExpected(body)
		if err != nil {
			return fragment{}, classify(u.c.cfg.Name, op, nil, nil, err)
		}
		return fragment{next: next}, nil
	}
	err = classify(u.c.cfg.Name, op, resp, body, nil)
	switch {
	case errors.Is(err, errOverlap):
		return fragment{overlap: true}, nil
	case isNotFound(err):
		return fragment{gone: true}, nil
	}
	return fragment{}, err
}

// status asks the session which byte it expects next.
func (u *upload) status(ctx context.Context, uploadURL string) (int64, error) {
	op := "status of " + u.op
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uploadURL, nil)
	if err != nil {
		return 0, fmt.Errorf("%s: bad upload URL", op)
	}
	var off int64
	err = retry.Do(ctx, u.c.policy, u.c.pacer, func(ctx context.Context) error {
		resp, err := u.c.plain.Do(req.WithContext(ctx))
		if err != nil {
			return classify(u.c.cfg.Name, op, nil, nil, err)
		}
		defer resp.Body.Close()
		body, err := readBody(resp)
		if err != nil {
			return classify(u.c.cfg.Name, op, nil, nil, err)
		}
		if resp.StatusCode != http.StatusOK {
			return classify(u.c.cfg.Name, op, resp, body, nil)
		}
		off, err = nextExpected(body)
		if err != nil {
			return classify(u.c.cfg.Name, op, nil, nil, err)
		}
		return nil
	})
	return off, err
}

// nextExpected reads the first of nextExpectedRanges ("26-" or "26-99").
// Graph may not list every missing range, but the first is where an
// in-order upload continues.
func nextExpected(body []byte) (int64, error) {
	var s struct {
		Next []string `json:"nextExpectedRanges"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return 0, fmt.Errorf("decode session status: %w", err)
	}
	if len(s.Next) == 0 {
		return 0, errors.New("session status lists no expected range")
	}
	start, _, _ := strings.Cut(s.Next[0], "-")
	n, err := strconv.ParseInt(strings.TrimSpace(start), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("session status has a bad range %q", s.Next[0])
	}
	return n, nil
}

func readBody(resp *http.Response) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(nil, resp.Body, 1<<20))
	return b.Bytes(), err
}
