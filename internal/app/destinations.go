package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/daemon"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/dropbox"
	"github.com/offsite-backup/offsite/providers/email"
	"github.com/offsite-backup/offsite/providers/gdrive"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/providers/onedrive"
	"github.com/offsite-backup/offsite/providers/registry"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/providers/stack"
	"github.com/offsite-backup/offsite/spool"
)

// destinationTypes is every destination type this build can upload to.
func destinationTypes() (*registry.Registry, error) {
	return registry.New(local.Descriptor(), gdrive.Descriptor(), dropbox.Descriptor(), onedrive.Descriptor(), email.Descriptor())
}

// destination is one configured destination with its one provider stack.
type destination struct {
	cfg  *config.Destination
	desc registry.Descriptor // zero when the type is unknown (see lookup)
	// lookup is why the type is unknown; the config rejects that, so it
	// only shows for a config built without validation.
	lookup error
	p      *stack.Lazy
}

// composeAll builds every destination's stack once. Nothing is dialled:
// the adapter is made on first use (see stack.Lazy).
func (a *App) composeAll() map[string]*destination {
	out := make(map[string]*destination, len(a.Cfg.Destinations))
	for i := range a.Cfg.Destinations {
		d := &a.Cfg.Destinations[i]
		desc, err := a.types.Lookup(d.Type)
		out[d.Name] = &destination{cfg: d, desc: desc, lookup: err, p: a.compose(d, desc, err)}
	}
	return out
}

// compose stacks a destination's provider: the adapter, its limits
// (quota check, upload window, bandwidth), the retry decorator with the
// destination's one pacer, and outermost the lazy login. The pacer is
// made here, once, so every caller of this destination and every rebuild
// of its adapter after a new login keeps to one Retry-After.
func (a *App) compose(d *config.Destination, desc registry.Descriptor, lookupErr error) *stack.Lazy {
	pacer := &retry.Pacer{}
	call := a.callPolicy(d)
	build := func(ctx context.Context) (providers.Provider, error) {
		if lookupErr != nil {
			return nil, fmt.Errorf("destination %s: %w", d.Name, lookupErr)
		}
		p, err := desc.New(ctx, a.settings(d, pacer, call))
		if err != nil {
			return nil, fmt.Errorf("destination %s: %w", d.Name, err)
		}
		// The decorator retries a whole operation once more (a resumable
		// upload continues its session); adapters already retried each
		// call, and the queue owns everything slower, so the counts do not
		// multiply. The guard sits inside it, so every attempt meets the
		// quota check, the upload window and the bandwidth limits.
		whole := call
		whole.Attempts = 2
		limits := stack.Limits{Limiters: a.limiters(d, a.bw), Window: a.uploadWindow(d), Log: a.Log}
		return retry.New(stack.Guard(p, limits), whole, pacer), nil
	}
	return stack.NewLazy(desc.Hash, build)
}

// callPolicy is the seconds-scale retry of one call or chunk, inside the
// adapters. The config's retry.initial and retry.max, meant for the
// queue's slow retries, only ever shorten it.
func (a *App) callPolicy(d *config.Destination) retry.Policy {
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
	return call
}

// settings maps a destination's config onto what the adapters take.
func (a *App) settings(d *config.Destination, pacer *retry.Pacer, call retry.Policy) registry.Settings {
	return registry.Settings{
		Name: d.Name, Path: d.Path, Owner: a.owner(), Folder: d.Folder, TokenFile: d.TokenPath(a.Cfg.StateDir),
		Client:  registry.Client{ID: d.ClientID, Secret: d.ClientSecret, Endpoint: d.Endpoint, Tenant: d.Tenant},
		DriveID: d.DriveID, ChunkSize: int64(d.ChunkSize), MaxChunkSize: int64(d.ChunkSizeMax), Timeout: time.Duration(d.Timeout),
		URL: d.URL, MaxSize: int64(d.MaxSize),
		Pacer: pacer, Policy: call, Logger: a.Log,
	}
}

// Provider returns destination d's one provider stack.
func (a *App) Provider(d *config.Destination) (providers.Provider, error) {
	dst, ok := a.dests[d.Name]
	if !ok {
		return nil, fmt.Errorf("destination %s is not in %s", d.Name, a.Cfg.File)
	}
	return dst.p, nil
}

// sweeper is a destination that can remove partial files an earlier
// crash left behind (the local adapter).
type sweeper interface {
	Sweep(context.Context) (int, error)
}

// Destinations hands the daemon every configured destination. Cloud
// adapters are built on first use (see stack.Lazy): one that cannot log in yet
// holds its own jobs while the other destinations keep working.
func (a *App) Destinations(ctx context.Context) []*daemon.Destination {
	var out []*daemon.Destination
	for i := range a.Cfg.Destinations {
		d := &a.Cfg.Destinations[i]
		dst := a.dests[d.Name]
		if dst.desc.Login == nil {
			// Needs no login: build it now, so a type that cannot be
			// built is reported at start-up, and sweep what a crash left.
			if _, err := dst.p.Built(ctx); err != nil {
				a.Log.Error("destination unusable", "destination", d.Name, "err", err)
				continue
			}
			if s, ok := providers.As[sweeper](dst.p); ok {
				if n, err := s.Sweep(ctx); err == nil && n > 0 {
					a.Log.Info("removed partial files left by an earlier crash", "destination", d.Name, "files", n)
				}
			}
		}
		out = append(out, &daemon.Destination{Name: d.Name, Type: d.Type, Provider: dst.p, Open: windowFunc(d),
			Service: notify.Service{Type: d.Type, Name: dst.desc.Service, Local: dst.desc.Local}, Codec: a.codec(d)})
	}
	return out
}

// closeDestinations releases every adapter that was built.
func (a *App) closeDestinations() error {
	var errs []error
	for _, dst := range a.dests {
		errs = append(errs, dst.p.Close())
	}
	return errors.Join(errs...)
}

// hashKind is the hash a destination's service reports; SHA-256 for a
// destination no longer in the config (its records still carry one).
func (a *App) hashKind(dest string) providers.HashKind {
	if dst, ok := a.dests[dest]; ok && dst.lookup == nil {
		return dst.desc.Hash
	}
	return providers.SHA256
}

// cannot is why dest cannot do op ("listed", "read back", "verified",
// "pruned") when its type only receives files (a mailbox); nil otherwise.
// Asked before the adapter, so the answer is plain even when the
// destination is down or misconfigured.
func (a *App) cannot(dest, op string) error {
	dst, ok := a.dests[dest]
	if !ok || !dst.desc.WriteOnly {
		return nil
	}
	return fmt.Errorf("destination %s (%s) only receives files: it cannot be %s by offsite; to get a backup back, %s",
		dest, dst.desc.Type, op, dst.desc.Retrieve)
}

// logsIn reports whether dest's type logs in with `offsite auth`.
func (a *App) logsIn(dest string) bool {
	dst, ok := a.dests[dest]
	return ok && dst.desc.Login != nil
}

// isLocal reports whether dest is a disk or share of this PC.
func (a *App) isLocal(dest string) bool {
	dst, ok := a.dests[dest]
	return ok && dst.desc.Local
}

// reserveNames tells the queue how each destination compares names, so
// two files never get one name there. The rules are the type's, known
// before a cloud adapter is built (it may not be logged in yet).
func (a *App) reserveNames(ctx context.Context, dests []*daemon.Destination) error {
	for _, d := range dests {
		if err := a.Store.SetNameKey(ctx, d.Name, a.dests[d.Name].desc.Names.Key); err != nil {
			return err
		}
		a.Store.SetForm(d.Name, d.Codec.Suffix())
		if d.Codec.Encrypted() {
			// encrypt: was just added: what waits goes encrypted too.
			n, err := a.Store.Encrypt(ctx, d.Name, d.Codec.Suffix())
			if err != nil {
				return err
			}
			if n > 0 {
				a.Log.Info("waiting uploads will be sent encrypted", "destination", d.Name, "files", n)
			}
		}
	}
	return nil
}

// codec is how d stores its files.
func (a *App) codec(d *config.Destination) codec.Spec {
	s := d.Codec()
	s.WorkFactor = a.workFactor
	return s
}

// spool is where the stored form of compressed or encrypted uploads is
// made and kept until the upload is done.
func (a *App) spool() *spool.Dir { return spool.New(filepath.Join(a.Cfg.StateDir, "spool")) }

// windowFunc returns the destination's upload window check, or nil.
func windowFunc(d *config.Destination) func(time.Time) bool {
	if d.Window == "" {
		return nil
	}
	return d.InWindow
}
