package onedrive

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/oauth"
)

// Scopes are what offsite asks Microsoft for: the user's files, and a
// refresh token so the daemon keeps working unattended.
var scopes = []string{"Files.ReadWrite", "offline_access"}

const (
	graphHost = "https://graph.microsoft.com"
	loginHost = "https://login.microsoftonline.com"
)

// OAuthConfig is the OAuth client of a OneDrive destination, for the
// adapter and for `offsite auth` (device flow or loopback PKCE). With
// Endpoint set the authorize, token and device-code URLs are rooted there,
// under /{tenant}/oauth2/v2.0/; otherwise at Microsoft's login host.
func OAuthConfig(cfg Config) *oauth2.Config {
	base := loginHost
	if cfg.Endpoint != "" {
		base = strings.TrimRight(cfg.Endpoint, "/")
	}
	prefix := base + "/" + tenant(cfg) + "/oauth2/v2.0/"
	return &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Scopes:       append([]string(nil), scopes...),
		Endpoint: oauth2.Endpoint{
			AuthURL:       prefix + "authorize",
			TokenURL:      prefix + "token",
			DeviceAuthURL: prefix + "devicecode",
			// Public clients (no secret) must send the client id in the form.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

func tenant(cfg Config) string {
	if cfg.Tenant == "" {
		return "common"
	}
	return cfg.Tenant
}

// tokens hands out access tokens from the saved login. Microsoft rotates
// refresh tokens on every use, so each new token is saved before use. It
// can be told that Graph refused a token, because the service may
// disagree with the token's own expiry (revoked, clock skew).
type tokens struct {
	cfg    *oauth2.Config
	store  oauth.Store
	client *http.Client // for the token endpoint

	mu  sync.Mutex
	tok *oauth2.Token
}

func newTokens(cfg *oauth2.Config, store oauth.Store, client *http.Client) (*tokens, error) {
	t, err := store.Load()
	if err != nil {
		return nil, err
	}
	return &tokens{cfg: cfg, store: store, client: client, tok: t}, nil
}

// Token returns a valid access token, refreshing (and saving) when needed.
func (t *tokens) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok.Valid() {
		return t.tok.AccessToken, nil
	}
	if t.tok.RefreshToken == "" {
		return "", oauth.ClassifyTokenError(&oauth2.RetrieveError{ErrorCode: "no refresh token"}, t.store)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, t.client)
	// A token holding only the refresh token makes the source refresh now.
	nt, err := t.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: t.tok.RefreshToken}).Token()
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", oauth.ClassifyTokenError(err, t.store)
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = t.tok.RefreshToken
	}
	if err := t.store.Save(nt); err != nil {
		return "", providers.Errorf(providers.Temporary, "", "", "%s: %w", t.store.Dest, err)
	}
	t.tok = nt
	return nt.AccessToken, nil
}

// invalidate makes the next Token refresh, unless the refused token has
// already been replaced by another request.
func (t *tokens) invalidate(refused string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok.AccessToken == refused {
		t.tok.Expiry = time.Unix(1, 0)
	}
}

// authTransport authorises each Graph request. On a 401 it refreshes once
// and, when the body can be sent again, repeats the request.
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
			return resp, nil
		}
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp, _, err = a.send(req, body)
	return resp, err
}

func (a *authTransport) send(req *http.Request, body io.ReadCloser) (*http.Response, string, error) {
	tok, err := a.tokens.Token(req.Context())
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, "", err
	}
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := a.base.RoundTrip(r)
	return resp, tok, err
}
