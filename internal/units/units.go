// Package units writes sizes for people, one way everywhere: alerts,
// status, errors and progress agree on "1.5 GiB".
package units

import (
	"fmt"
	"strings"
)

// Bytes is n in 1024-based units labelled KiB, MiB, …, with one decimal
// that is left out when it is 0: "512 B", "1.5 MiB", "2 GiB".
func Bytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f := float64(n)
	i := 0
	for (f >= 1024 || f <= -1024) && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", f), ".0") + " " + units[i]
}
