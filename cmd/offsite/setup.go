package main

import (
	"cmp"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/internal/app"
	"github.com/offsite-backup/offsite/internal/buildinfo"
	"github.com/offsite-backup/offsite/internal/setup"
)

func cmdInit(g *globals) *cobra.Command {
	var watch, to, name string
	var example bool
	cmd := &cobra.Command{
		Use:   "init [--watch FOLDER --to FOLDER | --example]",
		Short: "Write a config: asks a few questions, or takes --watch and --to",
		Long: `Without flags, init asks its way to a working setup: it suggests the folders
on this computer that hold recent backup files, asks where copies go (a USB disk, a network
share, Google Drive, Dropbox, OneDrive: logging those in) and where alerts go
(sending a test), writes a commented config, runs check, and offers to install
the service. Answers may be piped in, one per line.

--watch and --to write a starter config without questions: every backup
appearing in --watch is copied to --to (a USB disk or network share).

--example writes the full annotated example instead (every key, commented):
a starting point to edit by hand.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			path := cmp.Or(g.config, "offsite.yaml")
			if example || watch != "" || to != "" {
				return setup.Quick{Path: path, Watch: watch, To: to, Name: name, Example: example}.Write(g.stdout)
			}
			return app.Wizard(g.with(app.Command{Watching: true}), path, c.InOrStdin(), g.stdout).Run(c.Context())
		},
	}
	cmd.Flags().StringVar(&watch, "watch", "", "the folder your program writes backups into")
	cmd.Flags().StringVar(&to, "to", "", "where copies go (USB disk or network share)")
	cmd.Flags().StringVar(&name, "name", "backups", "a short name for the watch")
	cmd.Flags().BoolVar(&example, "example", false, "write the full annotated example config (every key, commented)")
	return cmd
}

func cmdAuth(g *globals) *cobra.Command {
	var browser, device bool
	cmd := g.onApp(&cobra.Command{
		Use:   "auth DEST",
		Short: "Log a cloud destination in (Google Drive, Dropbox, OneDrive) and save its token",
		Long: `Log a cloud destination in and save its token (mode 0600) in the state folder.

Google Drive and OneDrive default to the device flow: offsite prints a code and a
web address; open it on any phone or PC and enter the code. Dropbox has no device
flow: offsite prints an address; sign in there and paste the code shown back here.
--browser uses a browser on this PC instead (loopback redirect with PKCE).`,
		Args: cobra.ExactArgs(1),
	}, func(c *cobra.Command, a *app.App, args []string) error {
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
	cmd.Flags().BoolVar(&browser, "browser", false, "log in with a browser on this PC")
	cmd.Flags().BoolVar(&device, "device", false, "log in with a code on another device")
	return cmd
}

func cmdKey(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key generate",
		Short: "Make an encryption key for encrypt: recipients",
	}
	var out string
	gen := &cobra.Command{
		Use:   "generate [--out FILE]",
		Short: "Write a new age key (private, 0600) and print its public key for the config",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return setup.GenerateKey(g.stdout, out)
		},
	}
	gen.Flags().StringVar(&out, "out", "", "write the private key to FILE (0600) instead of printing it")
	cmd.AddCommand(gen)
	return cmd
}

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
