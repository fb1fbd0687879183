package check

import (
	"fmt"
	"io"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/drives"
	"github.com/offsite-backup/offsite/internal/termsafe"
)

// warnDrives prints a warning for the state folder and each watch or local destination on a
// drive letter the service will not see (a share mapped by the user). It
// is a warning, not a problem: run from the user's own terminal it works.
func warnDrives(w io.Writer, cfg *config.Config) { warnDrivesWith(w, cfg, drives.Advice) }

// warnDrivesWith is warnDrives with the drive test given, for tests.
func warnDrivesWith(w io.Writer, cfg *config.Config, advice func(path string) string) {
	if adv := advice(cfg.StateDir); adv != "" {
		fmt.Fprintf(w, "! state_dir: %s\n", termsafe.Quote(adv))
	}
	for _, wt := range cfg.Watches {
		if adv := advice(wt.Path); adv != "" {
			fmt.Fprintf(w, "! watch %s: %s\n", wt.Name, termsafe.Quote(adv))
		}
	}
	for _, d := range cfg.Destinations {
		if d.Type != config.TypeLocal {
			continue
		}
		if adv := advice(d.Path); adv != "" {
			fmt.Fprintf(w, "! destination %s: %s\n", d.Name, termsafe.Quote(adv))
		}
	}
}
