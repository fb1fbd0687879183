package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/watcher"
)

// TestUnrecordedFailureIsHandedBack: an upload fails and the queue cannot
// record the failure (disk full for a moment). The job must not stay
// "uploading" until the next start: it is handed back and sent.
func TestUnrecordedFailureIsHandedBack(t *testing.T) {
	dir := t.TempDir()
	st, err := queue.Open(filepath.Join(dir, "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	os.MkdirAll(src, 0o755)
	os.MkdirAll(dst, 0o755)
	prov := &flaky{Provider: local.New(local.Config{Root: dst}), fail: func(n int) error {
		if n == 1 {
			return providers.Classify(providers.Temporary, errors.New("connection reset"))
		}
		return nil
	}}
	d := New(Options{
		Store:        st,
		Watches:      []Watch{{Name: "pos", Path: src, Destinations: []string{"usb"}}},
		Destinations: []*Destination{{Name: "usb", Type: "local", Provider: retry.New(prov, retry.Policy{Attempts: 1}, nil)}},
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	var failWrites atomic.Int32
	failWrites.Store(1)
	st.SetFault("fail", func() error {
		if failWrites.Add(-1) >= 0 {
			return errors.New("database or disk is full")
		}
		return nil
	})
	p := filepath.Join(src, "a.bak")
	os.WriteFile(p, []byte("hello"), 0o644)
	fi, _ := os.Stat(p)
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Ingest(ctx, []watcher.File{{Watch: "pos", Rel: "a.bak", Abs: p, Size: fi.Size(), ModTime: fi.ModTime()}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 3*strandedRetry, "the upload handed back and sent", func() bool {
		sum, _ := st.Summary(context.Background())
		return len(sum) == 1 && sum[0].Counts[queue.Done] == 1
	})
}
