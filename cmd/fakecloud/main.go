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
	"net/url"
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
	fs.Usage = func() { usage(fs) }
	dataDir := fs.String("data", "fakecloud-data", "folder that keeps the emulated accounts' files")
	addr := fs.String("addr", "127.0.0.1:8790", "listen address")
	ttl := fs.Duration("token-ttl", time.Hour, "lifetime of the access tokens the token endpoints grant")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // asked for help: it was printed, nothing is wrong
		}
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
	signIn := http.HandlerFunc(serveSignIn)
	for _, p := range []string{"/o/oauth2/auth", "/oauth2/authorize", "/device",
		"/common/oauth2/v2.0/authorize", "/organizations/oauth2/v2.0/authorize", "/consumers/oauth2/v2.0/authorize"} {
		mux.Handle("GET "+p, signIn)
	}

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

// serveSignIn stands in for the services' sign-in pages, so the address
// `offsite auth` prints works against the emulator. Every sign-in is
// approved: a browser sign-in (a loopback redirect_uri) is sent straight back
// with a code; otherwise the page says what to do.
func serveSignIn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if back, err := url.Parse(q.Get("redirect_uri")); err == nil && isLoopback(back.Hostname()) {
		v := back.Query()
		v.Set("code", "fakecloud-code")
		v.Set("state", q.Get("state"))
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.URL.Path == "/device" {
		fmt.Fprintln(w, "fakecloud approves every device code at once: `offsite auth` has finished, or finishes on its next poll. Nothing to enter here.")
		return
	}
	fmt.Fprintln(w, "fakecloud approves every sign-in. Paste this code where `offsite auth` asks for it:\n\nfakecloud-code")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// usage documents the flags and the control API: fakecloud is run by hand
// to try offsite without a cloud account, and by tests to inject faults.
func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprint(w, `fakecloud serves loopback emulators of Google Drive (v3), Dropbox (v2) and
Microsoft Graph (OneDrive, v1.0) on one port, keeping files under --data.
Point an offsite destination at it with  endpoint: http://127.0.0.1:8790
(any client_id works); see docs/providers.md, "Emulators".

Usage: fakecloud [--data DIR] [--addr HOST:PORT] [--token-ttl DURATION]

Flags:
`)
	fs.PrintDefaults()
	fmt.Fprint(w, `
Sign-in: the token endpoints grant an access token (lifetime --token-ttl) for
any refresh token or code, and device codes are approved at once, so
`+"`offsite auth`"+` finishes without a browser. The sign-in pages it may print
(/device, /oauth2/authorize, /o/oauth2/auth, /common/oauth2/v2.0/authorize)
answer too: a browser sign-in is sent straight back with a code, otherwise the
page shows a code to paste (any text works).

Control API (JSON; SERVICE is drive, dropbox, onedrive or any):
  POST   /_fakecloud/faults           install a fault; fields:
           service, path (substring of path+query; "" = all), method,
           status (e.g. 429, 500), retry_after ("2s"), times (0 = until
           cleared), skip (let that many through first),
           reset_after_bytes (drop the connection after N body bytes),
           drop_response (do the work, then drop the connection),
           corrupt_body (flip one bit of the body at an offset drawn
           from seed: stored bytes differ), seed (same seed, same place),
           hang (accept, answer nothing until cleared or the client quits)
         e.g. {"service":"drive","status":429,"retry_after":"2s","times":3}
  DELETE /_fakecloud/faults           clear every fault (and release hangs)
  GET    /_fakecloud/files?service=SERVICE  stored files: [{"path","size","sha256"}]
  GET    /_fakecloud/stats            per service: requests, body_bytes, upload_bytes
  POST   /_fakecloud/quota            {"service":"any","bytes":N} account size
  POST   /_fakecloud/tokens/expire    {"service":"drive"} expire access tokens
  POST   /_fakecloud/tokens/revoke    {"service":"drive","revoked":true} refuse
                                      refresh tokens (false: accept again)
  POST   /_fakecloud/dropbox/sessions/expire   expire Dropbox upload sessions

Example:
  curl -X POST -d '{"service":"any","hang":true}' http://127.0.0.1:8790/_fakecloud/faults
`)
}
