package oauth

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers/httpclient"
)

// The flows below are how `offsite auth NAME` logs in. Each returns the
// token for the caller to Save; none prints a token.

// withClient makes the flow's requests go through the shared transport
// (timeouts, stall detector) unless ctx already carries a client.
func withClient(ctx context.Context) context.Context {
	if _, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); ok {
		return ctx
	}
	return context.WithValue(ctx, oauth2.HTTPClient, httpclient.Client(nil, httpclient.Options{}))
}

// DeviceFlow asks for a device code, tells the person where to enter it,
// and polls until they approve (for machines without a browser).
func DeviceFlow(ctx context.Context, cfg *oauth2.Config, out io.Writer, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	ctx = withClient(ctx)
	da, err := cfg.DeviceAuth(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("device login: %w", err)
	}
	url := da.VerificationURI
	if da.VerificationURIComplete != "" {
		url = da.VerificationURIComplete
	}
	fmt.Fprintf(out, "On any device, open %s and enter the code %s\n", url, da.UserCode)
	tok, err := cfg.DeviceAccessToken(ctx, da, opts...)
	if err != nil {
		return nil, fmt.Errorf("device login: %w", err)
	}
	return tok, nil
}

// LoopbackFlow logs in through a browser on this machine: PKCE (S256), a
// listener on 127.0.0.1, the redirect checked against a random state. The
// URL is printed as well, for when open cannot start a browser.
func LoopbackFlow(ctx context.Context, cfg *oauth2.Config, out io.Writer, open func(url string) error, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	ctx = withClient(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("browser login: %w", err)
	}
	defer ln.Close()
	c := *cfg
	c.RedirectURL = fmt.Sprintf("http://%s/", ln.Addr())
	verifier := oauth2.GenerateVerifier()
	state := randomState()
	authURL := c.AuthCodeURL(state, append(opts, oauth2.S256ChallengeOption(verifier))...)

	type result struct {
		code string
		err  error
	}
	results := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res result
		switch {
		case q.Get("state") != state:
			res.err = errors.New("the browser answered with the wrong state; start the login again")
		case q.Get("error") != "":
			res.err = fmt.Errorf("the service refused the login: %s", q.Get("error"))
		case q.Get("code") == "":
			http.NotFound(w, r) // a favicon request or the like
			return
		default:
			res.code = q.Get("code")
		}
		msg := "Logged in. You can close this window."
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			msg = "Login failed: " + res.err.Error()
		}
		fmt.Fprintf(w, "<!doctype html><title>offsite</title><p>%s</p>", html.EscapeString(msg))
		select {
		case results <- res:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }() // ends with srv.Close below
	defer srv.Close()

	fmt.Fprintf(out, "Opening a browser to log in. If none opens, visit:\n%s\n", authURL)
	if open != nil {
		if err := open(authURL); err != nil {
			fmt.Fprintf(out, "Could not open a browser (%v); open the address above yourself.\n", err)
		}
	}
	var res result
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res = <-results:
	}
	if res.err != nil {
		return nil, fmt.Errorf("browser login: %w", res.err)
	}
	tok, err := c.Exchange(ctx, res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("browser login: %w", err)
	}
	return tok, nil
}

// PasteFlow logs in without a redirect: PKCE (S256), the URL printed, the
// code the service shows read back from in (Dropbox's no-redirect flow).
func PasteFlow(ctx context.Context, cfg *oauth2.Config, in io.Reader, out io.Writer, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	ctx = withClient(ctx)
	c := *cfg
	c.RedirectURL = ""
	verifier := oauth2.GenerateVerifier()
	fmt.Fprintf(out, "Open this address, allow access, and paste the code shown:\n%s\nCode: ",
		c.AuthCodeURL("", append(opts, oauth2.S256ChallengeOption(verifier))...))

	lines := make(chan string, 1)
	errs := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(in).ReadString('\n')
		if strings.TrimSpace(line) != "" {
			lines <- line
			return
		}
		if err == nil {
			err = errors.New("no code entered")
		}
		errs <- err
	}()
	var code string
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case err := <-errs:
		return nil, fmt.Errorf("paste login: %w", err)
	case line := <-lines:
		code = strings.TrimSpace(line)
	}
	tok, err := c.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("paste login: %w", err)
	}
	return tok, nil
}

func randomState() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
