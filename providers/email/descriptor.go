package email

import (
	"context"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/registry"
)

// Descriptor declares the e-mail destination type: write-only, no login
// beyond the password in its URL.
func Descriptor() registry.Descriptor {
	return registry.Descriptor{
		Type: "email", Service: "the mail server",
		Hash: providers.SHA256, Names: Names,
		WriteOnly: true, Retrieve: Retrieve,
		New: func(_ context.Context, s registry.Settings) (providers.Provider, error) {
			return New(Config{Name: s.Name, URL: s.URL, MaxSize: s.MaxSize, Timeout: s.Timeout, Logger: s.Logger})
		},
	}
}
