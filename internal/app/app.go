// Package app wires offsite's parts from a loaded config: the state
// folder, the queue, each destination's provider, the watcher, the
// notifier and the daemon. cmd/offsite only parses flags and calls it.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/daemon"
	"github.com/offsite-backup/offsite/internal/statelock"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/dropbox"
	"github.com/offsite-backup/offsite/providers/gdrive"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/providers/onedrive"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/watcher"
)

// App is an opened state folder with its config.
type App struct {
	Cfg   *config.Config
	Store *queue.Store
	Log   *slog.Logger
	lock  *statelock.Lock
	bw    *bandwidth // upload rate buckets, shared by every upload of this process
	// daemon is set by Run: uploads then keep to their destinations' windows.
	daemon bool
	// intake is set by Run: backups the queue could not take yet.
	intake func() (daemon.IntakeTrouble, bool)
}

// Open loads the config at path and opens the queue. With exclusive set it
// first takes the state lock, failing when another daemon holds it.
func Open(path string, log *slog.Logger, exclusive string) (*App, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return OpenConfig(cfg, log, exclusive)
}

// OpenConfig is Open for a config already loaded.
func OpenConfig(cfg *config.Config, log *slog.Logger, exclusive string) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	a := &App{Cfg: cfg, Log: log, bw: newBandwidth(cfg)}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state folder %s: %w", cfg.StateDir, err)
	}
	if exclusive != "" {
		l, err := statelock.Acquire(cfg.StateDir, exclusive)
		if err != nil {
			return nil, err
		}
		a.lock = l
	}
	st, err := queue.Open(filepath.Join(cfg.StateDir, "queue.db"))
	if err != nil {
		_ = a.lock.Release() // the open failed; that error is the one to report
		return nil, err
	}
	a.Store = st
	return a, nil
}

// Close releases everything Open took.
func (a *App) Close() error {
	return errors.Join(a.Store.Close(), a.lock.Release())
}

// owner names this installation in temp files it leaves at destinations.
func (a *App) owner() string {
	sum := sha256.Sum256([]byte(a.Cfg.StateDir))
	return hex.EncodeToString(sum[:4])
}

// Provider builds one destination's provider, wrapped with the retry
// decorator; the pacer is shared with the adapter's own chunk retries.
func (a *App) Provider(ctx context.Context, d *config.Destination) (providers.Provider, error) {
	pacer := &retry.Pacer{}
	// Seconds-scale retries of one call or chunk, inside the adapters. The
	// config's retry.initial and retry.max, meant for the queue's slow
	// retries, only ever shorten them.
	call := retry.DefaultPolicy
	if r := time.Duration(a.Cfg.Retry.Initial); r > 0 && r < call.Initial {
		call.Initial = r
	}
	if m := time.Duration(a.Cfg.Retry.Max); m > 0 && m < call.Max {
		call.Max = m
	}
	// A longer Retry-After pauses the destination instead (daemon).
	if m := time.Duration(a.Cfg.Retry.Max); m > 0 {
		call.MaxRetryAfter = m
	}
	call.Report = func(attempt int, err error, wait time.Duration) {
		a.Log.Debug("retrying", "destination", d.Name, "attempt", attempt, "wait", wait, "err", err)
	}
	var p providers.Provider
	var err error
	token := d.TokenPath(a.Cfg.StateDir)
	switch d.Type {
	case "local":
		p = local.New(local.Config{Root: d.Path, Owner: a.owner()})
	case "gdrive":
		p, err = gdrive.New(ctx, gdrive.Config{Name: d.Name, Folder: d.Folder, TokenFile: token, ClientID: d.ClientID,
			ClientSecret: d.ClientSecret, Endpoint: d.Endpoint, ChunkSize: int64(d.ChunkSize), Timeout: time.Duration(d.Timeout), Pacer: pacer, Policy: call})
	case "dropbox":
		p, err = dropbox.New(ctx, dropbox.Config{Name: d.Name, Folder: d.Folder, TokenFile: token, ClientID: d.ClientID,
			ClientSecret: d.ClientSecret, Endpoint: d.Endpoint, ChunkSize: int64(d.ChunkSize), Timeout: time.Duration(d.Timeout), Pacer: pacer, Policy: call})
	case "onedrive":
		p, err = onedrive.New(ctx, onedrive.Config{Name: d.Name, Folder: d.Folder, TokenFile: token, ClientID: d.ClientID,
			ClientSecret: d.ClientSecret, Endpoint: d.Endpoint, Tenant: d.Tenant, DriveID: d.DriveID,
			ChunkSize: int64(d.ChunkSize), Timeout: time.Duration(d.Timeout), Pacer: pacer, Policy: call, Logger: a.Log})
	default:
		return nil, fmt.Errorf("destination %s: unknown type %q", d.Name, d.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", d.Name, err)
	}
	// The decorator retries a whole operation once more (a resumable upload
	// continues its session); adapters already retried each call, and the
	// queue owns everything slower, so the counts do not multiply.
	// Inside the retry wrapper, so every attempt meets the quota check,
	// the upload window and the bandwidth limits.
	p = a.guard(p, d, a.bw)
	whole := call
	whole.Attempts = 2
	return retry.New(p, whole, pacer), nil
}

// Destinations builds every configured destination. Cloud adapters are
// built lazily (see lazy): one that cannot log in yet holds its own jobs
// while the other destinations keep working.
func (a *App) Destinations(ctx context.Context) []*daemon.Destination {
	var out []*daemon.Destination
	for i := range a.Cfg.Destinations {
		d := &a.Cfg.Destinations[i]
		var p providers.Provider
		if d.Type == "local" {
			lp, err := a.Provider(ctx, d)
			if err != nil {
				a.Log.Error("destination unusable", "destination", d.Name, "err", err)
				continue
			}
			if l, ok := unwrap(lp).(*local.Client); ok {
				if n, err := l.Sweep(ctx); err == nil && n > 0 {
					a.Log.Info("removed partial files left by an earlier crash", "destination", d.Name, "files", n)
				}
			}
			p = lp
		} else {
			p = &lazy{kind: hashKindFor(d.Type), build: func(ctx context.Context) (providers.Provider, error) { return a.Provider(ctx, d) }}
		}
		out = append(out, &daemon.Destination{Name: d.Name, Type: d.Type, Provider: p, Open: windowFunc(d)})
	}
	return out
}

func unwrap(p providers.Provider) providers.Provider {
	for {
		u, ok := p.(interface{ Unwrap() providers.Provider })
		if !ok {
			return p
		}
		p = u.Unwrap()
	}
}

func hashKindFor(typ string) providers.HashKind {
	switch typ {
	case "gdrive":
		return providers.MD5
	case "dropbox":
		return providers.ContentHash
	case "onedrive":
		return providers.QuickXor
	}
	return providers.SHA256
}

// nameRulesFor returns the name rules of an adapter type, known before
// the adapter is built (a destination not logged in yet is built later).
func nameRulesFor(typ string) providers.NameRules {
	switch typ {
	case "local":
		return local.Names
	case "gdrive":
		return gdrive.Names
	case "dropbox":
		return dropbox.Names
	case "onedrive":
		return onedrive.Names
	}
	return providers.NameRules{}
}

// reserveNames tells the queue how each destination compares names, so
// two files never get one name there.
func (a *App) reserveNames(ctx context.Context, dests []*daemon.Destination) error {
	for _, d := range dests {
		if err := a.Store.SetNameKey(ctx, d.Name, nameRulesFor(d.Type).Key); err != nil {
			return err
		}
	}
	return nil
}

// windowFunc returns the destination's upload window check, or nil.
func windowFunc(d *config.Destination) func(time.Time) bool {
	if d.Window == "" {
		return nil
	}
	return d.InWindow
}

// Watches returns the daemon's routing table and the watcher's configs.
func (a *App) Watches() ([]daemon.Watch, []watcher.Config) {
	var routes []daemon.Watch
	var cfgs []watcher.Config
	for _, w := range a.Cfg.Watches {
		routes = append(routes, daemon.Watch{Name: w.Name, Path: w.Path, Destinations: w.Destinations})
		cfgs = append(cfgs, watcher.Config{
			Name: w.Name, Path: w.Path, Include: w.Include, Exclude: w.Exclude, Recursive: w.Recursive,
			Settle: time.Duration(w.Settle), Rescan: time.Duration(w.Rescan), Poll: time.Duration(w.Poll),
			Ignore: []string{a.Cfg.StateDir},
		})
	}
	return routes, cfgs
}
