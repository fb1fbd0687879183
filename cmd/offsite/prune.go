package main

import (
	"github.com/offsite-backup/offsite/internal/app"
	"github.com/spf13/cobra"
)

func cmdPrune(g *globals) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune [--dry-run]",
		Short: "Delete old copies at destinations as their keep: rules allow, saying why for each",
		Long: "prune applies the keep: rules of destinations and schedules within each backup series: the versions of\n" +
			"one file, and files whose names differ only by a date or counter (\"dagsavslut 2026-11-20.bak\",\n" +
			"\"backup_0042.zip\"). A series of one copy is never pruned. It only deletes files offsite uploaded itself,\n" +
			"never the newest copy of a backup, and nothing of a watch whose newest upload is failing. --dry-run\n" +
			"lists every series with what it would keep and delete, and why.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return g.withApp(func(a *app.App) error {
				if _, err := a.Prune(c.Context(), dryRun, g.stdout); err != nil {
					return &exitError{code: 2, err: err}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only show what would be deleted and why")
	return cmd
}
