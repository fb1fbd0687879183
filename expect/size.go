package expect

import "slices"

// DefaultMinSizeRatio: a backup below a fifth of the usual size is more often
// an export that failed halfway than a shop that sold less.
const DefaultMinSizeRatio = 0.2

// Window is how many recent backups Suspicious compares against, and
// minHistory how many it needs before it says anything at all.
const (
	Window     = 7
	minHistory = 3
)

// Suspicious reports whether size is below ratio × the median of the last
// Window entries of recent (oldest first), and that median. It needs at least
// 3 earlier sizes; ratio 0 means DefaultMinSizeRatio and a negative ratio
// turns the check off. The median, not the mean, so one huge year-end export
// does not make every ordinary day look small.
func Suspicious(size int64, recent []int64, ratio float64) (bool, int64) {
	if ratio < 0 || len(recent) < minHistory {
		return false, 0
	}
	if ratio == 0 {
		ratio = DefaultMinSizeRatio
	}
	if len(recent) > Window {
		recent = recent[len(recent)-Window:]
	}
	s := slices.Clone(recent)
	slices.Sort(s)
	median := s[len(s)/2]
	if len(s)%2 == 0 {
		median = s[len(s)/2-1] + (s[len(s)/2]-s[len(s)/2-1])/2
	}
	return float64(size) < ratio*float64(median), median
}
