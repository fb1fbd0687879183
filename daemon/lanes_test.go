package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/watcher"
)

// stalled is a destination whose uploads hang until the test ends, like a
// service that accepts a connection and then crawls.
type stalled struct{ providers.Provider }

func (stalled) Put(ctx context.Context, _ string, _ io.ReadSeeker, _ int64, _ providers.PutOptions) (providers.RemoteFile, error) {
	<-ctx.Done()
	return providers.RemoteFile{}, ctx.Err()
}

// TestStalledDestinationDoesNotHoldBackOthers queues six files for a
// destination whose uploads never finish and for a local disk: every
// worker could be stuck on the first, yet the disk gets all six at once.
func TestStalledDestinationDoesNotHoldBackOthers(t *testing.T) {
	dir := t.TempDir()
	st, err := queue.Open(filepath.Join(dir, "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	os.MkdirAll(src, 0o755)
	os.MkdirAll(dst, 0o755)
	d := New(Options{
		Store:   st,
		Watches: []Watch{{Name: "pos", Path: src, Destinations: []string{"slow", "usb"}}},
		Destinations: []*Destination{
			{Name: "slow", Type: "gdrive", Provider: stalled{local.New(local.Config{Root: t.TempDir()})}},
			{Name: "usb", Type: "local", Provider: retry.New(local.New(local.Config{Root: dst}), retry.Policy{}, nil)},
		},
		Workers: 2,
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	var files []watcher.File
	for i := range 6 {
		p := filepath.Join(src, fmt.Sprintf("day-%d.bak", i))
		os.WriteFile(p, []byte(fmt.Sprint("backup ", i)), 0o644)
		fi, _ := os.Stat(p)
		files = append(files, watcher.File{Watch: "pos", Rel: fi.Name(), Abs: p, Size: fi.Size(), ModTime: fi.ModTime()})
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Ingest(ctx, files); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 5*time.Second, "six files on the disk", func() bool { return countFiles(filepath.Join(dst, "pos")) == 6 })
}
