// Package onedrive stores backups in OneDrive (Personal or for Business)
// through Microsoft Graph v1.0, with plain net/http: items addressed by
// path, simple uploads for small files, upload sessions resumed across
// restarts for large ones, and quickXorHash as the content hash.
package onedrive

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/httpclient"
	"github.com/offsite-backup/offsite/providers/oauth"
	"github.com/offsite-backup/offsite/providers/retry"
	"golang.org/x/oauth2"
)

var _ providers.Provider = (*Client)(nil)
var _ providers.Quotaer = (*Client)(nil)

// Config describes one OneDrive destination.
type Config struct {
	Name         string // destination name, for messages and the `offsite auth` hint
	Folder       string // folder below the drive root, created when missing
	TokenFile    string // absolute path of the saved login
	ClientID     string
	ClientSecret string // empty for a public client
	// Endpoint roots every URL (API and login) at an emulator; empty means
	// Microsoft's hosts.
	Endpoint string
	// Tenant is common (default), organizations, consumers or a tenant id.
	Tenant string
	// DriveID selects /drives/{id}; empty means the user's /me/drive.
	DriveID string
	// ChunkSize is the upload-session fragment size, rounded down to a
	// multiple of 320 KiB; default 10 MiB.
	ChunkSize int64
	// MaxChunkSize is the largest a fragment grows to while fragments go
	// out quickly (providers.ChunkSizer); zero: 56.25 MiB, under Graph's
	// 60 MiB. At or below ChunkSize, every fragment is ChunkSize.
	MaxChunkSize int64
	// Pacer is the destination's shared pacer; nil makes one.
	Pacer *retry.Pacer
	// Policy bounds the retries of one call or fragment; zero: retry.DefaultPolicy.
	Policy retry.Policy
	// Transport carries every request; nil uses the shared transport of
	// providers/httpclient, which honours HTTPS_PROXY and the system CA
	// pool. Either way the stall detector and answer size limits apply.
	Transport http.RoundTripper
	// Timeout is how long a call may wait for an answer, or a transfer may
	// move no byte, before it is given up and retried; zero: httpclient.DefaultTimeout.
	Timeout time.Duration
	// Logger receives notes worth a person's attention; nil uses slog.Default().
	Logger *slog.Logger
}

const (
	fragmentUnit     = 320 << 10
	defaultChunkSize = 32 * fragmentUnit  // 10 MiB
	maxChunkSize     = 180 * fragmentUnit // 56.25 MiB, under Graph's 60 MiB
	// simpleMax is the largest file sent in one PUT; bigger ones use a session.
	simpleMax = 4 << 20
)

// Client is a OneDrive destination. Safe for concurrent use.
type Client struct {
	cfg    Config
	api    *http.Client // Graph, authorised
	plain  *http.Client // upload and download URLs: they carry their own credential
	drive  string       // …/v1.0/me/drive or …/v1.0/drives/{id}
	folder []string     // encoded segments of cfg.Folder
	chunk  int64
	// maxChunk is the largest a fragment grows to.
	maxChunk int64
	pacer    *retry.Pacer
	policy   retry.Policy
	log      *slog.Logger
	// pageSize is List's $top.
	pageSize int

	mu      sync.Mutex
	folders map[string]bool // lower-cased encoded folder paths known to exist
}

// New opens the destination. It loads the saved login but makes no request.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Name == "" {
		cfg.Name = "onedrive"
	}
	base := httpclient.New(cfg.Transport, httpclient.Options{Timeout: cfg.Timeout})
	store := oauth.Store{Path: cfg.TokenFile, Dest: cfg.Name}
	// Refreshes outlive New's ctx: they happen whenever a token runs out.
	tokCtx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Transport: base})
	toks, err := oauth.NewSource(tokCtx, OAuthConfig(cfg), store)
	if err != nil {
		return nil, err
	}
	root := graphHost
	if cfg.Endpoint != "" {
		root = strings.TrimRight(cfg.Endpoint, "/")
	}
	drive := root + "/v1.0/me/drive"
	if cfg.DriveID != "" {
		drive = root + "/v1.0/drives/" + url.PathEscape(cfg.DriveID)
	}
	chunk := cfg.ChunkSize
	if chunk <= 0 {
		chunk = defaultChunkSize
	}
	chunk = min(max(chunk/fragmentUnit, 1), maxChunkSize/fragmentUnit) * fragmentUnit
	c := &Client{
		cfg: cfg,
		api: &http.Client{
			Transport: &oauth.Transport{Source: toks, Base: base},
			// Downloads redirect to a pre-authenticated URL on another host;
			// Get follows it without the Graph token.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		plain:    &http.Client{Transport: base},
		drive:    drive,
		chunk:    chunk,
		maxChunk: min(cmp.Or(cfg.MaxChunkSize, maxChunkSize), maxChunkSize),
		pacer:    cfg.Pacer,
		policy:   cfg.Policy, // zero: Do applies the defaults
		log:      cfg.Logger,
		folders:  map[string]bool{},
		pageSize: 200,
	}
	if c.pacer == nil {
		c.pacer = &retry.Pacer{}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	for _, s := range strings.Split(strings.Trim(cfg.Folder, "/"), "/") {
		if s != "" {
			c.folder = append(c.folder, encodeName(s))
		}
	}
	return c, nil
}

// HashKind is quickXorHash, the only hash OneDrive guarantees everywhere.
func (c *Client) HashKind() providers.HashKind { return providers.QuickXor }

// Names are OneDrive's name rules: case-insensitive and case-preserving,
// canonically equivalent (NFC/NFD) names are one name, the characters
// below and some whole names are refused (names.go stores them under
// look-alikes), and a whole path is under 400 characters.
var Names = providers.NameRules{FoldCase: true, Normalize: true, Forbidden: alwaysReplaced, MaxPath: maxPath}

func (c *Client) NameRules() providers.NameRules { return Names }

// driveItem is the part of Graph's driveItem offsite reads.
type driveItem struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	Size                 int64     `json:"size"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime"`
	FileSystemInfo       *struct {
		LastModifiedDateTime time.Time `json:"lastModifiedDateTime"`
	} `json:"fileSystemInfo"`
	Folder *struct{} `json:"folder"`
	File   *struct {
		Hashes struct {
			QuickXorHash string `json:"quickXorHash"`
		} `json:"hashes"`
	} `json:"file"`
}

func (it *driveItem) remote(p string) providers.RemoteFile {
	rf := providers.RemoteFile{Path: p, Size: it.Size, ModTime: it.LastModifiedDateTime, Dir: it.Folder != nil}
	if it.FileSystemInfo != nil && !it.FileSystemInfo.LastModifiedDateTime.IsZero() {
		rf.ModTime = it.FileSystemInfo.LastModifiedDateTime
	}
	if it.File != nil {
		rf.Hash = it.File.Hashes.QuickXorHash
	}
	if rf.Dir {
		rf.Size = 0
	}
	return rf
}

// itemURL addresses encoded segments by path: …/root:/a/b: plus suffix
// ("/content", "/children", …). No segments means the root itself.
func (c *Client) itemURL(segs []string, suffix string) string {
	if len(segs) == 0 {
		return c.drive + "/root" + suffix
	}
	esc := make([]string, len(segs))
	for i, s := range segs {
		esc[i] = url.PathEscape(s)
	}
	return c.drive + "/root:/" + strings.Join(esc, "/") + ":" + suffix
}

// call sends one authorised request and decodes a 2xx JSON answer into out
// (when non-nil). Every failure goes through classify.
func (c *Client) call(ctx context.Context, op, method, u string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.exchange(c.api, op, req, out)
}

// exchange sends req with hc and decodes the answer as call does.
func (c *Client) exchange(hc *http.Client, op string, req *http.Request, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return classify(c.cfg.Name, op, nil, nil, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return classify(c.cfg.Name, op, resp, b, nil)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body) // drained for reuse of the connection only
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return classify(c.cfg.Name, op, nil, nil, fmt.Errorf("decode answer: %w", err))
	}
	return nil
}

// Stat describes p.
func (c *Client) Stat(ctx context.Context, p string) (providers.RemoteFile, error) {
	segs, err := c.remoteSegments(p)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	it, err := c.statSegs(ctx, p, segs)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	return it.remote(p), nil
}

func (c *Client) statSegs(ctx context.Context, p string, segs []string) (*driveItem, error) {
	var it driveItem
	if err := c.call(ctx, "stat "+p, http.MethodGet, c.itemURL(segs, ""), nil, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// List returns the entries directly inside dir, following @odata.nextLink.
func (c *Client) List(ctx context.Context, dir string) ([]providers.RemoteFile, error) {
	dir = strings.Trim(dir, "/")
	segs, err := c.remoteSegments(dir)
	if err != nil {
		return nil, err
	}
	out := []providers.RemoteFile{}
	next := c.itemURL(segs, "/children") + "?$top=" + strconv.Itoa(c.pageSize)
	for next != "" {
		var page struct {
			Value    []driveItem `json:"value"`
			NextLink string      `json:"@odata.nextLink"`
		}
		err := c.call(ctx, "list "+dir, http.MethodGet, next, nil, &page)
		if providers.KindOf(err) == providers.Permanent && isNotFound(err) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for _, it := range page.Value {
			out = append(out, it.remote(path.Join(dir, decodeName(it.Name))))
		}
		next = page.NextLink
	}
	return out, nil
}

// Delete removes p; an absent p is not an error. Graph moves it to the
// recycle bin, which keeps it restorable for a while.
func (c *Client) Delete(ctx context.Context, p string) error {
	segs, err := c.remoteSegments(p)
	if err != nil {
		return err
	}
	err = c.call(ctx, "delete "+p, http.MethodDelete, c.itemURL(segs, ""), nil, nil)
	if isNotFound(err) {
		return nil
	}
	return err
}

// Get opens p's content. Graph answers with a redirect to a
// pre-authenticated URL, which is fetched without the Graph token.
func (c *Client) Get(ctx context.Context, p string) (io.ReadCloser, error) {
	segs, err := c.remoteSegments(p)
	if err != nil {
		return nil, err
	}
	op := "download " + p
	ctx = httpclient.Streaming(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.itemURL(segs, "/content"), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	resp, err := c.api.Do(req)
	if err != nil {
		return nil, classify(c.cfg.Name, op, nil, nil, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			return nil, classify(c.cfg.Name, op, nil, nil, fmt.Errorf("redirect without a location"))
		}
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if resp, err = c.plain.Do(req); err != nil {
			return nil, classify(c.cfg.Name, op, nil, nil, err)
		}
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, classify(c.cfg.Name, op, resp, b, nil)
	}
	return resp.Body, nil
}

// Quota reports the drive's used and total bytes.
func (c *Client) Quota(ctx context.Context) (used, total int64, err error) {
	var d struct {
		Quota struct {
			Total int64 `json:"total"`
			Used  int64 `json:"used"`
		} `json:"quota"`
	}
	if err := c.call(ctx, "quota", http.MethodGet, c.drive, nil, &d); err != nil {
		return 0, 0, err
	}
	return d.Quota.Used, d.Quota.Total, nil
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, providers.ErrNotFound) }
