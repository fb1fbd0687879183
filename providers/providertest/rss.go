package providertest

import (
	"os"
	"strconv"
	"strings"
)

// ResetPeakRSS restarts the kernel's peak-RSS count for this process, so a
// benchmark measures its own peak, not its set-up's (Linux; no-op elsewhere).
func ResetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// PeakRSSMiB is the process's peak resident memory since the last reset, in
// MiB, or -1 where the OS does not tell (Linux VmHWM).
func PeakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err == nil {
				return float64(kb) / 1024
			}
		}
	}
	return -1
}

// BenchBytes is the size a benchmark should upload: OFFSITE_BENCH_MB MiB
// when set (make bench uses 1024 for the cloud goals), else def.
func BenchBytes(def int64) int64 {
	if mb, err := strconv.Atoi(os.Getenv("OFFSITE_BENCH_MB")); err == nil && mb > 0 {
		return int64(mb) << 20
	}
	return def
}
