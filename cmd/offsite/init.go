package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

func cmdInit(g *globals) *cobra.Command {
	var watch, to, name string
	cmd := &cobra.Command{
		Use:   "init --watch FOLDER --to FOLDER",
		Short: "Write a starter config: one backup folder copied to one local folder",
		Long: `Write a starter config that copies every backup appearing in --watch to --to
(a USB disk or network share). Add cloud destinations afterwards: see
config.example.yaml and docs/providers.md.`,
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
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %s\nnext: offsite check -c %s, then offsite run -c %s (or offsite service install)\n", path, path, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&watch, "watch", "", "the folder your program writes backups into")
	cmd.Flags().StringVar(&to, "to", "", "where copies go (USB disk or network share)")
	cmd.Flags().StringVar(&name, "name", "backups", "a short name for the watch")
	return cmd
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
