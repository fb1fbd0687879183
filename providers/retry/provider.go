package retry

import (
	"context"
	"io"

	"github.com/offsite-backup/offsite/providers"
)

// Provider wraps another Provider so that every call is retried by Do and
// every upload is checked against the expected hash. Wrap each destination
// once, at start-up.
type Provider struct {
	p      providers.Provider
	policy Policy
	pacer  *Pacer
}

var _ providers.Provider = (*Provider)(nil)

// New wraps p. pacer may be shared with chunk retries inside the adapter;
// nil makes a new one.
func New(p providers.Provider, policy Policy, pacer *Pacer) *Provider {
	if pacer == nil {
		pacer = &Pacer{}
	}
	return &Provider{p: p, policy: policy, pacer: pacer}
}

// Unwrap returns the wrapped provider, for optional interfaces.
func (r *Provider) Unwrap() providers.Provider { return r.p }

// Pacer returns the destination's pacer.
func (r *Provider) Pacer() *Pacer { return r.pacer }

func (r *Provider) HashKind() providers.HashKind { return r.p.HashKind() }

// Put rewinds the body before every attempt and carries the newest session
// state from one attempt into the next, so a retry resumes rather than
// restarts. A stored file whose hash differs from o.Hash (or, without
// one, from the hash of the bytes sent) is removed and reported as a
// Temporary checksum error.
func (r *Provider) Put(ctx context.Context, path string, body io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	var out providers.RemoteFile
	session := o.Session
	userOnSession := o.OnSession
	// Without an expected hash the bytes are hashed as they are sent, so
	// the check below still holds and the source is read once.
	var sent *providers.SendHasher
	var ahead *providers.ReadAhead
	if o.Hash == "" {
		h, err := providers.NewSendHasher(body, size, r.p.HashKind())
		if err != nil {
			return out, err
		}
		sent, body = h, h
		// Reading (and hashing) the next block while this one is sent
		// keeps the hash off the upload's critical path, unless the
		// adapter already reads ahead itself.
		if ra, ok := providers.As[providers.ReaderAhead](r.p); !ok || !ra.ReadsAhead() {
			ahead = providers.NewReadAhead(ctx, h, readAheadBlock)
			defer ahead.Close()
			body = ahead
		}
	}
	err := Do(ctx, r.policy, r.pacer, func(ctx context.Context) error {
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return providers.Errorf(providers.Permanent, providers.ReasonSourceGone, "", "rewind %s: %w", path, err)
		}
		attempt := o
		attempt.Session = session
		attempt.OnSession = func(state []byte) {
			session = state
			if userOnSession != nil {
				userOnSession(state)
			}
		}
		rf, err := r.p.Put(ctx, path, body, size, attempt)
		if err != nil {
			return err
		}
		want := o.Hash
		if sent != nil {
			if ahead != nil {
				ahead.Close() // no read may race the sum
			}
			if want, err = sent.Sum(); err != nil {
				_ = r.p.Delete(ctx, path)
				return providers.Errorf(providers.Permanent, providers.ReasonSourceGone, "", "read %s again: %w", path, err)
			}
		}
		if !providers.SameHash(r.p.HashKind(), want, rf.Hash) {
			// Never count corrupt bytes as a backup. The path is this
			// version's own, so removing it cannot touch another file.
			_ = r.p.Delete(ctx, path)
			session = nil
			return providers.Errorf(providers.Temporary, providers.ReasonChecksum, "",
				"checksum mismatch for %s: sent %s %s, service stored %q", path, r.p.HashKind(), want, rf.Hash)
		}
		out = rf
		return nil
	})
	return out, err
}

var _ providers.Streamer = (*Provider)(nil)

// PutStream sends a stream in one attempt: it cannot be rewound, so the
// queue tries the job again later instead. Its bytes are hashed as they
// pass and checked against what the service stored, as Put's are.
func (r *Provider) PutStream(ctx context.Context, path string, body io.Reader, o providers.PutOptions) (providers.RemoteFile, error) {
	s, ok := providers.StreamerOf(r.p)
	if !ok {
		return providers.RemoteFile{}, providers.ErrNoStream
	}
	kind := r.p.HashKind()
	h, err := providers.NewHash(kind)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	if err := r.pacer.Wait(ctx); err != nil {
		return providers.RemoteFile{}, err
	}
	rf, err := s.PutStream(ctx, path, io.TeeReader(body, h), o)
	if err != nil {
		return rf, err
	}
	if want := providers.EncodeHash(kind, h.Sum(nil)); !providers.SameHash(kind, want, rf.Hash) {
		_ = r.p.Delete(ctx, path)
		return providers.RemoteFile{}, providers.Errorf(providers.Temporary, providers.ReasonChecksum, "",
			"checksum mismatch for %s: sent %s %s, service stored %q", path, kind, want, rf.Hash)
	}
	return rf, nil
}

// readAheadBlock is the read-ahead's block: two are read ahead at most,
// a chunk of the adapters' default sizes (8–10 MiB).
const readAheadBlock = 5 << 20

func (r *Provider) Stat(ctx context.Context, path string) (providers.RemoteFile, error) {
	var out providers.RemoteFile
	err := Do(ctx, r.policy, r.pacer, func(ctx context.Context) (err error) {
		out, err = r.p.Stat(ctx, path)
		return err
	})
	return out, err
}

func (r *Provider) List(ctx context.Context, dir string) ([]providers.RemoteFile, error) {
	var out []providers.RemoteFile
	err := Do(ctx, r.policy, r.pacer, func(ctx context.Context) (err error) {
		out, err = r.p.List(ctx, dir)
		return err
	})
	return out, err
}

func (r *Provider) Delete(ctx context.Context, path string) error {
	return Do(ctx, r.policy, r.pacer, func(ctx context.Context) error {
		return r.p.Delete(ctx, path)
	})
}

func (r *Provider) Get(ctx context.Context, path string) (io.ReadCloser, error) {
	var out io.ReadCloser
	err := Do(ctx, r.policy, r.pacer, func(ctx context.Context) (err error) {
		out, err = r.p.Get(ctx, path)
		return err
	})
	return out, err
}

// Quota passes through when the wrapped provider can report space.
func (r *Provider) Quota(ctx context.Context) (used, total int64, err error) {
	q, ok := providers.As[providers.Quotaer](r.p)
	if !ok {
		return 0, 0, providers.ErrNoQuota
	}
	err = Do(ctx, r.policy, r.pacer, func(ctx context.Context) (err error) {
		used, total, err = q.Quota(ctx)
		return err
	})
	return used, total, err
}

// Close passes through when the wrapped provider holds resources.
func (r *Provider) Close() error {
	return providers.CloseOf(r.p)
}
