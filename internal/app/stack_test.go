package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/internal/smtpmail/smtptest"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/gdrive/fakedrive"
	"github.com/offsite-backup/offsite/providers/oauth"
	"github.com/offsite-backup/offsite/providers/providertest"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/providers/stack"
)

// openStack opens an App on a config with the one destination described
// by dest (YAML lines under `- name: d`) and returns it with that
// destination's composed provider: lazy login, retry, limits, adapter.
func openStack(t *testing.T, dest string) (*App, providers.Provider) {
	t.Helper()
	dir := t.TempDir()
	watch, state := filepath.Join(dir, "backups"), filepath.Join(dir, "state")
	for _, d := range []string{watch, state} {
		os.MkdirAll(d, 0o755)
	}
	yaml := fmt.Sprintf(`state_dir: %s
watches:
  - name: pos
    path: %s
    destinations: [d]
destinations:
  - name: d
%s
retry:
  initial: 5ms
  max: 50ms
`, state, watch, dest)
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := OpenConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	p, err := a.Provider(cfg.Destination("d"))
	if err != nil {
		t.Fatal(err)
	}
	return a, p
}

// driveEmulator serves an empty Drive and returns its URL, having saved a
// login for destination d in state.
func driveEmulator(t *testing.T) string {
	t.Helper()
	cloud := fakecloud.New(time.Hour)
	drv, err := fakedrive.New(cloud, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/_fakecloud/", cloud.ControlHandler())
	drv.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestConformanceOfComposedStack runs the adapters' conformance suite on
// the stack every caller uses, so the wrappers keep the Provider contract
// (hash kinds, resumable sessions, cancel, replace) the adapters keep.
func TestConformanceOfComposedStack(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		providertest.Run(t, providertest.Options{New: func(t *testing.T) providers.Provider {
			_, p := openStack(t, "    type: local\n    path: "+t.TempDir())
			return p
		}})
	})
	t.Run("gdrive", func(t *testing.T) {
		const chunk = 256 << 10
		providertest.Run(t, providertest.Options{ChunkSize: chunk, New: func(t *testing.T) providers.Provider {
			url := driveEmulator(t)
			a, p := openStack(t, fmt.Sprintf("    type: gdrive\n    folder: Backups/Shop1\n    endpoint: %s\n    chunk_size: 256KiB", url))
			saveLogin(t, a, url)
			return p
		}})
	})
	t.Run("email", func(t *testing.T) {
		var s *smtptest.Server
		providertest.Run(t, providertest.Options{
			New: func(t *testing.T) providers.Provider {
				s = smtptest.Start(t, smtptest.Options{})
				_, p := openStack(t, "    type: email\n    url: "+s.URL("from=a@example.com&to=b@example.com"))
				return p
			},
			Arrived: func(t *testing.T, name string) [][]byte { return mailedAs(t, s, name) },
		})
	})
}

// saveLogin stores a token for destination d the way `offsite auth` does,
// from the emulator's token endpoint.
func saveLogin(t *testing.T, a *App, url string) {
	t.Helper()
	d := a.Cfg.Destination("d")
	tok := &oauth2.Token{AccessToken: "expired", RefreshToken: "r", Expiry: time.Now().Add(-time.Hour)}
	if err := (oauth.Store{Path: d.TokenPath(a.Cfg.StateDir), Dest: d.Name}).Save(tok); err != nil {
		t.Fatal(err)
	}
}

// TestOneProviderPerDestination: the daemon, schedules, prune, push and
// check all get one destination's one stack, so a Retry-After the
// service sent to one of them holds the others too.
func TestOneProviderPerDestination(t *testing.T) {
	a, p := openStack(t, "    type: local\n    path: "+t.TempDir())
	ctx := context.Background()
	dests := a.Destinations(ctx)
	if len(dests) != 1 || dests[0].Provider != p {
		t.Fatalf("the daemon got %v, schedules and tools get %v: two stacks for one destination", dests[0].Provider, p)
	}
	again, err := a.providerByName(ctx, "d")
	if err != nil || again != p {
		t.Fatalf("a second look-up built another stack (%v, %v)", again, err)
	}
	r, ok := providers.As[*retry.Provider](p)
	if !ok {
		t.Fatal("no retry decorator in the stack")
	}
	r.Pacer().Hold(time.Minute)
	if r2, _ := providers.As[*retry.Provider](again); r2.Pacer().Until().IsZero() {
		t.Fatal("a Retry-After held through one caller does not hold the other")
	}
	if _, ok := providers.As[*stack.Guarded](p); !ok {
		t.Fatal("no limits guard in the stack")
	}
}
