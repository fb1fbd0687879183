// Command fakecloud serves offsite's cloud emulators (Drive, and the
// Dropbox and Graph emulators once registered) on one loopback port, with
// the /_fakecloud control API for faults, statistics and quotas.
//
//	fakecloud --data DIR --addr 127.0.0.1:8790 --token-ttl 1h
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/dropbox/fakedropbox"
	"github.com/offsite-backup/offsite/providers/gdrive/fakedrive"
	"github.com/offsite-backup/offsite/providers/onedrive/fakegraph"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fakecloud:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fakecloud", flag.ContinueOnError)
	fs.SetOutput(stdout)
	dataDir := fs.String("data", "fakecloud-data", "folder that keeps the emulated accounts' files")
	addr := fs.String("addr", "127.0.0.1:8790", "listen address")
	ttl := fs.Duration("token-ttl", time.Hour, "lifetime of the access tokens the token endpoints grant")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return err
	}

	cloud := fakecloud.New(*ttl)
	mux := http.NewServeMux()
	mux.Handle("/_fakecloud/", cloud.ControlHandler())
	drive, err := fakedrive.New(cloud, *dataDir)
	if err != nil {
		return err
	}
	drive.Register(mux)
	dbx, err := fakedropbox.New(cloud, filepath.Join(*dataDir, "dropbox"))
	if err != nil {
		return err
	}
	dbx.Register(mux)
	graph, err := fakegraph.New(cloud, *dataDir)
	if err != nil {
		return err
	}
	graph.Register(mux)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	fmt.Fprintf(stdout, "fakecloud listening on http://%s (data in %s)\n", ln.Addr(), *dataDir)

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
