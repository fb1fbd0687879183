package buildinfo

import (
	"strings"
	"testing"
)

// TestStampedValuesWin: a release build's stamps are what it reports,
// whatever the toolchain recorded.
func TestStampedValuesWin(t *testing.T) {
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "v1.2.3", "abc123", "2026-12-01T10:00:00Z"
	b := Read()
	if b.Version != "v1.2.3" || b.Commit != "abc123" || b.Date != "2026-12-01T10:00:00Z" {
		t.Fatalf("read %+v", b)
	}
	if s := b.String(); !strings.HasPrefix(s, "offsite v1.2.3\ncommit: abc123\n") {
		t.Fatalf("printed %q", s)
	}
}
