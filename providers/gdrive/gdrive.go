// Package gdrive stores backups in Google Drive through the v3 API: the
// Go SDK for folders, listing, download, delete and quota; multipart
// uploads for small files; and a resumable-session driver of its own for
// large ones, so a restart continues from the last acknowledged chunk.
// Drive allows two files of one name, so every create looks first.
package gdrive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/httpclient"
	"github.com/offsite-backup/offsite/providers/oauth"
	"github.com/offsite-backup/offsite/providers/retry"
)

var _ providers.Provider = (*Client)(nil)
var _ providers.Quotaer = (*Client)(nil)

// DefaultChunkSize is the resumable chunk size; Drive wants multiples of 256 KiB.
const DefaultChunkSize = 8 << 20

const chunkUnit = 256 << 10

// maxChunk is as large as a chunk grows on a fast link (see
// providers.ChunkSizer): chunks stream from the file, so size costs no
// memory, and at the speed that reaches it one is sent again in under a
// second after a failure.
const maxChunk = 64 << 20

// Config describes one Drive destination.
type Config struct {
	Name         string // destination name, for hints ("run `offsite auth NAME`")
	Folder       string // folder path from My Drive, created when missing ("Backups/Shop1")
	TokenFile    string // the saved OAuth token (providers/oauth format)
	ClientID     string
	ClientSecret string
	Endpoint     string // optional emulator root; every URL, the token endpoint's too, is rooted here
	ChunkSize    int64  // resumable chunk size, rounded up to 256 KiB; files below it go in one request
	// MaxChunkSize is the largest a chunk grows to while chunks go out
	// quickly (providers.ChunkSizer); zero: 64 MiB. At or below ChunkSize,
	// every chunk is ChunkSize.
	MaxChunkSize int64
	Pacer        *retry.Pacer // shared with the destination's retry decorator; nil makes one
	Policy       retry.Policy // retries of one call or chunk; zero: retry.DefaultPolicy
	// Transport carries every request, token refreshes included (nil: the
	// shared transport of providers/httpclient, which honours HTTPS_PROXY).
	// Either way the stall detector and answer size limits apply.
	Transport http.RoundTripper
	// Timeout is how long a call may wait for an answer, or a transfer may
	// move no byte, before it is given up and retried; zero: httpclient.DefaultTimeout.
	Timeout time.Duration
}

// Client is a Drive destination. It is safe for concurrent use.
type Client struct {
	name      string
	root      []string // Folder, split
	chunk     int64
	pacer     *retry.Pacer
	policy    retry.Policy
	store     oauth.Store
	http      *http.Client
	svc       *drive.Service
	uploadURL string

	maxChunk int64

	mu      sync.Mutex
	folders map[string]string // folder path below My Drive → id

	mkdirMu sync.Mutex // one folder creation at a time in this process
}

// New opens the destination. It fails with a Fatal auth error when there
// is no saved login.
func New(ctx context.Context, cfg Config) (*Client, error) {
	chunk := cfg.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	chunk = (chunk + chunkUnit - 1) / chunkUnit * chunkUnit
	base := httpclient.New(cfg.Transport, httpclient.Options{Timeout: cfg.Timeout})
	pacer := cfg.Pacer
	if pacer == nil {
		pacer = &retry.Pacer{}
	}
	store := oauth.Store{Path: cfg.TokenFile, Dest: cfg.Name}
	// Refreshes outlive the caller's context and go through the same transport.
	tokCtx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Transport: base})
	toks, err := oauth.NewSource(tokCtx, OAuthConfig(cfg), store)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: &oauth.Transport{Source: toks, Base: base}}
	opts := []option.ClientOption{option.WithHTTPClient(hc)}
	uploadURL := "https://www.googleapis.com/upload/drive/v3/files"
	if cfg.Endpoint != "" {
		ep := trimSlash(cfg.Endpoint)
		// The trailing slash matters: the SDK resolves paths against it.
		opts = append(opts, option.WithEndpoint(ep+"/drive/v3/"))
		uploadURL = ep + "/upload/drive/v3/files"
	}
	svc, err := drive.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: drive client: %w", cfg.Name, err)
	}
	return &Client{
		name:      cfg.Name,
		root:      splitPath(cfg.Folder),
		chunk:     chunk,
		maxChunk:  cmp.Or(cfg.MaxChunkSize, maxChunk),
		pacer:     pacer,
		policy:    cfg.Policy, // zero: Do applies the defaults
		store:     store,
		http:      hc,
		svc:       svc,
		uploadURL: uploadURL,
		folders:   map[string]string{},
	}, nil
}

// HashKind is md5: every binary file on Drive has an md5Checksum.
func (c *Client) HashKind() providers.HashKind { return providers.MD5 }

// Names are Drive's name rules: any valid UTF-8, case-sensitive, several
// files of one name allowed (Put keeps one per name). Only bytes that are
// not UTF-8 need the escape, as names travel in JSON.
var Names = providers.NameRules{}

func (c *Client) NameRules() providers.NameRules { return Names }

// do runs one service call with the shared retry policy and pacer.
func (c *Client) do(ctx context.Context, op func(ctx context.Context) error) error {
	return retry.Do(ctx, c.policy, c.pacer, func(ctx context.Context) error {
		return c.classify(op(ctx))
	})
}

// fileFields is what every call asks for: without fields Drive omits size and md5.
const fileFields = "id,name,mimeType,size,md5Checksum,modifiedTime,createdTime"

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" && s != "." {
			out = append(out, s)
		}
	}
	return out
}

// split maps a destination path onto its folder (from My Drive) and name,
// as stored: bytes that are not UTF-8 escaped (providers.EscapeName),
// since names travel in JSON, which would turn each into U+FFFD.
func (c *Client) split(p string) (rel string, dir []string, name string, err error) {
	segs := splitPath(path.Clean("/" + p))
	if len(segs) == 0 {
		return "", nil, "", providers.Errorf(providers.Permanent, providers.ReasonName, "", "invalid path %q", p)
	}
	rel = strings.Join(segs, "/")
	for i, s := range segs {
		segs[i] = providers.EscapeName(s)
	}
	dir = append(append([]string{}, c.root...), segs[:len(segs)-1]...)
	return rel, dir, segs[len(segs)-1], nil
}

func (c *Client) remote(rel string, f *drive.File) providers.RemoteFile {
	mt, _ := time.Parse(time.RFC3339, f.ModifiedTime)
	return providers.RemoteFile{
		Path:    rel,
		Size:    f.Size,
		ModTime: mt,
		Hash:    f.Md5Checksum,
		Dir:     f.MimeType == folderMime,
	}
}

// Stat describes the newest file stored at p.
func (c *Client) Stat(ctx context.Context, p string) (providers.RemoteFile, error) {
	rel, f, err := c.newest(ctx, p)
	if err != nil {
		return providers.RemoteFile{}, fmt.Errorf("stat %s: %w", rel, err)
	}
	return c.remote(rel, f), nil
}

// newest finds the item at p; of several of one name, the newest, files
// before folders.
func (c *Client) newest(ctx context.Context, p string) (string, *drive.File, error) {
	rel, dir, name, err := c.split(p)
	if err != nil {
		return p, nil, err
	}
	parent, err := c.folder(ctx, dir, false)
	if err != nil {
		return rel, nil, err
	}
	files, err := c.children(ctx, parent, name)
	if err != nil {
		return rel, nil, err
	}
	var found *drive.File
	for _, f := range files {
		if found == nil || found.MimeType == folderMime || f.MimeType != folderMime {
			found = f
		}
	}
	if found == nil {
		return rel, nil, providers.ErrNotFound
	}
	return rel, found, nil
}

// List returns the files and folders directly inside dir.
func (c *Client) List(ctx context.Context, dir string) ([]providers.RemoteFile, error) {
	segs := splitPath(path.Clean("/" + dir))
	stored := append([]string{}, c.root...)
	for _, s := range segs {
		stored = append(stored, providers.EscapeName(s))
	}
	parent, err := c.folder(ctx, stored, false)
	if errors.Is(err, providers.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	files, err := c.children(ctx, parent, "")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	out := make([]providers.RemoteFile, 0, len(files))
	for _, f := range files {
		out = append(out, c.remote(path.Join(strings.Join(segs, "/"), providers.UnescapeName(f.Name)), f))
	}
	return out, nil
}

// Delete removes every file of that name (Drive allows several); absent is fine.
func (c *Client) Delete(ctx context.Context, p string) error {
	rel, dir, name, err := c.split(p)
	if err != nil {
		return err
	}
	parent, err := c.folder(ctx, dir, false)
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", rel, err)
	}
	files, err := c.children(ctx, parent, name)
	if err != nil {
		return fmt.Errorf("delete %s: %w", rel, err)
	}
	for _, f := range files {
		if f.MimeType == folderMime {
			continue
		}
		if err := c.deleteID(ctx, f.Id); err != nil {
			return fmt.Errorf("delete %s: %w", rel, err)
		}
	}
	return nil
}

func (c *Client) deleteID(ctx context.Context, id string) error {
	err := c.do(ctx, func(ctx context.Context) error {
		return c.svc.Files.Delete(id).Context(ctx).Do()
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	return err
}

// Get opens the content of the newest file at p.
func (c *Client) Get(ctx context.Context, p string) (io.ReadCloser, error) {
	rel, f, err := c.newest(ctx, p)
	if err == nil && f.MimeType == folderMime {
		err = fmt.Errorf("a folder: %w", providers.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", rel, err)
	}
	var body io.ReadCloser
	err = c.do(ctx, func(ctx context.Context) error {
		resp, err := c.svc.Files.Get(f.Id).Context(httpclient.Streaming(ctx)).Download()
		if err != nil {
			return err
		}
		body = resp.Body
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", rel, err)
	}
	return body, nil
}

// Quota reports the account's used and total bytes (total 0: unlimited).
func (c *Client) Quota(ctx context.Context) (used, total int64, err error) {
	err = c.do(ctx, func(ctx context.Context) error {
		a, err := c.svc.About.Get().Fields("storageQuota(limit,usage)").Context(ctx).Do()
		if err != nil {
			return err
		}
		if a.StorageQuota == nil {
			return fmt.Errorf("about.get returned no storageQuota")
		}
		used, total = a.StorageQuota.Usage, a.StorageQuota.Limit
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("%s: quota: %w", c.name, err)
	}
	return used, total, nil
}

// children lists the items in folder parent, oldest first; with name, only
// items of that name. Pages are followed to the end.
func (c *Client) children(ctx context.Context, parent, name string) ([]*drive.File, error) {
	q := fmt.Sprintf("'%s' in parents and trashed = false", escape(parent))
	if name != "" {
		q += fmt.Sprintf(" and name = '%s'", escape(name))
	}
	var out []*drive.File
	token := ""
	for {
		var list *drive.FileList
		err := c.do(ctx, func(ctx context.Context) (err error) {
			call := c.svc.Files.List().Q(q).PageSize(1000).Context(ctx).
				Fields(googleapi.Field("nextPageToken,files(" + fileFields + ")"))
			if token != "" {
				call = call.PageToken(token)
			}
			list, err = call.Do()
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, list.Files...)
		if token = list.NextPageToken; token == "" {
			break
		}
	}
	sortOldestFirst(out)
	return out, nil
}

// escape quotes a value for a q string: backslash and apostrophe.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}
