// Package buildinfo says which build this binary is: the version, commit
// and date stamped by the release build, or what the Go toolchain recorded.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Stamped by `make build` and scripts/dist.sh with -ldflags "-X
// github.com/offsite-backup/offsite/internal/buildinfo.version=…" (and
// .commit, .date).
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// Info is what this binary knows about its own build.
type Info struct {
	Version, Commit, Date string
	Modified              bool
}

// Read returns the stamped values; a plain `go build` or
// `go install` leaves them at "dev", and then the Go toolchain's own record
// (module version, VCS revision and commit time) fills what it can.
func Read() Info {
	b := Info{Version: version, Commit: commit, Date: date}
	if version != "dev" {
		return b
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Date = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	if b.Modified && b.Commit != commit {
		b.Commit += "-dirty"
	}
	return b
}

// String is what `offsite version` prints.
func (b Info) String() string {
	return fmt.Sprintf("offsite %s\ncommit: %s\ndate:   %s\ngo:     %s %s/%s\n",
		b.Version, b.Commit, b.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
