package gdrive

import (
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
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

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
