package gdrive

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/offsite-backup/offsite/providers/oauth"
)

// Scope is the only Drive scope offsite asks for: files it created. It is
// non-sensitive and the one the device flow allows.
const Scope = "https://www.googleapis.com/auth/drive.file"

// OAuthConfig is the OAuth client of a Drive destination, for the adapter
// and for `offsite auth`. With Endpoint set, the token and device endpoints
// are rooted there (an emulator); otherwise they are Google's.
func OAuthConfig(cfg Config) *oauth2.Config {
	ep := google.Endpoint
	if cfg.Endpoint != "" {
		base := trimSlash(cfg.Endpoint)
		ep = oauth2.Endpoint{
			AuthURL:       base + "/o/oauth2/auth",
			TokenURL:      base + "/token",
			DeviceAuthURL: base + "/device/code",
			AuthStyle:     oauth2.AuthStyleInParams,
		}
	}
	return &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: ep, Scopes: []string{Scope}}
}

// tokens hands out access tokens from the saved login and can be told that
// the service refused one. The oauth2 source refreshes only when its own
// clock says the token expired; the service may disagree (revoked, server
// restarted, clock skew), and then the next request must refresh anyway.
type tokens struct {
	ctx   context.Context
	cfg   *oauth2.Config
	store oauth.Store

	mu   sync.Mutex
	src  oauth2.TokenSource
	last string // the access token handed out most recently
}

func newTokens(ctx context.Context, cfg *oauth2.Config, store oauth.Store) (*tokens, error) {
	src, err := oauth.TokenSource(ctx, cfg, store)
	if err != nil {
		return nil, err
	}
	return &tokens{ctx: ctx, cfg: cfg, store: store, src: src}, nil
}

func (t *tokens) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tok, err := t.src.Token()
	if err != nil {
		return nil, err
	}
	t.last = tok.AccessToken
	return tok, nil
}

// invalidate makes the next Token refresh, unless a newer token than the
// refused one has been handed out already (another request got there first).
// It marks the saved token expired and reopens the store, so the refresh
// goes through the oauth package's saving source like any other.
func (t *tokens) invalidate(refused string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if refused != t.last {
		return
	}
	tok, err := t.store.Load()
	if err != nil {
		return
	}
	if tok.AccessToken == refused {
		tok.Expiry = time.Now().Add(-time.Hour)
		if err := t.store.Save(tok); err != nil {
			return
		}
	}
	if src, err := oauth.TokenSource(t.ctx, t.cfg, t.store); err == nil {
		t.src = src
		t.last = ""
	}
}

// authTransport authorises each request. On a 401 it invalidates the token
// and, when the body can be sent again, retries once with a fresh one.
type authTransport struct {
	tokens *tokens
	base   http.RoundTripper
}

func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, token, err := a.send(req, req.Body)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	a.tokens.invalidate(token)
	body := req.Body
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, nil // the next attempt of the caller's retry refreshes
		}
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	resp.Body.Close()
	resp, _, err = a.send(req, body)
	return resp, err
}

func (a *authTransport) send(req *http.Request, body io.ReadCloser) (*http.Response, string, error) {
	tok, err := a.tokens.Token()
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, "", err
	}
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := a.base.RoundTrip(r)
	return resp, tok.AccessToken, err
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
