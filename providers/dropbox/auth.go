package dropbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"
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
