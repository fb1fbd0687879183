package dropbox

import (
	"context"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/registry"
)

// Descriptor declares the Dropbox destination type. Dropbox has no
// device-code login: a person pastes a code or uses a browser.
func Descriptor() registry.Descriptor {
	return registry.Descriptor{
		Type: "dropbox", Service: "Dropbox",
		Hash: providers.ContentHash, Names: Names,
		Login: &registry.Login{
			Config: func(c registry.Client) *oauth2.Config {
				return OAuthConfig(Config{ClientID: c.ID, ClientSecret: c.Secret, Endpoint: c.Endpoint})
			},
			Options: AuthCodeOptions(),
		},
		New: func(ctx context.Context, s registry.Settings) (providers.Provider, error) {
			return New(ctx, Config{Name: s.Name, Folder: s.Folder, TokenFile: s.TokenFile, ClientID: s.Client.ID,
				ClientSecret: s.Client.Secret, Endpoint: s.Client.Endpoint, ChunkSize: s.ChunkSize, Timeout: s.Timeout,
				Pacer: s.Pacer, Policy: s.Policy})
		},
	}
}
