package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Stamped at release build time by scripts/dist.sh with
// -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// buildInfo is what this binary knows about its own build.
type buildInfo struct {
	Version, Commit, Date string
	Modified              bool
}

// readBuildInfo returns the stamped values; a plain `go build` or
// `go install` leaves them at "dev", and then the Go toolchain's own record
// (module version, VCS revision and commit time) fills what it can.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date}
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

func (b buildInfo) String() string {
	return fmt.Sprintf("offsite %s\ncommit: %s\ndate:   %s\ngo:     %s %s/%s\n",
		b.Version, b.Commit, b.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func cmdVersion(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(g.stdout, readBuildInfo())
			return err
		},
	}
}
