package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/internal/buildinfo"
)

func cmdVersion(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(g.stdout, buildinfo.Read())
			return err
		},
	}
}
