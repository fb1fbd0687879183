package dropbox

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/oauth"
)

// Scopes are the permissions offsite asks for: read and write files, and
// read the account's space usage.
var Scopes = []string{"files.metadata.read", "files.metadata.write", "files.content.read", "files.content.write", "account_info.read"}

// OAuthConfig is the OAuth client of a destination. With Endpoint set the
// token URL is rooted there, as the emulator serves it.
func OAuthConfig(c Config) *oauth2.Config {
	ep := endpoints.Dropbox
	if c.Endpoint != "" {
		base := strings.TrimRight(c.Endpoint, "/")
		ep = oauth2.Endpoint{AuthURL: base + "/oauth2/authorize", TokenURL: base + "/oauth2/token"}
	}
	// Params, not Basic auth: a PKCE login without a client secret must
	// still name its client.
	ep.AuthStyle = oauth2.AuthStyleInParams
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: ep, Scopes: Scopes}
}

// AuthCodeOptions are the extra authorize-URL parameters a login needs:
// token_access_type=offline asks for a refresh token besides the
// short-lived access token.
func AuthCodeOptions() []oauth2.AuthCodeOption {
	return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("token_access_type", "offline")}
}

// tokens hands out the saved login and refreshes it early when the service
// refuses an access token its expiry still calls valid (revoked, or the
// clocks disagree).
type tokens struct {
	mu    sync.Mutex
	ctx   context.Context // carries the HTTP client for refreshes
	cfg   *oauth2.Config
	store oauth.Store
	src   oauth2.TokenSource
	stale string // an access token the service refused
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
	if err != nil || tok.AccessToken != t.stale {
		return tok, err
	}
	fresh, err := t.cfg.TokenSource(t.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		return nil, oauth.ClassifyTokenError(err, t.store)
	}
	if err := t.store.Save(fresh); err != nil {
		return nil, providers.Errorf(providers.Temporary, "", "", "%s: %w", t.store.Dest, err)
	}
	// Reload so the saving source carries on from the new token.
	src, err := oauth.TokenSource(t.ctx, t.cfg, t.store)
	if err != nil {
		return nil, err
	}
	t.src = src
	return fresh, nil
}

// refused marks the access token sent in authHeader as refused, so the
// next request refreshes first. A token already replaced is left alone,
// so many workers hitting one expiry cause one refresh.
func (t *tokens) refused(authHeader string) {
	tok, ok := strings.CutPrefix(authHeader, "Bearer ")
	if !ok || tok == "" {
		return
	}
	t.mu.Lock()
	t.stale = tok
	t.mu.Unlock()
}

// callInfo is what the transport saw of one API request; the SDK's typed
// errors keep neither the headers nor the token used.
type callInfo struct {
	auth       string
	retryAfter time.Duration
}

type callKey struct{}

// observer records the request's Authorization and the response's
// Retry-After into the callInfo the request's context carries.
type observer struct{ base http.RoundTripper }

func (o observer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.base.RoundTrip(req)
	if info, ok := req.Context().Value(callKey{}).(*callInfo); ok {
		info.auth = req.Header.Get("Authorization")
		if resp != nil {
			info.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
	}
	return resp, err
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
