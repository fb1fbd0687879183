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
func warnDrives(w io.Writer, cfg *config.Config) {
	warnDrivesWith(w, cfg, drives.Advice)
	warnSameDisk(w, cfg, drives.SameDisk)
}

// warnSameDisk says when a watch's local destination is on the watched
// folder's own disk: that copy is not offsite. Only a warning: a second
// copy on the same PC is fine beside a cloud, and the disk may be one a
// person means to swap.
func warnSameDisk(w io.Writer, cfg *config.Config, same func(a, b string) (bool, bool)) {
	for _, wt := range cfg.Watches {
		offsite := 0
		var near []string
		for _, name := range wt.Destinations {
			d := cfg.Destination(name)
			if d == nil {
				continue
			}
			if d.Type != config.TypeLocal {
				offsite++
				continue
			}
			if s, known := same(wt.Path, d.Path); s && known {
				near = append(near, d.Name)
				continue
			}
			offsite++
		}
		for _, name := range near {
			msg := fmt.Sprintf("! destination %s is on the same disk as watch %s (%s): a copy there is not offsite, a failed disk, a theft or a fire takes both",
				name, wt.Name, termsafe.Quote(wt.Path))
			if offsite == 0 {
				msg += "; nothing else of this watch leaves the PC: point the destination at a USB disk or a network share, or add a cloud"
			}
			fmt.Fprintln(w, msg)
		}
	}
}

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
