package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
)

// keepApp is an App over temp folders: watch "pos" at <dir>/backups,
// local destination "usb" at <dir>/usb, with extra YAML appended.
func keepApp(t *testing.T, usbExtra, extra string) (a *App, watch, usb string) {
	t.Helper()
	dir := t.TempDir()
	watch, usb = filepath.Join(dir, "backups"), filepath.Join(dir, "usb")
	os.MkdirAll(watch, 0o755)
	os.MkdirAll(usb, 0o755)
	yaml := "state_dir: " + filepath.Join(dir, "state") + `
watches:
  - name: pos
    path: ` + watch + `
    destinations: [usb]
destinations:
  - name: usb
    type: local
    path: ` + usb + "\n" + usbExtra + extra
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err = OpenConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, watch, usb
}

// backup writes a backup file with the given mtime and records its
// version and usb job, and returns the version.
func backup(t *testing.T, a *App, watch, name, content string, mtime time.Time) queue.Version {
	t.Helper()
	p := filepath.Join(watch, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	sum := sha256.Sum256([]byte(content))
	v := queue.Version{Watch: "pos", Rel: name, Size: int64(len(content)), ModTime: st.ModTime(), SHA256: hex.EncodeToString(sum[:])}
	if _, err := a.Store.Enqueue(context.Background(), []queue.Route{{Version: v, Destinations: []string{"usb"}}}); err != nil {
		t.Fatal(err)
	}
	return v
}

// uploaded stores a version at usb through the provider and marks its job done.
func uploaded(t *testing.T, a *App, watch string, v queue.Version) *queue.Job {
	t.Helper()
	ctx := context.Background()
	j := jobOf(t, a, v)
	p, err := a.providerByName(ctx, "usb")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(watch, v.Rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rf, err := p.Put(ctx, j.RemotePath, f, v.Size, providersPutOptions(v))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store.Done(ctx, queue.Finished{ID: j.ID, RemoteHash: rf.Hash}); err != nil {
		t.Fatal(err)
	}
	return j
}

func jobOf(t *testing.T, a *App, v queue.Version) *queue.Job {
	t.Helper()
	jobs, err := a.Store.Jobs(context.Background(), queue.Filter{Destination: "usb", Watch: "pos"})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Version.Rel == v.Rel && j.Version.SHA256 == v.SHA256 {
			return j
		}
	}
	t.Fatalf("no job for %s", v.Rel)
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func providersPutOptions(v queue.Version) providers.PutOptions {
	return providers.PutOptions{ModTime: v.ModTime, Hash: v.SHA256}
}

// copiedBy records a done copy of v by schedule at usb, at base.
func copiedBy(t *testing.T, a *App, schedule string, v queue.Version, base string) {
	t.Helper()
	copiedTo(t, a, schedule, "usb", v, base)
}

// copiedTo is copiedBy for another destination than usb.
func copiedTo(t *testing.T, a *App, schedule, dest string, v queue.Version, base string) {
	t.Helper()
	ctx := context.Background()
	if err := a.Store.StartScheduleRun(ctx, schedule, v, []queue.Copy{{Destination: dest, Base: base}}, time.Now(), time.Now(), false); err != nil {
		t.Fatal(err)
	}
	jobs, err := a.Store.Jobs(ctx, queue.Filter{Purpose: queue.ScheduleCopy, Schedule: schedule, Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Version.SHA256 == v.SHA256 && j.State == queue.Pending {
			if err := a.Store.Done(ctx, queue.Finished{ID: j.ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.Store.EndScheduleRun(ctx, schedule, true, time.Time{}); err != nil {
		t.Fatal(err)
	}
}
