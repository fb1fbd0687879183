package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite"
)

func cmdInit(g *globals) *cobra.Command {
	var watch, to, name string
	var example bool
	cmd := &cobra.Command{
		Use:   "init --watch FOLDER --to FOLDER | init --example",
		Short: "Write a starter config: one backup folder copied to one local folder",
		Long: `Write a starter config that copies every backup appearing in --watch to --to
(a USB disk or network share). Add cloud destinations afterwards: see
config.example.yaml and docs/providers.md.

--example writes the full annotated example instead (every key, commented):
a starting point to edit by hand.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			path := g.config
			if path == "" {
				path = "offsite.yaml"
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
				if err := writeNew(path, offsite.ExampleConfig()); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "wrote %s (the annotated example: edit the watches and destinations in it)\nnext: offsite check -c %s\n", path, path)
				return nil
			}
			if watch == "" || to == "" {
				return fmt.Errorf("give the backup folder with --watch and where copies go with --to")
			}
			w, _ := filepath.Abs(watch)
			t, _ := filepath.Abs(to)
			body := fmt.Sprintf(`# offsite config: see config.example.yaml for every key.
state_dir: %s

watches:
  - name: %s
    path: %s
    settle: 5s            # a file must be unchanged this long before it is sent
    expect_every: 26h     # alert when no new backup arrives within this window
    destinations: [copy]

destinations:
  - name: copy
    type: local
    path: %s

# notify:
#   - url: smtp://user:${SMTP_PASSWORD}@mail.example.com:587/?from=shop@example.com&to=owner@example.com
#     on: [failure, missed, report]
`, yamlQuote(filepath.Join(filepath.Dir(mustAbs(path)), "offsite-state")), name, yamlQuote(w), yamlQuote(t))
			if err := writeNew(path, body); err != nil {
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

// writeNew creates path with body, never replacing a file that appeared
// since the check above.
func writeNew(path, body string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; edit it, or pass -c NEWFILE", path)
		}
		return fmt.Errorf("write the config: %w", err)
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// yamlQuote quotes a path for YAML (Windows paths have backslashes and colons).
func yamlQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
