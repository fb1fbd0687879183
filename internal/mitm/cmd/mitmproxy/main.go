// Command mitmproxy is an HTTPS intercepting proxy for fidelity checks: it
// writes a fresh test CA to --ca-out, then tunnels CONNECT requests for the
// cloud host names to a loopback fakecloud, and refuses every other host.
//
//	mitmproxy --ca-out ca.pem --listen 127.0.0.1:8791 --upstream http://127.0.0.1:8790
//
// Point a client at it with HTTPS_PROXY=http://127.0.0.1:8791 and
// SSL_CERT_FILE=ca.pem.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/offsite-backup/offsite/internal/mitm"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mitmproxy:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. The banner line on stdout is printed only once
// the CA file is written and the listener is open, so a script may start
// the client as soon as it reads it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mitmproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	caOut := fs.String("ca-out", "mitm-ca.pem", "file to write the generated CA certificate (PEM) to")
	listen := fs.String("listen", "127.0.0.1:8791", "proxy listen address")
	upstream := fs.String("upstream", "http://127.0.0.1:8790", "fakecloud base URL (loopback only)")
	stripAuth := fs.String("strip-auth-under", "", "comma-separated path prefixes whose requests lose their Authorization header\n(for clients that send a bearer token to pre-authenticated upload URLs)")
	verbose := fs.Bool("v", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ca, err := mitm.NewCA(7 * 24 * time.Hour)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*caOut, ca.PEM(), 0o644); err != nil {
		return fmt.Errorf("write CA: %w", err)
	}
	o := mitm.Options{Log: log}
	if *stripAuth != "" {
		o.StripAuthUnder = strings.Split(*stripAuth, ",")
	}
	p, err := mitm.New(ca, *upstream, o)
	if err != nil {
		return err
	}
	defer p.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	fmt.Fprintf(stdout, "mitmproxy listening on http://%s (CA in %s, upstream %s)\n", ln.Addr(), *caOut, *upstream)

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	srv.Close()
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
