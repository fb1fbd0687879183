package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite"
	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/app"
	"github.com/offsite-backup/offsite/internal/drives"
	"github.com/offsite-backup/offsite/internal/service"
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
			path := g.config
			if path == "" {
				path = "offsite.yaml"
			}
			if !example && watch == "" && to == "" {
				return runWizard(c.Context(), g, path, c.InOrStdin())
			}
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s already exists; edit it, or pass -c NEWFILE", path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if example {
				if watch != "" || to != "" {
					return fmt.Errorf("--example writes the annotated example as it is; leave out --watch and --to, or leave out --example")
				}
				if err := setup.WriteNew(path, offsite.ExampleConfig()); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "wrote %s (the annotated example: edit the watches and destinations in it)\nnext: offsite check -c %s\n", path, path)
				return nil
			}
			if watch == "" || to == "" {
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

// runWizard wires the questions to the terminal (or pipe) and the steps
// after them to the commands of the same name.
func runWizard(ctx context.Context, g *globals, path string, in io.Reader) error {
	home, _ := os.UserHomeDir()
	// Each step opens the config just written, as its command would.
	with := func(cfgPath string, fn func(*app.App) error) error {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return err
		}
		a, err := app.OpenConfig(cfg, g.logger(cfg), "")
		if err != nil {
			return err
		}
		defer a.Close()
		return fn(a)
	}
	w := &setup.Wizard{
		Prompt:  setup.TerminalPrompt(in, g.stdout),
		Out:     g.stdout,
		CfgPath: path,
		Finder:  setup.Finder{Roots: setup.Roots(runtime.GOOS, os.Getenv, home)},
		Drive:   drives.Advice,
		Steps: setup.Steps{
			Auth: func(ctx context.Context, cfgPath, dest string, in io.Reader, out io.Writer) error {
				return with(cfgPath, func(a *app.App) error { return a.Auth(ctx, dest, app.AuthDefault, in, out) })
			},
			NotifyTest: func(ctx context.Context, cfgPath string, out io.Writer) (n int, err error) {
				err = with(cfgPath, func(a *app.App) error { n = a.NotifyTest(ctx, out); return nil })
				return n, err
			},
			Check: func(ctx context.Context, cfgPath string, out io.Writer) (n int, err error) {
				err = with(cfgPath, func(a *app.App) error { n = a.Check(ctx, out, false); return nil })
				return n, err
			},
			InstallService: func(_ context.Context, cfgPath string, out io.Writer) error {
				return service.Install(cfgPath, out, true)
			},
		},
	}
	err := w.Run(ctx)
	if errors.Is(err, setup.ErrKept) {
		fmt.Fprintf(g.stdout, "Kept %s as it is. Edit it, or run offsite init -c NEWFILE.\n", path)
		return nil
	}
	if errors.Is(err, setup.ErrNoAnswer) {
		return fmt.Errorf("%w. Run offsite init in a terminal to be asked, or pass --watch and --to", err)
	}
	return err
}
