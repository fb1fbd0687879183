package verify

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/queue"
)

// TestRepairRequeuesOnlyWhatTheFolderStillHolds: a copy that vanished or
// changed at the destination is counted bad; repair makes it due again
// only when the watched folder still holds the file as it was uploaded,
// and a copy still there is left alone.
func TestRepairRequeuesOnlyWhatTheFolderStillHolds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	watch, dest := filepath.Join(dir, "pos"), filepath.Join(dir, "usb")
	for _, d := range []string{watch, dest} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s, err := queue.Open(filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := local.New(local.Config{Root: dest, Owner: "test"})
	var routes []queue.Route
	for _, name := range []string{"gone.bak", "changed.bak", "kept.bak"} {
		body := []byte(strings.Repeat(name, 100))
		path := filepath.Join(watch, name)
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(path)
		sums, _, err := providers.HashReader(bytes.NewReader(body), providers.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, queue.Route{Version: queue.Version{Watch: "pos", Rel: name, Size: fi.Size(), ModTime: fi.ModTime(), SHA256: sums[providers.SHA256]},
			Destinations: []string{"usb"}})
	}
	if _, err := s.Enqueue(ctx, routes); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Claim(ctx, queue.Hold{}, 10)
	if err != nil || len(jobs) != 3 {
		t.Fatalf("claim: %d %v", len(jobs), err)
	}
	remote := map[string]string{}
	for _, j := range jobs {
		f, err := os.Open(filepath.Join(watch, j.Version.Rel))
		if err != nil {
			t.Fatal(err)
		}
		rf, err := p.Put(ctx, j.RemotePath, f, j.Version.Size, providers.PutOptions{})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Done(ctx, queue.Finished{ID: j.ID, RemoteHash: rf.Hash}); err != nil {
			t.Fatal(err)
		}
		remote[j.Version.Rel] = filepath.Join(dest, filepath.FromSlash(j.RemotePath))
	}
	// The copy of gone.bak is deleted; changed.bak's copy is cut short and
	// its backup rewritten since, so there is nothing to send again.
	if err := os.Remove(remote["gone.bak"]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(remote["changed.bak"], []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(watch, "changed.bak"), later, later); err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Provider: func(context.Context, string) (providers.Provider, error) { return p, nil },
		Cannot:   func(string, string) error { return nil },
		Readable: func(string) bool { return true },
		Folder: func(w string) string {
			if w == "pos" {
				return watch
			}
			return ""
		}}
	var out strings.Builder
	r, err := v.All(ctx, &out, true)
	if err != nil {
		t.Fatal(err)
	}
	if r != (Result{OK: 1, Bad: 2, Requeued: 1}) {
		t.Fatalf("result %+v\n%s", r, out.String())
	}
	for _, want := range []string{"gone.bak: missing at the destination", "changed.bak: changed since upload", "↻ re-queued pos/gone.bak → usb",
		"cannot re-queue pos/changed.bak: the watched folder no longer holds it"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	pending, err := s.Jobs(ctx, queue.Filter{States: []queue.State{queue.Pending}})
	if err != nil || len(pending) != 1 || pending[0].Version.Rel != "gone.bak" {
		t.Fatalf("pending after repair: %v %v", pending, err)
	}
}
