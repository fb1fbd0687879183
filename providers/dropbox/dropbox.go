// Package dropbox stores backups in a Dropbox account through the v2 API:
// small files in one upload, larger ones in resumable upload sessions.
// With an App-folder app the account root is the app's folder.
package dropbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/auth"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/files"
	"github.com/dropbox/dropbox-sdk-go-unofficial/v6/dropbox/users"
	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/httpclient"
	"github.com/offsite-backup/offsite/providers/oauth"
	"github.com/offsite-backup/offsite/providers/retry"
)

var _ providers.Provider = (*Client)(nil)
var _ providers.Quotaer = (*Client)(nil)

// DefaultChunkSize is the upload-session chunk: a multiple of 4 MiB, as
// Dropbox asks of concurrent sessions, and the bound on upload memory.
const DefaultChunkSize = 8 << 20

// maxChunk is the most one Dropbox request may carry.
const maxChunk = 150 << 20

// Config configures a Client.
type Config struct {
	Name         string // destination name, for hints ("run offsite auth NAME")
	Folder       string // folder under the account (or app-folder) root, e.g. "Backups/Shop1"
	TokenFile    string // the saved login (JSON oauth2.Token, 0600)
	ClientID     string
	ClientSecret string
	Endpoint     string // optional: root of every URL, e.g. the emulator's
	ChunkSize    int64  // upload-session chunk; default DefaultChunkSize
	Pacer        *retry.Pacer
	Policy       retry.Policy      // retries of one call or chunk; zero: retry.DefaultPolicy
	Transport    http.RoundTripper // optional base transport; the stall detector and size limits wrap it
	// Timeout is how long a call may wait for an answer, or a transfer may
	// move no byte, before it is given up and retried; zero: httpclient.DefaultTimeout.
	Timeout time.Duration
}

// Client is a Dropbox destination. It is safe for concurrent use.
type Client struct {
	name   string
	root   string // "" (account root) or "/Backups/Shop1"
	chunk  int64
	pacer  *retry.Pacer
	policy retry.Policy // chunk retries inside an upload
	tokens *oauth.Source
	files  files.ContextClient
	users  users.ContextClient
	bufs   sync.Pool // *[]byte chunk buffers, kept between uploads
}

// New returns a Client. It reads the token file but makes no request.
func New(ctx context.Context, c Config) (*Client, error) {
	base := httpclient.New(c.Transport, httpclient.Options{Timeout: c.Timeout})
	chunk := c.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	if chunk > maxChunk {
		return nil, fmt.Errorf("dropbox %s: chunk size %d is over Dropbox's 150 MiB request limit", c.Name, chunk)
	}
	pacer := c.Pacer
	if pacer == nil {
		pacer = &retry.Pacer{}
	}
	// Refreshes outlive New's ctx: they happen whenever a token runs out.
	tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Transport: base})
	toks, err := oauth.NewSource(tctx, OAuthConfig(c), oauth.Store{Path: c.TokenFile, Dest: c.Name})
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: &oauth2.Transport{Source: toks, Base: observer{base: base}}}
	sdk := dropbox.Config{Client: hc, LogLevel: dropbox.LogOff}
	if c.Endpoint != "" {
		root := strings.TrimRight(c.Endpoint, "/")
		sdk.URLGenerator = func(_, namespace, route string) string { return root + "/2/" + namespace + "/" + route }
	}
	folder := strings.Trim(path.Clean("/"+c.Folder), "/")
	root := ""
	if folder != "" {
		root = "/" + folder
	}
	return &Client{
		name: c.Name, root: root, chunk: chunk, pacer: pacer, policy: c.Policy, // zero: Do applies the defaults
		tokens: toks, files: files.NewContext(sdk), users: users.NewContext(sdk),
	}, nil
}

func (c *Client) HashKind() providers.HashKind { return providers.ContentHash }

// ReadsAhead: two appends are in flight, each read while the other is
// sent, so the source is already read ahead of the network.
func (c *Client) ReadsAhead() bool { return true }

// Names are Dropbox's name rules. Dropbox compares paths case-insensitively
// and keeps the case first written (path_lower beside path_display). Its
// documentation says nothing of Unicode normalisation; offsite assumes it
// may fold NFC and NFD together, which at worst gives a file a timestamped
// name it did not need. Names are up to 255 characters per segment.
var Names = providers.NameRules{FoldCase: true, Normalize: true, MaxName: 255}

func (c *Client) NameRules() providers.NameRules { return Names }

// remote maps a destination-relative path onto the account: the full
// Dropbox path and the cleaned relative one. Bytes that are not UTF-8 are
// escaped (providers.EscapeName): JSON would turn each into U+FFFD.
func (c *Client) remote(p string) (full, rel string, err error) {
	clean := path.Clean("/" + p)
	if clean == "/" {
		return "", "", providers.Errorf(providers.Permanent, providers.ReasonName, "", "invalid path %q", p)
	}
	return c.root + providers.EscapeName(clean), clean[1:], nil
}

// dir maps a folder path; the account root is "" in list_folder.
func (c *Client) dir(p string) (full, rel string) {
	clean := path.Clean("/" + p)
	if clean == "/" {
		return c.root, ""
	}
	return c.root + providers.EscapeName(clean), clean[1:]
}

// call runs one API request. A 401 refreshes the login and tries once
// more; whatever error remains is classified.
func (c *Client) call(ctx context.Context, op string, fn func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		info := &callInfo{}
		err := fn(context.WithValue(ctx, callKey{}, info))
		var au auth.AuthAPIError
		if attempt == 0 && errors.As(err, &au) {
			c.tokens.Invalidate(strings.TrimPrefix(info.auth, "Bearer "))
			continue
		}
		return c.classify(op, err, info)
	}
}

func (c *Client) Stat(ctx context.Context, p string) (providers.RemoteFile, error) {
	full, rel, err := c.remote(p)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	return c.stat(ctx, full, rel)
}

func (c *Client) stat(ctx context.Context, full, rel string) (providers.RemoteFile, error) {
	var md files.IsMetadata
	err := c.call(ctx, "stat "+rel, func(ctx context.Context) (err error) {
		md, err = c.files.GetMetadataContext(ctx, files.NewGetMetadataArg(full))
		return err
	})
	if err != nil {
		return providers.RemoteFile{}, err
	}
	rf, ok := remoteFile(rel, md)
	if !ok {
		return providers.RemoteFile{}, fmt.Errorf("stat %s: %w", rel, providers.ErrNotFound)
	}
	return rf, nil
}

// remoteFile describes md as found at rel; deleted entries do not count.
func remoteFile(rel string, md files.IsMetadata) (providers.RemoteFile, bool) {
	switch m := md.(type) {
	case *files.FileMetadata:
		return providers.RemoteFile{Path: rel, Size: int64(m.Size), ModTime: time.Time(m.ClientModified), Hash: m.ContentHash}, true
	case *files.FolderMetadata:
		return providers.RemoteFile{Path: rel, Dir: true}, true
	}
	return providers.RemoteFile{}, false
}

func (c *Client) List(ctx context.Context, dir string) ([]providers.RemoteFile, error) {
	full, rel := c.dir(dir)
	var res *files.ListFolderResult
	err := c.call(ctx, "list "+rel, func(ctx context.Context) (err error) {
		res, err = c.files.ListFolderContext(ctx, files.NewListFolderArg(full))
		return err
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil, nil
	}
	var out []providers.RemoteFile
	for err == nil {
		for _, md := range res.Entries {
			var name string
			switch m := md.(type) {
			case *files.FileMetadata:
				name = m.Name
			case *files.FolderMetadata:
				name = m.Name
			}
			if rf, ok := remoteFile(path.Join(rel, providers.UnescapeName(name)), md); ok {
				out = append(out, rf)
			}
		}
		if !res.HasMore {
			return out, nil
		}
		cursor := res.Cursor
		err = c.call(ctx, "list "+rel, func(ctx context.Context) (err error) {
			res, err = c.files.ListFolderContinueContext(ctx, files.NewListFolderContinueArg(cursor))
			return err
		})
	}
	return nil, err
}

func (c *Client) Delete(ctx context.Context, p string) error {
	full, rel, err := c.remote(p)
	if err != nil {
		return err
	}
	err = c.call(ctx, "delete "+rel, func(ctx context.Context) error {
		_, err := c.files.DeleteV2Context(ctx, files.NewDeleteArg(full))
		return err
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	return err
}

func (c *Client) Get(ctx context.Context, p string) (io.ReadCloser, error) {
	full, rel, err := c.remote(p)
	if err != nil {
		return nil, err
	}
	var body io.ReadCloser
	err = c.call(ctx, "download "+rel, func(ctx context.Context) (err error) {
		_, body, err = c.files.DownloadContext(httpclient.Streaming(ctx), files.NewDownloadArg(full))
		return err
	})
	return body, err
}

// Quota reports the account's used and allocated bytes.
func (c *Client) Quota(ctx context.Context) (used, total int64, err error) {
	var u *users.SpaceUsage
	err = c.call(ctx, "space usage", func(ctx context.Context) (err error) {
		u, err = c.users.GetSpaceUsageContext(ctx)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	if a := u.Allocation; a != nil {
		switch {
		case a.Individual != nil:
			total = int64(a.Individual.Allocated)
		case a.Team != nil:
			total = int64(a.Team.Allocated)
		}
	}
	return int64(u.Used), total, nil
}
