// Package app wires offsite's parts from a loaded config: the state
// folder, the queue, each destination's provider, the watcher, the
// notifier and the daemon. cmd/offsite only parses flags and calls it.
package app

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/daemon"
	"github.com/offsite-backup/offsite/internal/statelock"
	"github.com/offsite-backup/offsite/providers/registry"
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
	daemon atomic.Bool
	// intake is set by Run: backups the queue could not take yet.
	intake func() (daemon.IntakeTrouble, bool)
	// types describes each destination type; dests holds each configured
	// destination's one provider stack, composed by OpenConfig and shared
	// by the daemon, schedules, prune, verify, restore, push and check.
	types *registry.Registry
	dests map[string]*destination
	// workFactor, when set, is the scrypt work factor of passphrase
	// encryption; tests lower it (age's default takes about a second).
	workFactor int
	// closeLog ends the log file OpenCommand opened, after everything
	// else has closed (and logged).
	closeLog func()
}

// OpenConfig opens the state folder and queue of a loaded config. With
// exclusive set it first takes the state lock, failing when another
// daemon holds it. Commands open offsite through OpenCommand.
func OpenConfig(cfg *config.Config, log *slog.Logger, exclusive string) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	types, err := destinationTypes()
	if err != nil {
		return nil, err
	}
	a := &App{Cfg: cfg, Log: log, bw: newBandwidth(cfg), types: types}
	a.dests = a.composeAll()
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

// Close releases everything OpenConfig took.
func (a *App) Close() error {
	err := errors.Join(a.closeDestinations(), a.Store.Close(), a.lock.Release())
	if a.closeLog != nil {
		a.closeLog()
	}
	return err
}

// owner names this installation in temp files it leaves at destinations.
func (a *App) owner() string {
	sum := sha256.Sum256([]byte(a.Cfg.StateDir))
	return hex.EncodeToString(sum[:4])
}

// Watches returns the daemon's routing table and the watcher's configs.
func (a *App) Watches() ([]daemon.Watch, []watcher.Config) {
	var routes []daemon.Watch
	var cfgs []watcher.Config
	// offsite's own files are never backups: the state folder, and the
	// config, which may hold a passphrase that must not travel with the
	// copies it encrypts.
	own := []string{a.Cfg.StateDir}
	if f, err := filepath.Abs(a.Cfg.File); err == nil && a.Cfg.File != "" {
		own = append(own, f)
	}
	for _, w := range a.Cfg.Watches {
		routes = append(routes, daemon.Watch{Name: w.Name, Path: w.Path, Destinations: w.Destinations})
		cfgs = append(cfgs, watcher.Config{
			Name: w.Name, Path: w.Path, Include: w.Include, Exclude: w.Exclude, Recursive: w.Recursive,
			Settle: time.Duration(w.Settle), Rescan: time.Duration(w.Rescan), Poll: time.Duration(w.Poll),
			Ignore: own,
		})
	}
	return routes, cfgs
}
