// Package oauth keeps a destination's OAuth token: a 0600 token file
// replaced atomically whenever the service rotates it, a TokenSource that
// refreshes and saves, and the one mapping of token-endpoint failures onto
// offsite's error kinds.
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/httpclient"
)

// Store is a token file. The zero value is unusable; set Path and Dest.
type Store struct {
	Path string // absolute path of the JSON token file
	Dest string // destination name, for the "run offsite auth NAME" hint
}

// Load reads the token. A missing file is a Fatal auth error that says how to log in.
func (s Store) Load() (*oauth2.Token, error) {
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, providers.Errorf(providers.Fatal, providers.ReasonAuth, fmt.Sprintf("run `offsite auth %s` to log in", s.Dest),
			"%s is not logged in: no token file at %s", s.Dest, s.Path)
	}
	if fi, serr := os.Stat(s.Path); err != nil && serr == nil && fi.IsDir() {
		// Logging in again would not help: the login cannot be saved there either.
		return nil, providers.Errorf(providers.Fatal, "", fmt.Sprintf("set token_file of %s to a file name such as %s-token.json, or remove the folder", s.Dest, s.Dest),
			"token file %s of %s is a folder", s.Path, s.Dest)
	}
	if err != nil {
		return nil, providers.Errorf(providers.Fatal, providers.ReasonAuth, s.authHint(), "read token file %s: %w", s.Path, err)
	}
	var t oauth2.Token
	if err := json.Unmarshal(b, &t); err != nil || (t.AccessToken == "" && t.RefreshToken == "") {
		return nil, providers.Errorf(providers.Fatal, providers.ReasonAuth, s.authHint(),
			"token file %s is damaged", s.Path)
	}
	return &t, nil
}

// Save writes the token atomically with mode 0600: temp file, sync, rename.
// A crash leaves either the old token or the new one, never a torn file.
func (s Store) Save(t *oauth2.Token) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	f, err := os.CreateTemp(dir, ".token-*")
	if err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		f.Close()
		return fmt.Errorf("save token: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("save token: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save token: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if err := os.Rename(tmp, s.Path); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	return nil
}

func (s Store) authHint() string {
	return fmt.Sprintf("run `offsite auth %s` to log in again", s.Dest)
}

// Source hands out a destination's access tokens from its saved login. It
// refreshes when the token expires or when the service refused it
// (Invalidate: revoked, or the clocks disagree), saves every new token
// before handing it out (Microsoft rotates refresh tokens on each use), and
// classifies a refused refresh as Fatal with a hint to log in again. Every
// adapter uses it; none keeps tokens of its own.
type Source struct {
	ctx   context.Context // carries the HTTP client refreshes go through
	cfg   *oauth2.Config
	store Store
	// RefreshTimeout bounds one refresh, which holds the token lock every
	// request waits on; zero means DefaultRefreshTimeout. Set it before use.
	RefreshTimeout time.Duration

	mu  sync.Mutex
	tok *oauth2.Token
}

var _ oauth2.TokenSource = (*Source)(nil)

// DefaultRefreshTimeout bounds a token refresh when the Source sets none.
const DefaultRefreshTimeout = time.Minute

// NewSource loads the saved login. ctx should outlive single requests (the
// refreshes happen whenever a token runs out) and may carry
// oauth2.HTTPClient.
func NewSource(ctx context.Context, cfg *oauth2.Config, store Store) (*Source, error) {
	t, err := store.Load()
	if err != nil {
		return nil, err
	}
	return &Source{ctx: ctx, cfg: cfg, store: store, tok: t}, nil
}

// TokenSource is NewSource as an oauth2.TokenSource.
func TokenSource(ctx context.Context, cfg *oauth2.Config, store Store) (oauth2.TokenSource, error) {
	return NewSource(ctx, cfg, store)
}

// Token returns a valid access token, refreshing and saving when needed.
func (s *Source) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.Valid() {
		t := *s.tok
		return &t, nil
	}
	if s.tok.RefreshToken == "" {
		return nil, ClassifyTokenError(&oauth2.RetrieveError{ErrorCode: "no refresh token saved"}, s.store)
	}
	limit := s.RefreshTimeout
	if limit <= 0 {
		limit = DefaultRefreshTimeout
	}
	ctx, cancel := context.WithTimeout(s.ctx, limit)
	defer cancel()
	// A token holding only the refresh token makes the source refresh now.
	nt, err := s.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: s.tok.RefreshToken}).Token()
	if err != nil {
		if s.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, providers.Stalled(fmt.Sprintf("%s: token refresh: no answer for %s", s.store.Dest, limit))
		}
		return nil, ClassifyTokenError(err, s.store)
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = s.tok.RefreshToken
	}
	if err := s.store.Save(nt); err != nil {
		return nil, providers.Errorf(providers.Temporary, "", "", "%s: %w", s.store.Dest, err)
	}
	s.tok = nt
	t := *nt
	return &t, nil
}

// Invalidate makes the next Token refresh, unless the refused token was
// already replaced (many requests failing on one expiry cause one refresh).
func (s *Source) Invalidate(refused string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if refused != "" && s.tok.AccessToken == refused {
		s.tok.Expiry = time.Unix(1, 0)
	}
}

// Transport authorises requests with a Source. On a 401 it invalidates
// the token and, when the body can be sent again, repeats the request once
// with a fresh one; otherwise the caller's next attempt refreshes.
type Transport struct {
	Source *Source
	Base   http.RoundTripper
}

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, token, err := t.send(req, req.Body)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	t.Source.Invalidate(token)
	body := req.Body
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, nil
		}
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	resp.Body.Close()
	resp, _, err = t.send(req, body)
	return resp, err
}

func (t *Transport) send(req *http.Request, body io.ReadCloser) (*http.Response, string, error) {
	tok, err := t.Source.Token()
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, "", err
	}
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := t.Base.RoundTrip(r)
	return resp, tok.AccessToken, err
}

// ClassifyTokenError maps a token endpoint failure onto a kind. The
// endpoint's own words stay out of the message: they may echo secrets.
func ClassifyTokenError(err error, store Store) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if re.Response != nil && (re.Response.StatusCode == http.StatusTooManyRequests || re.Response.StatusCode >= 500) {
			return providers.Errorf(providers.Temporary, "", "", "%s: token refresh failed: HTTP %d", store.Dest, re.Response.StatusCode)
		}
		if code == "" && re.Response != nil {
			code = fmt.Sprintf("HTTP %d", re.Response.StatusCode)
		}
		return providers.Errorf(providers.Fatal, providers.ReasonAuth, store.authHint(),
			"%s refused the saved login (%s)", store.Dest, code)
	}
	return providers.Errorf(providers.Temporary, "", "", "%s: token refresh: %w", store.Dest, err)
}

// Client returns an HTTP client that authorises requests with ts over base
// (nil: the shared transport of providers/httpclient, which honours
// HTTPS_PROXY and the system CA pool, SSL_CERT_FILE included).
func Client(ts oauth2.TokenSource, base http.RoundTripper) *http.Client {
	if base == nil {
		base = httpclient.New(nil, httpclient.Options{})
	}
	return &http.Client{Transport: &oauth2.Transport{Source: ts, Base: base}}
}

// Store returns where the Source keeps its login.
func (s *Source) Store() Store { return s.store }
