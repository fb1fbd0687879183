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
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers"
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
		return nil, providers.Errorf(providers.Fatal, providers.ReasonAuth, s.authHint(),
			"%s is not logged in: no token file at %s", s.Dest, s.Path)
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

// savingSource refreshes through cfg and saves every new token before
// handing it out, so a rotated refresh token is never lost.
type savingSource struct {
	mu    sync.Mutex
	store Store
	base  oauth2.TokenSource
	last  *oauth2.Token
}

// TokenSource returns a source that refreshes the stored token through cfg
// and saves each new one. Errors are classified: a refused refresh
// (invalid_grant and the like) is Fatal with a hint to log in again.
func TokenSource(ctx context.Context, cfg *oauth2.Config, store Store) (oauth2.TokenSource, error) {
	t, err := store.Load()
	if err != nil {
		return nil, err
	}
	return &savingSource{store: store, base: cfg.TokenSource(ctx, t), last: t}, nil
}

func (s *savingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.base.Token()
	if err != nil {
		return nil, ClassifyTokenError(err, s.store)
	}
	if t.AccessToken != s.last.AccessToken || t.RefreshToken != s.last.RefreshToken {
		if err := s.store.Save(t); err != nil {
			return nil, providers.Errorf(providers.Temporary, "", "", "%w", err)
		}
		s.last = t
	}
	return t, nil
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
// (nil: a clone of http.DefaultTransport, which honours HTTPS_PROXY and the
// system CA pool, SSL_CERT_FILE included).
func Client(ts oauth2.TokenSource, base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &http.Client{Transport: &oauth2.Transport{Source: ts, Base: base}}
}
