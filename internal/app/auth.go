package app

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"runtime"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers/oauth"
	"github.com/offsite-backup/offsite/providers/registry"
)

// AuthMode chooses how `offsite auth` logs in.
type AuthMode int

const (
	AuthDefault AuthMode = iota // device code for Drive and OneDrive, pasted code for Dropbox
	AuthDevice                  // a code entered on any phone or PC
	AuthBrowser                 // a browser on this PC, redirected back to a loopback port (PKCE)
)

// Auth logs a cloud destination in and saves its token (0600, atomically),
// then lifts a pause caused by a refused login so waiting uploads go out.
func (a *App) Auth(ctx context.Context, dest string, mode AuthMode, in io.Reader, out io.Writer) error {
	d, err := a.destination(dest)
	if err != nil {
		return err
	}
	login := a.dests[d.Name].desc.Login
	if login == nil {
		return fmt.Errorf("destination %s (type %s) needs no login: offsite auth is only for Google Drive, Dropbox and OneDrive", dest, d.Type)
	}
	clientID := d.ClientID
	if clientID == "" && d.Endpoint != "" {
		clientID = "offsite" // an emulator accepts any client
	}
	cfg := login.Config(registry.Client{ID: clientID, Secret: d.ClientSecret, Endpoint: d.Endpoint, Tenant: d.Tenant})
	opts, device := login.Options, login.Device
	if cfg.ClientID == "" {
		return fmt.Errorf("destination %s has no client_id: create an OAuth app as docs/providers.md explains and put its id in the config", dest)
	}
	var tok *oauth2.Token
	switch {
	case mode == AuthBrowser:
		tok, err = oauth.LoopbackFlow(ctx, cfg, out, openBrowser, opts...)
	case mode == AuthDevice && !device:
		return fmt.Errorf("%s has no device login: run `offsite auth %s` (paste a code) or add --browser", d.Type, dest)
	case device:
		tok, err = oauth.DeviceFlow(ctx, cfg, out, opts...)
	default:
		tok, err = oauth.PasteFlow(ctx, cfg, in, out, opts...)
	}
	if err != nil {
		return fmt.Errorf("log in %s: %w", dest, err)
	}
	if tok.RefreshToken == "" {
		fmt.Fprintln(out, "warning: the service gave no refresh token; the login will stop working when this access token expires")
	}
	store := oauth.Store{Path: d.TokenPath(a.Cfg.StateDir), Dest: dest}
	if err := store.Save(tok); err != nil {
		return err
	}
	if was, err := a.Store.ProbeNow(ctx, dest); err == nil && was {
		fmt.Fprintf(out, "uploads to %s were paused; the daemon tries again now\n", dest)
	}
	return nil
}

// openBrowser opens url in the user's browser; failure is fine, the URL is printed too.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	case "darwin":
		cmd = exec.Command("open", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	return cmd.Start()
}
