package onedrive

import (
	"testing"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Options{
		New: func(t *testing.T) providers.Provider {
			return newEnv(t).client("Backups/Shop 1")
		},
		ChunkSize: testChunk,
	})
}
