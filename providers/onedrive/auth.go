package onedrive

import (
	"strings"

	"golang.org/x/oauth2"
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
