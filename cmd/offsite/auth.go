package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/internal/app"
)

func cmdAuth(g *globals) *cobra.Command {
	var browser, device bool
	cmd := &cobra.Command{
		Use:   "auth DEST",
		Short: "Log a cloud destination in (Google Drive, Dropbox, OneDrive) and save its token",
		Long: `Log a cloud destination in and save its token (mode 0600) in the state folder.

Google Drive and OneDrive default to the device flow: offsite prints a code and a
web address; open it on any phone or PC and enter the code. Dropbox has no device
flow: offsite prints an address; sign in there and paste the code shown back here.
--browser uses a browser on this PC instead (loopback redirect with PKCE).`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return g.withApp(func(a *app.App) error {
				mode := app.AuthDefault
				switch {
				case browser:
					mode = app.AuthBrowser
				case device:
					mode = app.AuthDevice
				}
				if err := a.Auth(c.Context(), args[0], mode, c.InOrStdin(), g.stdout); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%s is logged in; waiting uploads will go out on the daemon's next try (or run `offsite retry --to %s`)\n", args[0], args[0])
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&browser, "browser", false, "log in with a browser on this PC")
	cmd.Flags().BoolVar(&device, "device", false, "log in with a code on another device")
	return cmd
}
