package oauth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/httpclient"
)

func TestSaveIs0600AndRoundTrips(t *testing.T) {
	s := Store{Path: filepath.Join(t.TempDir(), "tok.json"), Dest: "cloud"}
	if err := s.Save(&oauth2.Token{AccessToken: "a", RefreshToken: "r"}); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(s.Path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	got, err := s.Load()
	if err != nil || got.RefreshToken != "r" {
		t.Fatal(got, err)
	}
}

func TestMissingTokenSaysHowToLogIn(t *testing.T) {
	_, err := Store{Path: filepath.Join(t.TempDir(), "none.json"), Dest: "cloud"}.Load()
	if providers.KindOf(err) != providers.Fatal || !strings.Contains(err.Error(), "offsite auth cloud") {
		t.Fatalf("got %v", err)
	}
}

func TestRotatedTokenIsSavedAndRevokedIsFatal(t *testing.T) {
	revoked := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if revoked {
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"invalid_grant","error_description":"secret-echo r2"}`))
			return
		}
		w.Write([]byte(`{"access_token":"a2","refresh_token":"r2","expires_in":3600,"token_type":"Bearer"}`))
	}))
	defer srv.Close()
	s := Store{Path: filepath.Join(t.TempDir(), "tok.json"), Dest: "cloud"}
	s.Save(&oauth2.Token{AccessToken: "a1", RefreshToken: "r1", Expiry: time.Now().Add(-time.Hour)})
	cfg := &oauth2.Config{ClientID: "id", Endpoint: oauth2.Endpoint{TokenURL: srv.URL}}
	ts, err := TokenSource(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := ts.Token(); err != nil || tok.AccessToken != "a2" {
		t.Fatal(tok, err)
	}
	if saved, _ := s.Load(); saved.RefreshToken != "r2" {
		t.Fatalf("rotated refresh token not saved: %+v", saved)
	}
	revoked = true
	s.Save(&oauth2.Token{AccessToken: "a1", RefreshToken: "r1", Expiry: time.Now().Add(-time.Hour)})
	ts, _ = TokenSource(context.Background(), cfg, s)
	_, err = ts.Token()
	if providers.KindOf(err) != providers.Fatal || providers.ReasonOf(err) != providers.ReasonAuth {
		t.Fatalf("revoked: %v", err)
	}
	if strings.Contains(err.Error(), "r2") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error leaks the endpoint's words: %v", err)
	}
}

func TestTokenFileThatIsAFolderSaysSo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tok.json")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Store{Path: dir, Dest: "cloud"}.Load()
	if providers.KindOf(err) != providers.Fatal {
		t.Fatalf("kind of %v", err)
	}
	if !strings.Contains(err.Error(), "is a folder") || !strings.Contains(providers.HintOf(err), "token_file") {
		t.Errorf("error %q (hint %q) does not say the token file is a folder", err, providers.HintOf(err))
	}
	if providers.ReasonOf(err) == providers.ReasonAuth || strings.Contains(err.Error(), "log in") {
		t.Errorf("a folder is reported as a lost login: %v", err)
	}
}

// silentTokenEndpoint accepts connections and never answers.
func silentTokenEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return "http://" + ln.Addr().String() + "/token"
}

// A refresh holds the token lock every request waits on; a token endpoint
// that never answers must not hold it for ever.
func TestRefreshAgainstSilenceGivesUp(t *testing.T) {
	const limit = 300 * time.Millisecond
	for _, c := range []struct {
		name   string
		client *http.Client
		set    time.Duration
		says   string
	}{
		{"shared transport", httpclient.Client(nil, httpclient.Options{Timeout: limit}), 0, "no answer for 300ms"},
		{"plain client, refresh deadline", &http.Client{}, limit, "token refresh: no answer for 300ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := Store{Path: filepath.Join(t.TempDir(), "tok.json"), Dest: "cloud"}
			s.Save(&oauth2.Token{AccessToken: "a1", RefreshToken: "r1", Expiry: time.Now().Add(-time.Hour)})
			cfg := &oauth2.Config{ClientID: "id", Endpoint: oauth2.Endpoint{TokenURL: silentTokenEndpoint(t)}}
			src, err := NewSource(context.WithValue(context.Background(), oauth2.HTTPClient, c.client), cfg, s)
			if err != nil {
				t.Fatal(err)
			}
			src.RefreshTimeout = c.set
			for range 2 { // the second call finds the lock free again
				start := time.Now()
				_, err := src.Token()
				if !errors.Is(err, providers.ErrStalled) || providers.KindOf(err) != providers.Temporary ||
					!strings.Contains(err.Error(), c.says) {
					t.Fatalf("err = %v (kind %v), want a Temporary stall saying %q", err, providers.KindOf(err), c.says)
				}
				if d := time.Since(start); d > 4*limit {
					t.Fatalf("gave up after %v, want about %v", d, limit)
				}
			}
		})
	}
}
