// Package progress draws one upload's progress bar on a terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/offsite-backup/offsite/internal/units"
)

// For returns a progress printer for w when it is a terminal, and nil
// otherwise: logs and scripts get no bars.
func For(w io.Writer) func(done, total int64) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return Bar(w)
}

// Bar prints each report as a bar redrawn on one line, ending the line
// once done reaches total.
func Bar(w io.Writer) func(done, total int64) {
	const width = 30
	return func(done, total int64) {
		pct := 100.0
		if total > 0 {
			pct = float64(done) * 100 / float64(total)
		}
		filled := min(max(int(pct/100*width), 0), width)
		bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
		fmt.Fprintf(w, "\r[%s] %5.1f%%  %s / %s", bar, pct, units.Bytes(done), units.Bytes(total))
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}
