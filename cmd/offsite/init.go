package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite"
	"github.com/offsite-backup/offsite/internal/app"
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
			switch {
			case !example && watch == "" && to == "":
				return runWizard(c.Context(), g, path, c.InOrStdin())
			case example && (watch != "" || to != ""):
				return fmt.Errorf("--example writes the annotated example as it is; leave out --watch and --to, or leave out --example")
			case example:
				if err := setup.WriteNew(path, offsite.ExampleConfig()); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "wrote %s (the annotated example: edit the watches and destinations in it)\nnext: offsite check -c %s\n", path, path)
				return nil
			case watch == "" || to == "":
				return fmt.Errorf("give both the backup folder with --watch and where copies go with --to (or neither, to be asked)")
			}
			if err := setup.WriteNew(path, setup.Starter(path, watch, to, name)); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %s\nnext: offsite check -c %s, then offsite run -c %s (or offsite service install)\n", path, path, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&watch, "watch", "", "the folder your program writes backups into")
	cmd.Flags().StringVar(&to, "to", "", "where copies go (USB disk or network share)")
	cmd.Flags().StringVar(&name, "name", "backups", "a short name for the watch")
	cmd.Flags().BoolVar(&example, "example", false, "write the full annotated example config (every key, commented)")
	return cmd
}

// runWizard runs the questions on the terminal (or pipe) and says what
// became of them.
func runWizard(ctx context.Context, g *globals, path string, in io.Reader) error {
	err := app.Wizard(g.command("", true), path, in, g.stdout).Run(ctx)
	if errors.Is(err, setup.ErrKept) {
		fmt.Fprintf(g.stdout, "Kept %s as it is. Edit it, or run offsite init -c NEWFILE.\n", path)
		return nil
	}
	if errors.Is(err, setup.ErrNoAnswer) {
		return fmt.Errorf("%w. Run offsite init in a terminal to be asked, or pass --watch and --to", err)
	}
	return err
}
