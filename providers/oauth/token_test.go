package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers"
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
