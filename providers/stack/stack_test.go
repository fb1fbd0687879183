package stack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/providers/retry"
)

// quotaFake reports a fixed account size over a real provider.
type quotaFake struct {
	providers.Provider
	used, total int64
	err         error
}

func (q quotaFake) Quota(context.Context) (int64, int64, error) { return q.used, q.total, q.err }

// noQuota is an adapter that cannot tell its free space.
type noQuota struct{}

func (noQuota) Put(context.Context, string, io.ReadSeeker, int64, providers.PutOptions) (providers.RemoteFile, error) {
	return providers.RemoteFile{}, nil
}
func (noQuota) Stat(context.Context, string) (providers.RemoteFile, error) {
	return providers.RemoteFile{}, nil
}
func (noQuota) List(context.Context, string) ([]providers.RemoteFile, error) { return nil, nil }
func (noQuota) Delete(context.Context, string) error                         { return nil }
func (noQuota) Get(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("no")
}
func (noQuota) HashKind() providers.HashKind { return providers.SHA256 }

func TestCheckQuota(t *testing.T) {
	const gib = 1 << 30
	cases := []struct {
		name     string
		p        providers.Provider
		size     int64
		wantKind providers.Kind // Temporary here means nil
		warn     bool
	}{
		{"fits easily", quotaFake{used: 10 * gib, total: 100 * gib}, gib, providers.Temporary, false},
		{"fits, then 90% used", quotaFake{used: 85 * gib, total: 100 * gib}, 5 * gib, providers.Temporary, true},
		{"does not fit", quotaFake{used: 99 * gib, total: 100 * gib}, 2 * gib, providers.Fatal, false},
		{"over quota already", quotaFake{used: 101 * gib, total: 100 * gib}, 1, providers.Fatal, false},
		{"unlimited", quotaFake{used: 500 * gib}, 100 * gib, providers.Temporary, false},
		{"unknown", quotaFake{err: errors.New("503")}, 100 * gib, providers.Temporary, false},
		{"login revoked", quotaFake{err: providers.Errorf(providers.Fatal, providers.ReasonAuth, "", "revoked")}, 1, providers.Fatal, false},
		{"cannot tell", noQuota{}, 100 * gib, providers.Temporary, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			err := CheckQuota(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), c.p, c.size)
			if c.wantKind == providers.Temporary {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
			} else if providers.KindOf(err) != c.wantKind {
				t.Fatalf("err = %v (kind %v), want %v", err, providers.KindOf(err), c.wantKind)
			}
			if c.name == "does not fit" && (providers.ReasonOf(err) != providers.ReasonQuota || !strings.Contains(err.Error(), "only 1 GiB of 100 GiB is free")) {
				t.Errorf("err = %v, reason %q", err, providers.ReasonOf(err))
			}
			if got := strings.Contains(logs.String(), "almost full"); got != c.warn {
				t.Errorf("warned %v, want %v: %s", got, c.warn, logs.String())
			}
		})
	}
}

func TestGuardRefusesUploadBeforeQuotaRunsOut(t *testing.T) {
	root := t.TempDir()
	full := quotaFake{Provider: local.New(local.Config{Root: root}), used: 95 << 20, total: 100 << 20}
	g := Guard(full, Limits{})
	data := make([]byte, QuotaCheckMin)
	_, err := g.Put(context.Background(), "pos/big.bak", bytes.NewReader(data), int64(len(data)), providers.PutOptions{})
	if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonQuota {
		t.Fatalf("err = %v, want Fatal quota", err)
	}
	if _, serr := os.Stat(filepath.Join(root, "pos", "big.bak")); serr == nil {
		t.Fatal("a file was written although it could not fit")
	}
	// Quota still passes through the guard to whoever asks.
	if _, total, err := providers.Quotaer(g).Quota(context.Background()); err != nil || total != 100<<20 {
		t.Errorf("Quota through guard = %d, %v", total, err)
	}
}

func TestGuardHoldsUploadOutsideWindow(t *testing.T) {
	root := t.TempDir()
	// A window that stays closed.
	closed := func(time.Time) bool { return false }
	g := Guard(local.New(local.Config{Root: root}), Limits{Window: func() func(time.Time) bool { return closed }})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := g.Put(ctx, "a.bak", bytes.NewReader([]byte("abc")), 3, providers.PutOptions{})
	if err == nil || ctx.Err() == nil {
		t.Fatalf("Put = %v before the window opened", err)
	}
	if _, serr := os.Stat(filepath.Join(root, "a.bak")); serr == nil {
		t.Fatal("uploaded outside the window")
	}
}

// TestLazyDestinationPicksUpALaterLogin: a cloud destination with no login
// fails Fatal/auth, and works once a token appears, without a restart.
func TestLazyDestinationPicksUpALaterLogin(t *testing.T) {
	token := filepath.Join(t.TempDir(), "tok")
	builds := 0
	l := NewLazy(providers.SHA256, func(context.Context) (providers.Provider, error) {
		builds++
		if _, err := os.Stat(token); err != nil {
			return nil, providers.Errorf(providers.Fatal, providers.ReasonAuth, "run `offsite auth cloud`", "not logged in")
		}
		return local.New(local.Config{Root: t.TempDir()}), nil
	})
	_, err := l.List(context.Background(), "")
	if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonAuth {
		t.Fatalf("before login: %v", err)
	}
	os.WriteFile(token, []byte("{}"), 0o600)
	l.lastTry = time.Time{} // past the rebuild back-off
	if _, err := l.List(context.Background(), ""); err != nil {
		t.Fatalf("after login: %v", err)
	}
	if builds != 2 {
		t.Fatalf("built %d times", builds)
	}
}

// TestWrappersAgreeWhenNoQuota: an adapter that cannot tell its space
// gets one answer through every layer of the stack, not "unlimited" from
// one wrapper and an error from another.
func TestWrappersAgreeWhenNoQuota(t *testing.T) {
	g := Guard(noQuota{}, Limits{})
	r := retry.New(g, retry.Policy{Attempts: 1}, nil)
	l := NewLazy(providers.SHA256, func(context.Context) (providers.Provider, error) { return r, nil })
	bare := NewLazy(providers.SHA256, func(context.Context) (providers.Provider, error) { return noQuota{}, nil })
	for name, p := range map[string]providers.Provider{"guard": g, "retry": r, "lazy": l, "lazy over the adapter": bare} {
		used, total, err := p.(providers.Quotaer).Quota(context.Background())
		if !errors.Is(err, providers.ErrNoQuota) || used != 0 || total != 0 {
			t.Errorf("%s: Quota = %d, %d, %v; want ErrNoQuota", name, used, total, err)
		}
	}
}
