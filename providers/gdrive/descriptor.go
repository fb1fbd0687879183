package gdrive

import (
	"context"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/registry"
)

// Descriptor declares the Google Drive destination type.
func Descriptor() registry.Descriptor {
	return registry.Descriptor{
		Type: "gdrive", Service: "Google Drive",
		Hash: providers.MD5, Names: Names,
		Login: &registry.Login{
			Config: func(c registry.Client) *oauth2.Config {
				return OAuthConfig(Config{ClientID: c.ID, ClientSecret: c.Secret, Endpoint: c.Endpoint})
			},
			Options: []oauth2.AuthCodeOption{oauth2.AccessTypeOffline},
			Device:  true,
		},
		New: func(ctx context.Context, s registry.Settings) (providers.Provider, error) {
			return New(ctx, Config{Name: s.Name, Folder: s.Folder, TokenFile: s.TokenFile, ClientID: s.Client.ID,
				ClientSecret: s.Client.Secret, Endpoint: s.Client.Endpoint, ChunkSize: s.ChunkSize, MaxChunkSize: s.MaxChunkSize, Timeout: s.Timeout,
				Pacer: s.Pacer, Policy: s.Policy})
		},
	}
}
