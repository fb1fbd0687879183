package gdrive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"

	"github.com/offsite-backup/offsite/providers"
)

// session is the resumable-upload state handed to PutOptions.OnSession.
// URI is a credential: the whole state is a secret.
type session struct {
	URI    string `json:"uri"`
	Size   int64  `json:"size"`
	MD5    string `json:"md5,omitempty"` // the content it was started for
	Parent string `json:"parent"`
	Name   string `json:"name"`
	Offset int64  `json:"offset"` // bytes Drive has acknowledged
}

// errSessionGone means Drive forgot the session (expired, 404/410): start over.
var errSessionGone = &providers.Error{Kind: providers.Permanent, Err: errors.New("upload session expired")}

// maxRestarts bounds how often one Put starts a fresh session.
const maxRestarts = 2

// putResumable uploads through a session, resuming o.Session when it fits
// this upload. Chunks stream from r, sized by a ChunkSizer.
func (c *Client) putResumable(ctx context.Context, parent, name string, r io.ReadSeeker, size int64, o providers.PutOptions, want string) (*drive.File, error) {
	s := c.savedSession(o.Session, parent, name, size, want)
	sizer := providers.NewChunkSizer(c.chunk, c.maxChunk, chunkUnit)
	for restarts := 0; ; restarts++ {
		resumed := s != nil
		if s == nil {
			var err error
			if s, err = c.startSession(ctx, parent, name, size, o.ModTime, want); err != nil {
				return nil, err
			}
			save(o, s)
		}
		f, err := c.sendAll(ctx, s, r, sizer, o, resumed)
		if errors.Is(err, errSessionGone) && restarts < maxRestarts {
			s = nil
			continue
		}
		if err != nil {
			return nil, err
		}
		if o.OnSession != nil {
			o.OnSession(nil)
		}
		return f, nil
	}
}

func save(o providers.PutOptions, s *session) {
	if o.OnSession == nil {
		return
	}
	b, _ := json.Marshal(s)
	o.OnSession(b)
}

// savedSession returns the saved state when it belongs to this upload, on
// this service; anything else starts a fresh session.
func (c *Client) savedSession(state []byte, parent, name string, size int64, want string) *session {
	if len(state) == 0 {
		return nil
	}
	var s session
	if json.Unmarshal(state, &s) != nil || s.URI == "" || s.Size != size || s.Parent != parent || s.Name != name {
		return nil
	}
	if s.MD5 != "" && want != "" && !strings.EqualFold(s.MD5, want) {
		return nil
	}
	su, err1 := url.Parse(s.URI)
	eu, err2 := url.Parse(c.uploadURL)
	if err1 != nil || err2 != nil || su.Scheme != eu.Scheme || su.Host != eu.Host {
		return nil
	}
	return &s
}

// startSession opens a session. No file exists until the last byte lands,
// so retrying the start cannot make a duplicate.
func (c *Client) startSession(ctx context.Context, parent, name string, size int64, mod time.Time, want string) (*session, error) {
	meta := map[string]any{"name": name, "parents": []string{parent}}
	if !mod.IsZero() {
		meta["modifiedTime"] = mod.UTC().Format(time.RFC3339Nano)
	}
	body, _ := json.Marshal(meta)
	var s *session
	err := c.do(ctx, func(ctx context.Context) error {
		u := c.uploadURL + "?uploadType=resumable&fields=" + url.QueryEscape(fileFields)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
		req.Header.Set("X-Upload-Content-Type", "application/octet-stream")
		req.Header.Set("X-Upload-Content-Length", strconv.FormatInt(size, 10))
		resp, err := c.http.Do(req)
		if err != nil {
			return err
		}
		defer drain(resp)
		if err := googleapi.CheckResponse(resp); err != nil {
			return err
		}
		loc := resp.Header.Get("Location")
		if loc == "" {
			return fmt.Errorf("upload session start: no Location in the answer")
		}
		s = &session{URI: loc, Size: size, MD5: want, Parent: parent, Name: name}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("start upload session: %w", err)
	}
	return s, nil
}

// sendAll sends the chunks from s.Offset on. After any failed attempt (and
// first of all when resuming) it asks Drive how much it holds rather than
// assuming: "do not assume the server received all bytes sent".
func (c *Client) sendAll(ctx context.Context, s *session, r io.ReadSeeker, sizer *providers.ChunkSizer, o providers.PutOptions, sync bool) (*drive.File, error) {
	for {
		var done *drive.File
		var srcErr error
		err := c.do(ctx, func(ctx context.Context) error {
			if sync {
				off, f, err := c.exchange(ctx, s, nil, 0, -1)
				if err != nil {
					return err
				}
				sync = false
				if f != nil {
					done = f
					return nil
				}
				s.Offset = off
			}
			n := sizer.Next(s.Size - s.Offset)
			body, err := providers.NewChunkReader(r, s.Offset, n)
			if err != nil {
				srcErr = sourceError(err) // the source's, not Drive's: no point retrying here
				return nil
			}
			start := time.Now()
			off, f, err := c.exchange(ctx, s, &ctxReader{ctx: ctx, r: body}, n, s.Offset)
			body.Detach() // the transport may still be reading it; the next attempt moves the source
			if body.Err != nil {
				srcErr = sourceError(body.Err)
				return nil
			}
			if err != nil {
				sync = true
				return err
			}
			sizer.Sent(n, time.Since(start))
			done = f
			s.Offset = off
			return nil
		})
		switch {
		case srcErr != nil:
			return nil, srcErr
		case err != nil:
			return nil, err
		case done != nil:
			if o.OnProgress != nil {
				o.OnProgress(s.Size)
			}
			return done, nil
		}
		save(o, s)
		if o.OnProgress != nil {
			o.OnProgress(s.Offset)
		}
	}
}

// exchange sends one chunk of n bytes at off (or, with off < 0, a status
// query) and returns the offset Drive now holds, or the finished file.
func (c *Client) exchange(ctx context.Context, s *session, chunk io.Reader, n, off int64) (int64, *drive.File, error) {
	cr := fmt.Sprintf("bytes */%d", s.Size)
	if off >= 0 {
		cr = fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, s.Size)
	}
	if chunk == nil {
		chunk = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.URI, chunk)
	if err != nil {
		return 0, nil, errors.New("upload session: bad session URI")
	}
	req.ContentLength = n
	req.Header.Set("Content-Range", cr)
	req.Header.Set("Content-Type", "application/octet-stream")
	// Ask for 200 + X-Http-Status-Code-Override instead of 308, as the SDK
	// does; a real 308 is handled too.
	req.Header.Set("X-GUploader-No-308", "yes")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer drain(resp)
	switch {
	case resp.StatusCode == http.StatusPermanentRedirect || resp.Header.Get("X-Http-Status-Code-Override") == "308":
		held, err := parseRange(resp.Header.Get("Range"))
		if err != nil || held > s.Size {
			return 0, nil, fmt.Errorf("upload session: unusable Range answer %q", resp.Header.Get("Range"))
		}
		return held, nil, nil
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
		var f drive.File
		if err := json.NewDecoder(resp.Body).Decode(&f); err != nil || f.Id == "" {
			return 0, nil, fmt.Errorf("upload session: unreadable final answer: %v", err)
		}
		return s.Size, &f, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return 0, nil, errSessionGone
	}
	return 0, nil, googleapi.CheckResponse(resp)
}

// parseRange reads "bytes=0-N" into N+1; no header means nothing held.
func parseRange(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	_, last, ok := strings.Cut(strings.TrimPrefix(v, "bytes="), "-")
	n, err := strconv.ParseInt(last, 10, 64)
	if !ok || err != nil || n < 0 {
		return 0, fmt.Errorf("bad Range %q", v)
	}
	return n + 1, nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // drained for reuse of the connection only
	resp.Body.Close()
}
