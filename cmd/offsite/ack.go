package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/internal/app"
)

func cmdAck(g *globals) *cobra.Command {
	var dest, watch string
	cmd := &cobra.Command{
		Use:   "ack [--to DEST] [--watch WATCH]",
		Short: "Acknowledge backups deleted before they were sent, or refused (a link in a backup's place, an unreadable file), so status stops listing them",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return g.withApp(func(a *app.App) error {
				if watch == "" {
					n, err := a.Store.Acknowledge(c.Context(), dest)
					if err != nil {
						return err
					}
					fmt.Fprintf(g.stdout, "%d deleted backup(s) acknowledged; status no longer lists them\n", n)
				}
				if dest == "" {
					n, err := a.Store.ClearRefusals(c.Context(), watch)
					if err != nil {
						return err
					}
					fmt.Fprintf(g.stdout, "%d refused backup(s) acknowledged; a file written again is queued as usual\n", n)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&dest, "to", "", "only deleted backups of this destination")
	cmd.Flags().StringVar(&watch, "watch", "", "only refused backups of this watch")
	return cmd
}
