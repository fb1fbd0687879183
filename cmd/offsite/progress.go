package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/offsite-backup/offsite/internal/units"
)

// progressFor returns a progress printer for a terminal, or nil when
// output is not a terminal (logs and scripts get no bars).
func progressFor(w io.Writer) func(done, total int64) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(done, total int64) {
		pct := 100.0
		if total > 0 {
			pct = float64(done) * 100 / float64(total)
		}
		const width = 30
		filled := int(pct / 100 * width)
		bar := make([]byte, width)
		for i := range bar {
			if i < filled {
				bar[i] = '#'
			} else {
				bar[i] = '.'
			}
		}
		fmt.Fprintf(w, "\r[%s] %5.1f%%  %s / %s", bar, pct, units.Bytes(done), units.Bytes(total))
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}
