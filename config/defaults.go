package config

import (
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Destination types.
const (
	TypeLocal    = "local"
	TypeGDrive   = "gdrive"
	TypeDropbox  = "dropbox"
	TypeOneDrive = "onedrive"
	TypeEmail    = "email"
)

// Notification events a notify target can subscribe to.
const (
	EventFailure   = "failure"   // a job failed AlertAfter times, went dead, or a destination paused
	EventRecovered = "recovered" // a failing destination or watch works again
	EventMissed    = "missed"    // no new backup within expect_every / by expect_cron, or a suspiciously small one
	EventReport    = "report"    // the summary after each upload run or daily, see Config.Report
	EventWeekly    = "weekly"    // the weekly summary
)

// Report values.
const (
	ReportRun   = "run"
	ReportDaily = "daily"
	ReportOff   = "off"
)

// Defaults filled in for keys the file leaves out.
const (
	DefaultLogLevel     = "info"
	DefaultWorkers      = 2
	DefaultReport       = ReportRun
	DefaultSettle       = Duration(5 * time.Second)
	DefaultRescan       = Duration(10 * time.Minute)
	DefaultMinSizeRatio = 0.2
	DefaultRetryInitial = Duration(2 * time.Second)
	DefaultRetryMax     = Duration(time.Hour)
	DefaultAlertAfter   = 5
	DefaultDrillEvery   = Duration(30 * 24 * time.Hour) // a test restore a month
	DefaultDrillSample  = 2
	DefaultTenant       = "common"              // onedrive: personal and work accounts
	DefaultTimeout      = Duration(time.Minute) // cloud: no answer or no byte moving this long = stalled
	MinTimeout          = Duration(time.Second)
	DefaultMaxMailSize  = 18 * MiB // email: a 25 MB provider limit after base64
	DefaultFileName     = "offsite.yaml"
	AppName             = "offsite"

	DefaultGDriveChunk   = 8 * MiB
	DefaultDropboxChunk  = 8 * MiB
	DefaultOneDriveChunk = 10 * MiB

	// Each service accepts only chunks that are a multiple of its unit.
	GDriveChunkMultiple   = 256 * KiB
	DropboxChunkMultiple  = 4 * MiB
	OneDriveChunkMultiple = 320 * KiB
	// Upper limits the services put on one chunk (Graph: under 60 MiB; Dropbox: 150 MiB).
	DropboxChunkMax  = 148 * MiB // the largest 4 MiB multiple not above 150 MiB
	OneDriveChunkMax = 60*MiB - OneDriveChunkMultiple
	GDriveChunkMax   = 1 * GiB // memory use is bounded by the chunk; larger is surely a typo
)

// DefaultNotifyOn returns the events a notify entry without `on` receives:
// all but report, which would mail after every upload run.
func DefaultNotifyOn() []string {
	return []string{EventFailure, EventRecovered, EventMissed, EventWeekly}
}

// Events lists every event name, in documentation order.
func Events() []string {
	return []string{EventFailure, EventRecovered, EventMissed, EventReport, EventWeekly}
}

// DefaultChunkSize is the chunk size of a destination type, 0 for local.
func DefaultChunkSize(typ string) Size {
	switch typ {
	case TypeGDrive:
		return DefaultGDriveChunk
	case TypeDropbox:
		return DefaultDropboxChunk
	case TypeOneDrive:
		return DefaultOneDriveChunk
	}
	return 0
}

// DefaultStateDir is the OS app-data folder for offsite's state: Windows
// %ProgramData%\offsite, macOS ~/Library/Application Support/offsite, others
// $XDG_STATE_HOME/offsite or ~/.local/state/offsite.
func DefaultStateDir() string {
	home, _ := os.UserHomeDir()
	return defaultStateDir(runtime.GOOS, os.Getenv, home)
}

func defaultStateDir(goos string, getenv func(string) string, home string) string {
	switch goos {
	case "windows":
		if pd := getenv("ProgramData"); pd != "" {
			return filepath.Join(pd, AppName)
		}
		return filepath.Join(`C:\ProgramData`, AppName)
	case "darwin":
		return filepath.Join(home, "Library", "Application Support", AppName)
	}
	if x := getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, AppName)
	}
	return filepath.Join(home, ".local", "state", AppName)
}

// applyDefaults fills in every key the file left out. set reports whether a
// key path was written in the file, so an explicit 0 (min_size_ratio: 0
// turns the check off) is kept.
func (c *Config) applyDefaults(set func(path string) bool) {
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir()
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if !set("workers") {
		c.Workers = DefaultWorkers
	}
	if c.Report == "" {
		c.Report = DefaultReport
	}
	if !set("retry.initial") {
		c.Retry.Initial = DefaultRetryInitial
	}
	if !set("retry.max") {
		c.Retry.Max = DefaultRetryMax
	}
	if !set("retry.alert_after") {
		c.Retry.AlertAfter = DefaultAlertAfter
	}
	if !set("drill.every") {
		c.Drill.Every = DefaultDrillEvery
	}
	if !set("drill.sample") {
		c.Drill.Sample = DefaultDrillSample
	}
	for i := range c.Watches {
		w := &c.Watches[i]
		p := index("watches", i)
		if !set(p + ".settle") {
			w.Settle = DefaultSettle
		}
		if !set(p + ".rescan") {
			w.Rescan = DefaultRescan
		}
		if !set(p + ".min_size_ratio") {
			w.MinSizeRatio = DefaultMinSizeRatio
		}
	}
	for i := range c.Destinations {
		d := &c.Destinations[i]
		if d.TokenFile == "" && d.UsesOAuth() && d.Name != "" {
			d.TokenFile = d.Name + "-token.json"
		}
		if !set(index("destinations", i) + ".chunk_size") {
			d.ChunkSize = DefaultChunkSize(d.Type)
		}
		if d.Type == TypeEmail && !set(index("destinations", i)+".max_size") {
			d.MaxSize = DefaultMaxMailSize
		}
		if d.Compress == "" {
			d.Compress = CompressOff
		}
		if d.Type == TypeOneDrive && d.Tenant == "" {
			d.Tenant = DefaultTenant
		}
		if d.IsCloud() && !set(index("destinations", i)+".timeout") {
			d.Timeout = DefaultTimeout
		}
	}
	for i := range c.Notify {
		if !set(index("notify", i) + ".on") {
			c.Notify[i].On = DefaultNotifyOn()
		}
	}
	for i := range c.Schedules {
		if s := &c.Schedules[i]; s.Folder == "" {
			s.Folder = s.Name
		}
	}
}
