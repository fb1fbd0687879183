package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/internal/app"
)

func cmdAck(g *globals) *cobra.Command {
	var dest string
	cmd := &cobra.Command{
		Use:   "ack [--to DEST]",
		Short: "Acknowledge backups deleted before they were sent, so status stops listing them",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return g.withApp("", func(a *app.App) error {
				n, err := a.Store.Acknowledge(c.Context(), dest)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%d deleted backup(s) acknowledged; status no longer lists them\n", n)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&dest, "to", "", "only this destination")
	return cmd
}
