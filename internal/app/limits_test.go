package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/local"
)

// quotaFake reports a fixed account size over a real provider.
type quotaFake struct {
	providers.Provider
	used, total int64
	err         error
}

func (q quotaFake) Quota(context.Context) (int64, int64, error) { return q.used, q.total, q.err }

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
		{"cannot tell", memProvider{}, 100 * gib, providers.Temporary, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := &App{Log: slog.New(slog.NewTextHandler(&logs, nil))}
			err := a.checkQuota(context.Background(), c.p, c.size)
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
	a := &App{Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}
	d := &config.Destination{Name: "usb"}
	g := a.guard(full, d, newBandwidth(&config.Config{}))
	data := make([]byte, quotaCheckMin)
	_, err := g.Put(context.Background(), "pos/big.bak", bytes.NewReader(data), int64(len(data)), providers.PutOptions{})
	if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonQuota {
		t.Fatalf("err = %v, want Fatal quota", err)
	}
	if _, serr := os.Stat(filepath.Join(root, "pos", "big.bak")); serr == nil {
		t.Fatal("a file was written although it could not fit")
	}
	// Quota still passes through the guard to whoever asks.
	if _, total, err := g.(providers.Quotaer).Quota(context.Background()); err != nil || total != 100<<20 {
		t.Errorf("Quota through guard = %d, %v", total, err)
	}
}

func TestGuardHoldsUploadOutsideWindow(t *testing.T) {
	root := t.TempDir()
	a := &App{Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}
	a.daemon.Store(true)
	// A one-minute window two hours from now is closed now.
	start := time.Now().Add(2 * time.Hour)
	d := &config.Destination{Name: "usb", Timezone: "UTC",
		Window: start.UTC().Format("15:04") + "-" + start.Add(time.Minute).UTC().Format("15:04")}
	g := a.guard(local.New(local.Config{Root: root}), d, nil)
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

func TestBandwidthSharedPerDestinationAndGlobally(t *testing.T) {
	cfg := &config.Config{Bandwidth: 4 << 20, Destinations: []config.Destination{
		{Name: "dropbox", Bandwidth: 2 << 20}, {Name: "usb"},
	}}
	b := newBandwidth(cfg)
	a := &App{}
	drop, usb := &cfg.Destinations[0], &cfg.Destinations[1]
	l1, l2 := a.limiters(drop, b), a.limiters(drop, b)
	if len(l1) != 2 || l1[0] != l2[0] || l1[1] != l2[1] {
		t.Fatalf("dropbox limiters %v and %v: want the same two buckets each time", l1, l2)
	}
	if int(l1[0].Limit()) != 2<<20 || int(l1[1].Limit()) != 4<<20 {
		t.Errorf("limits %v, %v", l1[0].Limit(), l1[1].Limit())
	}
	if lu := a.limiters(usb, b); len(lu) != 1 || lu[0] != l1[1] {
		t.Errorf("usb limiters %v, want only the shared global one", lu)
	}
	if got := a.limiters(usb, newBandwidth(&config.Config{})); len(got) != 0 {
		t.Errorf("no bandwidth configured gave %v", got)
	}
}
