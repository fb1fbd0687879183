package local

import (
	"context"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/registry"
)

// Descriptor declares the local destination type: a folder on a disk or
// network share of this PC. It needs no login.
func Descriptor() registry.Descriptor {
	return registry.Descriptor{
		Type: "local", Service: "the backup disk or folder", Local: true,
		Hash: providers.SHA256, Names: Names,
		New: func(_ context.Context, s registry.Settings) (providers.Provider, error) {
			return New(Config{Root: s.Path, Owner: s.Owner}), nil
		},
	}
}
