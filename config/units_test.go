package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"5s", 5 * time.Second, ""},
		{"26h", 26 * time.Hour, ""},
		{"1h30m", 90 * time.Minute, ""},
		{" 0 ", 0, ""},
		{"5", 0, "needs a unit"},
		{"7d", 0, "no day unit"},
		{"2 days", 0, "no day unit"},
		{"-1s", 0, "negative"},
		{"soon", 0, "not a duration"},
	} {
		got, err := ParseDuration(tc.in)
		if tc.err == "" && (err != nil || got.Std() != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error containing %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
		err  string
	}{
		{"10MiB", 10 << 20, ""},
		{"512KiB", 512 << 10, ""},
		{"1GB", 1_000_000_000, ""},
		{"1.5GiB", 3 << 29, ""},
		{"4096", 4096, ""},
		{"100 b", 100, ""},
		{"8mib", 8 << 20, ""},
		{"1TiB", 1 << 40, ""},
		{"8M", 0, "ambiguous"},
		{"8Mbit", 0, "bits"},
		{"-1MiB", 0, "not a size"},
		{"MiB", 0, "not a size"},
		{"1.2.3MB", 0, "not a size"},
		{"10 parsecs", 0, "not a size"},
		{"9999999999TiB", 0, "too large"},
		{"99999999999999999999", 0, "too large"},
	} {
		got, err := ParseSize(tc.in)
		if tc.err == "" && (err != nil || got != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseSize(%q) = %v, %v; want %v, error containing %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rate
		err  string
	}{
		{"2MiB/s", 2 << 20, ""},
		{"500KB/s", 500_000, ""},
		{"4096/s", 4096, ""},
		{"0", 0, ""},
		{"2MiB", 0, "with /s"},
		{"2", 0, "with /s"},
		{"8Mbps", 0, "in bits"},
		{"8Mbit/s", 0, "in bits"},
		{"fast/s", 0, "not a rate"},
	} {
		got, err := ParseRate(tc.in)
		if tc.err == "" && (err != nil || got != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error containing %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestUnitStringsRoundTrip(t *testing.T) {
	for _, s := range []Size{0, 1, 1023, KiB, 8 * MiB, 10 * MiB, 320 * KiB, 3 * GiB, 5 * TiB, 1_000_000} {
		got, err := ParseSize(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", s.String(), got, err, s)
		}
	}
	for _, r := range []Rate{0, 2 * Rate(MiB), 500_000} {
		got, err := ParseRate(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", r.String(), got, err, r)
		}
	}
	if got := (8 * MiB).String(); got != "8MiB" {
		t.Errorf("String = %q, want 8MiB", got)
	}
}

func TestWindow(t *testing.T) {
	day := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		window string
		at     time.Time
		want   bool
	}{
		{"19:00-07:00", day(23, 0), true},
		{"19:00-07:00", day(3, 0), true},
		{"19:00-07:00", day(19, 0), true},
		{"19:00-07:00", day(7, 0), false},
		{"19:00-07:00", day(12, 0), false},
		{"09:00-17:30", day(17, 29), true},
		{"09:00-17:30", day(17, 30), false},
		{"09:00-17:30", day(8, 59), false},
		{"0:00-24:00", day(23, 59), true},
	} {
		w, err := ParseWindow(tc.window)
		if err != nil {
			t.Fatalf("ParseWindow(%q): %v", tc.window, err)
		}
		if got := w.Contains(tc.at); got != tc.want {
			t.Errorf("%s contains %s = %v, want %v", tc.window, tc.at.Format("15:04"), got, tc.want)
		}
	}
	for _, bad := range []string{"19-07", "19:00", "25:00-01:00", "19:60-20:00", "7:5-8:00", "08:00-08:00", ""} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) succeeded, want an error", bad)
		}
	}
}

func TestInWindowUsesTimezone(t *testing.T) {
	d := Destination{Window: "19:00-07:00", Timezone: "Asia/Tokyo"}
	// 12:00 UTC is 21:00 in Tokyo: inside; in UTC it would be outside.
	if !d.InWindow(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)) {
		t.Error("InWindow ignores the destination's timezone")
	}
	if !(Destination{}).InWindow(time.Now()) {
		t.Error("no window must mean always open")
	}
}

func TestDefaultStateDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		goos string
		env  map[string]string
		want string
	}{
		{"windows", map[string]string{"ProgramData": `D:\PD`}, `D:\PD` + "/offsite"},
		{"linux", map[string]string{"XDG_STATE_HOME": "/xdg"}, "/xdg/offsite"},
		{"linux", nil, "/home/u/.local/state/offsite"},
		{"linux", map[string]string{"XDG_STATE_HOME": "relative"}, "/home/u/.local/state/offsite"},
		{"darwin", nil, "/home/u/Library/Application Support/offsite"},
	} {
		got := defaultStateDir(tc.goos, env(tc.env), "/home/u")
		if strings.ReplaceAll(got, `\`, "/") != strings.ReplaceAll(tc.want, `\`, "/") {
			t.Errorf("%s %v: %q, want %q", tc.goos, tc.env, got, tc.want)
		}
	}
}
