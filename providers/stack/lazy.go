// Package stack holds the wrappers composed around a destination's
// adapter, once, into the one provider every caller shares: the adapter,
// its limits (Guard: quota check, upload window, bandwidth), the retry
// decorator with the destination's pacer (providers/retry), and outermost
// the lazy login (Lazy). Each wrapper embeds or forwards the Provider,
// changes only what it is for, and has an Unwrap, so providers.As and
// providers.StreamerOf see through it.
package stack

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

// Lazy builds a destination's adapter on first use and again after a
// Fatal login error, so `offsite auth NAME` run while the service is up
// takes effect without a restart, and a destination not logged in yet at
// start-up neither stops the others nor needs a restart later. Until it
// can be built, every call fails Fatal with the build error, which holds
// its jobs and raises one alert.
type Lazy struct {
	build func(context.Context) (providers.Provider, error)
	kind  providers.HashKind

	mu      sync.Mutex
	p       providers.Provider
	lastErr error
	lastTry time.Time
}

var _ providers.Provider = (*Lazy)(nil)

// NewLazy is a provider of hash kind whose adapter build makes on first
// use.
func NewLazy(kind providers.HashKind, build func(context.Context) (providers.Provider, error)) *Lazy {
	return &Lazy{kind: kind, build: build}
}

// Built returns the adapter, building it now if it is not yet: a
// destination that needs no login is built at start-up, so a type that
// cannot be is reported then.
func (l *Lazy) Built(ctx context.Context) (providers.Provider, error) { return l.get(ctx) }

func (l *Lazy) get(ctx context.Context) (providers.Provider, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.p != nil {
		return l.p, nil
	}
	if l.lastErr != nil && time.Since(l.lastTry) < 10*time.Second {
		return nil, l.lastErr
	}
	l.lastTry = time.Now()
	p, err := l.build(ctx)
	if err != nil {
		if providers.KindOf(err) != providers.Fatal {
			err = &providers.Error{Kind: providers.Fatal, Reason: providers.ReasonOf(err), Hint: providers.HintOf(err), Err: err}
		}
		l.lastErr = err
		return nil, err
	}
	l.p, l.lastErr = p, nil
	return p, nil
}

// check forgets the adapter after a refused login, so the next call reads
// the token file again.
func (l *Lazy) check(err error) error {
	if providers.KindOf(err) == providers.Fatal && providers.ReasonOf(err) == providers.ReasonAuth {
		l.mu.Lock()
		_ = providers.CloseOf(l.p) // the login was refused; nothing of it is worth keeping
		l.p = nil
		l.mu.Unlock()
	}
	return err
}

func (l *Lazy) Unwrap() providers.Provider {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.p
}

func (l *Lazy) HashKind() providers.HashKind { return l.kind }

func (l *Lazy) Put(ctx context.Context, path string, r io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	p, err := l.get(ctx)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	rf, err := p.Put(ctx, path, r, size, o)
	return rf, l.check(err)
}

var _ providers.Streamer = (*Lazy)(nil)

func (l *Lazy) PutStream(ctx context.Context, path string, r io.Reader, o providers.PutOptions) (providers.RemoteFile, error) {
	p, err := l.get(ctx)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	s, ok := providers.StreamerOf(p)
	if !ok {
		return providers.RemoteFile{}, providers.ErrNoStream
	}
	rf, err := s.PutStream(ctx, path, r, o)
	return rf, l.check(err)
}

func (l *Lazy) Stat(ctx context.Context, path string) (providers.RemoteFile, error) {
	p, err := l.get(ctx)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	rf, err := p.Stat(ctx, path)
	return rf, l.check(err)
}

func (l *Lazy) List(ctx context.Context, dir string) ([]providers.RemoteFile, error) {
	p, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	out, err := p.List(ctx, dir)
	return out, l.check(err)
}

func (l *Lazy) Delete(ctx context.Context, path string) error {
	p, err := l.get(ctx)
	if err != nil {
		return err
	}
	return l.check(p.Delete(ctx, path))
}

func (l *Lazy) Get(ctx context.Context, path string) (io.ReadCloser, error) {
	p, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	rc, err := p.Get(ctx, path)
	return rc, l.check(err)
}

func (l *Lazy) Quota(ctx context.Context) (used, total int64, err error) {
	p, err := l.get(ctx)
	if err != nil {
		return 0, 0, err
	}
	used, total, err = providers.QuotaOf(ctx, p)
	return used, total, l.check(err)
}

// Close releases the adapter, when one was built.
func (l *Lazy) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := providers.CloseOf(l.p)
	l.p = nil
	return err
}
