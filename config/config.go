// Package config loads offsite's YAML configuration, fills in defaults and
// validates it, so that every problem is reported at once with the file, the
// line, the key and a way to fix it.
package config

import (
	"path/filepath"
	"strings"
	"time"
)

// Config is one offsite.yaml. Load and Parse return it with defaults filled
// in and every path absolute.
type Config struct {
	File         string        `yaml:"-"`         // the path it was loaded from (not a key)
	StateDir     string        `yaml:"state_dir"` // queue database, tokens, spool
	LogLevel     string        `yaml:"log_level"` // debug|info|warn|error
	HTTP         string        `yaml:"http"`      // loopback listener for the status page, /metrics and /healthz
	Workers      int           `yaml:"workers"`   // concurrent uploads
	Bandwidth    Rate          `yaml:"bandwidth"` // global upload cap, 0 = none
	Watches      []Watch       `yaml:"watches"`
	Destinations []Destination `yaml:"destinations"`
	Retry        Retry         `yaml:"retry"`
	Notify       []Notify      `yaml:"notify"`
	Healthcheck  []string      `yaml:"healthcheck"` // ping URLs: URL, URL/start, URL/fail
	Report       string        `yaml:"report"`      // run|daily|off
	Schedules    []Schedule    `yaml:"schedules"`
	Drill        Drill         `yaml:"drill"` // test restores run by the daemon

	// lines maps key paths ("watches[0].settle") to the line they were
	// read from, so Validate can point at the line of each problem.
	lines map[string]int
	// env maps key paths to the ${VARS} their values came from, so
	// Validate's errors name a variable instead of echoing its value.
	env map[string][]envUse
}

// Watch is one backup folder and where its files go.
type Watch struct {
	Name         string   `yaml:"name"`
	Path         string   `yaml:"path"`
	Include      []string `yaml:"include"` // glob patterns on the file name; empty = every file
	Exclude      []string `yaml:"exclude"`
	Recursive    bool     `yaml:"recursive"`
	Settle       Duration `yaml:"settle"`         // unchanged this long = complete
	Rescan       Duration `yaml:"rescan"`         // full scan interval
	Poll         Duration `yaml:"poll"`           // 0 = filesystem events
	ExpectEvery  Duration `yaml:"expect_every"`   // missed-backup window, 0 = off
	ExpectCron   string   `yaml:"expect_cron"`    // alternative to expect_every
	Timezone     string   `yaml:"timezone"`       // for expect_cron, default local
	MinSizeRatio float64  `yaml:"min_size_ratio"` // suspiciously-small alert below this × median of last 7; 0 = off
	Destinations []string `yaml:"destinations"`
}

// Destination is one place files are uploaded to.
type Destination struct {
	Name         string   `yaml:"name"`
	Type         string   `yaml:"type"`           // local|gdrive|dropbox|onedrive|email
	Path         string   `yaml:"path"`           // local: the folder
	Folder       string   `yaml:"folder"`         // cloud: folder under the account root; "" = root
	TokenFile    string   `yaml:"token_file"`     // relative to StateDir
	ClientID     string   `yaml:"client_id"`      // cloud: the shop's own OAuth client
	ClientSecret string   `yaml:"client_secret"`  // never printed
	Endpoint     string   `yaml:"endpoint"`       // optional service root (emulators)
	Tenant       string   `yaml:"tenant"`         // onedrive
	DriveID      string   `yaml:"drive_id"`       // onedrive
	ChunkSize    Size     `yaml:"chunk_size"`     // cloud: resumable upload chunk
	ChunkSizeMax Size     `yaml:"chunk_size_max"` // gdrive, onedrive: the largest a chunk grows to; 0 = the service's largest
	Timeout      Duration `yaml:"timeout"`        // cloud: give up a call after this long without an answer or a byte moving
	Window       string   `yaml:"window"`         // "19:00-07:00": uploads only inside it
	Bandwidth    Rate     `yaml:"bandwidth"`      // per-destination cap, 0 = none
	Keep         Keep     `yaml:"keep"`           // remote retention; zero = keep everything
	Timezone     string   `yaml:"timezone"`       // for window and keep days, default local
	URL          string   `yaml:"url"`            // email: smtp://user:password@host:port/?from=…&to=…; never printed
	MaxSize      Size     `yaml:"max_size"`       // email: larger files are refused, not sent
	Compress     string   `yaml:"compress"`       // off|zstd
	Encrypt      Encrypt  `yaml:"encrypt"`        // age; zero = stored as it is
}

// Encrypt is how a destination's files are encrypted with age: to public
// keys (the shop PC never holds a private key) or with a passphrase.
type Encrypt struct {
	Recipients []string `yaml:"recipients"` // age X25519 public keys, age1…
	Passphrase string   `yaml:"passphrase"` // age scrypt; never printed
}

// Compress values.
const (
	CompressOff  = "off"
	CompressZstd = "zstd"
)

// Retry is the queue's slow retry schedule.
type Retry struct {
	Initial    Duration `yaml:"initial"`
	Max        Duration `yaml:"max"`
	AlertAfter int      `yaml:"alert_after"` // failed attempts before a notification; the job stays queued
}

// Notify is one notification target.
type Notify struct {
	URL string   `yaml:"url"` // never printed with its password
	On  []string `yaml:"on"`  // events, see Events
}

// Schedule copies the newest file of a watch on a timetable, such as a
// weekly copy kept for a year.
type Schedule struct {
	Name         string   `yaml:"name"`
	Cron         string   `yaml:"cron"`
	Timezone     string   `yaml:"timezone"`
	CopyLatest   string   `yaml:"copy_latest"` // a watch name
	Destinations []string `yaml:"destinations"`
	Folder       string   `yaml:"folder"` // under each destination's root; default the schedule name
	Keep         Keep     `yaml:"keep"`
	Verify       bool     `yaml:"verify"` // download and compare the hash after the copy
}

// Drill is how often the daemon test-restores stored backups.
type Drill struct {
	Every  Duration `yaml:"every"`  // 0 = off
	Sample int      `yaml:"sample"` // older backups drawn at random, besides each watch's newest
}

// Keep is a retention policy: the newest Last files, plus the newest file of
// each of the last Daily days, Weekly weeks and Monthly months. All zero
// keeps everything.
type Keep struct {
	Last    int `yaml:"last"`
	Daily   int `yaml:"daily"`
	Weekly  int `yaml:"weekly"`
	Monthly int `yaml:"monthly"`
}

// IsZero reports whether k keeps everything.
func (k Keep) IsZero() bool { return k == Keep{} }

// Destination returns the destination called name, or nil.
func (c *Config) Destination(name string) *Destination {
	for i := range c.Destinations {
		if c.Destinations[i].Name == name {
			return &c.Destinations[i]
		}
	}
	return nil
}

// Watch returns the watch called name, or nil.
func (c *Config) Watch(name string) *Watch {
	for i := range c.Watches {
		if c.Watches[i].Name == name {
			return &c.Watches[i]
		}
	}
	return nil
}

// Schedule returns the schedule called name, or nil.
func (c *Config) Schedule(name string) *Schedule {
	for i := range c.Schedules {
		if c.Schedules[i].Name == name {
			return &c.Schedules[i]
		}
	}
	return nil
}

// TokenPath is where the destination's OAuth token lives: token_file, made
// absolute against stateDir, defaulting to "<name>-token.json".
func (d Destination) TokenPath(stateDir string) string {
	f := d.TokenFile
	if f == "" {
		f = d.Name + "-token.json"
	}
	if filepath.IsAbs(f) {
		return filepath.Clean(f)
	}
	return filepath.Join(stateDir, f)
}

// IsCloud reports whether the destination is an online service.
func (d Destination) IsCloud() bool { return d.Type != TypeLocal }

// UsesOAuth reports whether the destination logs in with a token file.
func (d Destination) UsesOAuth() bool {
	return d.Type == TypeGDrive || d.Type == TypeDropbox || d.Type == TypeOneDrive
}

// Location is the destination's time zone; a validated config never fails here.
func (d Destination) Location() *time.Location { return location(d.Timezone) }

// InWindow reports whether uploads to d may run at t. Without a window they
// always may.
func (d Destination) InWindow(t time.Time) bool {
	if strings.TrimSpace(d.Window) == "" {
		return true
	}
	w, err := ParseWindow(d.Window)
	if err != nil {
		return true // Validate rejects it; an unvalidated config must not stop uploads forever
	}
	return w.Contains(t.In(d.Location()))
}

// Location is the watch's time zone for expect_cron.
func (w Watch) Location() *time.Location { return location(w.Timezone) }

// Location is the schedule's time zone.
func (s Schedule) Location() *time.Location { return location(s.Timezone) }

func location(name string) *time.Location {
	if name == "" || name == "Local" {
		return time.Local
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.Local
	}
	return loc
}
