package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written the Go way: "5s", "26h", "1h30m".
type Duration time.Duration

// Size is a number of bytes written as "10MiB", "512KiB", "1GB" or plain bytes.
type Size int64

// Rate is bytes per second written as "2MiB/s" or "500KB/s"; 0 means no limit.
type Rate int64

// Binary and decimal size units.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
	KB  Size = 1000
	MB  Size = 1000 * KB
	GB  Size = 1000 * MB
	TB  Size = 1000 * GB
)

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d so that UnmarshalText reads it back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration; negative durations are rejected.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration parses a non-negative Go duration ("90s", "26h", "1h30m").
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	v, err := time.ParseDuration(s)
	if err != nil {
		if l := strings.ToLower(s); strings.HasSuffix(l, "d") || strings.Contains(l, "day") {
			return 0, fmt.Errorf("%q is not a duration: there is no day unit; write hours, such as 48h for two days", s)
		}
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, fmt.Errorf("%q is not a duration: it needs a unit, such as %ss or %sm", s, s, s)
		}
		return 0, fmt.Errorf("%q is not a duration; write a number with a unit (s, m, h), such as 5s, 10m or 1h30m", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative; durations must be 0 or more", s)
	}
	return Duration(v), nil
}

// String writes s in the largest binary unit that divides it exactly.
func (s Size) String() string {
	for _, u := range []struct {
		n    Size
		name string
	}{{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}} {
		if s != 0 && s%u.n == 0 {
			return strconv.FormatInt(int64(s/u.n), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalText writes s so that UnmarshalText reads it back.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a size, see ParseSize.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

var errSizeSyntax = errors.New("bad size")

// ParseSize parses "10MiB", "512KiB", "1.5GB", "4096" (bytes). Units are
// case-insensitive: KiB MiB GiB TiB are powers of 1024, KB MB GB TB of 1000.
func ParseSize(s string) (Size, error) {
	v, err := parseBytes(s)
	switch {
	case errors.Is(err, errSizeSyntax):
		return 0, fmt.Errorf("%q is not a size; write a number with a unit, such as 10MiB, 512KiB or 1GB, or plain bytes", strings.TrimSpace(s))
	case err != nil:
		return 0, fmt.Errorf("%q is not a size: %w", strings.TrimSpace(s), err)
	}
	return v, nil
}

func parseBytes(s string) (Size, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	if num == "" || strings.Count(num, ".") > 1 || strings.HasPrefix(num, ".") || strings.HasSuffix(num, ".") {
		return 0, errSizeSyntax
	}
	mult, ok := map[string]Size{
		"": 1, "b": 1,
		"kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB,
		"kb": KB, "mb": MB, "gb": GB, "tb": TB,
	}[strings.ToLower(unit)]
	if !ok {
		switch strings.ToLower(unit) {
		case "k", "m", "g", "t":
			return 0, fmt.Errorf("%s is ambiguous; write %siB (1024-based) or %sB (1000-based)", unit, strings.ToUpper(unit), strings.ToUpper(unit))
		case "kbit", "mbit", "gbit", "kbps", "mbps", "gbps", "kbit/s", "mbit/s", "gbit/s":
			return 0, errors.New("sizes are in bytes, not bits: 8 Mbit is 1MB")
		}
		return 0, errSizeSyntax
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/int64(mult) {
			return 0, errors.New("it is too large")
		}
		return Size(n) * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, errSizeSyntax
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, errors.New("it is too large")
	}
	return Size(math.Round(v)), nil
}

func (r Rate) String() string {
	if r == 0 {
		return "0"
	}
	return Size(r).String() + "/s"
}

// MarshalText writes r so that UnmarshalText reads it back.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses a rate, see ParseRate.
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ParseRate parses bytes per second: "2MiB/s", "500KB/s", "4096/s" or "0"
// for no limit. The "/s" is required so a bare "2" cannot mean 2 bytes a
// second by accident.
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	lower := strings.ToLower(t)
	if strings.HasSuffix(lower, "bps") || strings.HasSuffix(lower, "bit/s") {
		return 0, fmt.Errorf("%q is in bits; rates are in bytes per second: 8 Mbit/s is 1MB/s", t)
	}
	num, ok := strings.CutSuffix(lower, "/s")
	if !ok {
		return 0, fmt.Errorf("%q is not a rate; write bytes per second with /s, such as 2MiB/s or 500KB/s (0 = no limit)", t)
	}
	v, err := parseBytes(t[:len(num)])
	if err != nil {
		return 0, fmt.Errorf("%q is not a rate; write bytes per second with /s, such as 2MiB/s or 500KB/s (0 = no limit)", t)
	}
	return Rate(v), nil
}

// Window is a daily upload window; End before Start wraps past midnight.
type Window struct {
	Start, End time.Duration // since midnight
}

// ParseWindow parses "HH:MM-HH:MM" in 24-hour time, such as "19:00-07:00".
func ParseWindow(s string) (Window, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Window{}, fmt.Errorf("%q is not a window; write START-END in 24-hour time, such as 19:00-07:00", s)
	}
	start, err := parseClock(a)
	end, err2 := parseClock(b)
	if err == nil {
		err = err2
	}
	if err != nil {
		return Window{}, fmt.Errorf("%q is not a window: %w; write START-END in 24-hour time, such as 19:00-07:00", s, err)
	}
	if start == end {
		return Window{}, fmt.Errorf("window %q starts when it ends; remove window to allow uploads at any time", s)
	}
	return Window{Start: start, End: end}, nil
}

func parseClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || len(h) == 0 || len(h) > 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if hh == 24 && mm == 0 {
		return 24 * time.Hour, nil
	}
	if hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// Contains reports whether the wall-clock time of t falls inside w. The
// start is inside, the end is not.
func (w Window) Contains(t time.Time) bool {
	h, m, s := t.Clock()
	now := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	if w.Start < w.End {
		return now >= w.Start && now < w.End
	}
	return now >= w.Start || now < w.End
}
