package app

import (
	"context"
	"io"

	"github.com/offsite-backup/offsite/retention"
)

// pruner applies the keep rules through each destination's one stack.
func (a *App) pruner() *retention.Pruner {
	return &retention.Pruner{Cfg: a.Cfg, Store: a.Store, Log: a.Log, Provider: a.providerByName,
		Cannot: func(dest string) error { return a.cannot(dest, "pruned") }}
}

// Prune applies every keep rule; see retention.Pruner.Prune.
func (a *App) Prune(ctx context.Context, dryRun bool, w io.Writer) (deleted []string, err error) {
	return a.pruner().Prune(ctx, dryRun, w)
}
