package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/internal/fakecloud"
)

// tokenServer serves fakecloud's token and device endpoints and keeps the
// last token request's form, to check what the flows sent.
type tokenServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	form url.Values
}

func newTokenServer(t *testing.T) (*tokenServer, *oauth2.Config) {
	cloud := fakecloud.New(time.Hour)
	ts := &tokenServer{}
	mux := http.NewServeMux()
	tok := cloud.TokenHandler("drive")
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		ts.mu.Lock()
		ts.form = r.PostForm
		ts.mu.Unlock()
		tok.ServeHTTP(w, r)
	})
	mux.Handle("/device/code", cloud.DeviceCodeHandler())
	ts.srv = httptest.NewServer(mux)
	t.Cleanup(ts.srv.Close)
	return ts, &oauth2.Config{ClientID: "client", ClientSecret: "secret", Scopes: []string{"files"}, Endpoint: oauth2.Endpoint{
		AuthURL: ts.srv.URL + "/auth", TokenURL: ts.srv.URL + "/token", DeviceAuthURL: ts.srv.URL + "/device/code",
		AuthStyle: oauth2.AuthStyleInParams,
	}}
}

func (ts *tokenServer) lastForm() url.Values {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.form
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestDeviceFlow(t *testing.T) {
	ts, cfg := newTokenServer(t)
	var out strings.Builder
	tok, err := DeviceFlow(t.Context(), cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token %+v", tok)
	}
	if !strings.Contains(out.String(), ts.srv.URL+"/device") || !strings.Contains(out.String(), "enter the code ") {
		t.Errorf("instructions %q", out.String())
	}
	if g := ts.lastForm().Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:device_code" {
		t.Errorf("grant %q", g)
	}
	if strings.Contains(out.String(), tok.AccessToken) {
		t.Error("the token was printed")
	}
}

// browser plays the person: it follows the printed URL's redirect_uri with
// a code and the state it was given (or a forged one).
func browser(t *testing.T, forgeState bool, seen *url.Values) func(string) error {
	return func(authURL string) error {
		u, err := url.Parse(authURL)
		if err != nil {
			return err
		}
		q := u.Query()
		*seen = q
		state := q.Get("state")
		if forgeState {
			state = "forged"
		}
		resp, err := http.Get(q.Get("redirect_uri") + "?code=the-code&state=" + url.QueryEscape(state))
		if err != nil {
			t.Error(err)
			return nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	}
}

func TestLoopbackFlow(t *testing.T) {
	ts, cfg := newTokenServer(t)
	var out strings.Builder
	var seen url.Values
	tok, err := LoopbackFlow(t.Context(), cfg, &out, browser(t, false, &seen), oauth2.AccessTypeOffline)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	if !strings.HasPrefix(seen.Get("redirect_uri"), "http://127.0.0.1:") || !strings.HasSuffix(seen.Get("redirect_uri"), "/") ||
		seen.Get("code_challenge_method") != "S256" || seen.Get("access_type") != "offline" || seen.Get("state") == "" {
		t.Errorf("auth URL parameters %v", seen)
	}
	form := ts.lastForm()
	if form.Get("code") != "the-code" || s256(form.Get("code_verifier")) != seen.Get("code_challenge") ||
		form.Get("redirect_uri") != seen.Get("redirect_uri") {
		t.Errorf("exchange sent %v", form)
	}
	if !strings.Contains(out.String(), cfg.Endpoint.AuthURL) {
		t.Errorf("URL not printed: %q", out.String())
	}
}

func TestLoopbackFlowRefusesForgedState(t *testing.T) {
	_, cfg := newTokenServer(t)
	var seen url.Values
	_, err := LoopbackFlow(t.Context(), cfg, io.Discard, browser(t, true, &seen))
	if err == nil || !strings.Contains(err.Error(), "state") {
		t.Fatalf("forged state = %v", err)
	}
}

func TestLoopbackFlowStopsWithContext(t *testing.T) {
	_, cfg := newTokenServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := LoopbackFlow(ctx, cfg, io.Discard, func(string) error { return errors.New("no browser") })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func TestPasteFlow(t *testing.T) {
	ts, cfg := newTokenServer(t)
	var out strings.Builder
	tok, err := PasteFlow(t.Context(), cfg, strings.NewReader("  pasted-code \n"), &out, oauth2.SetAuthURLParam("token_access_type", "offline"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" {
		t.Fatal("no token")
	}
	printed := out.String()
	i := strings.Index(printed, cfg.Endpoint.AuthURL)
	if i < 0 {
		t.Fatalf("URL not printed: %q", printed)
	}
	u, _ := url.Parse(strings.Fields(printed[i:])[0])
	q := u.Query()
	if q.Get("redirect_uri") != "" || q.Get("code_challenge_method") != "S256" || q.Get("token_access_type") != "offline" {
		t.Errorf("auth URL parameters %v", q)
	}
	form := ts.lastForm()
	if form.Get("code") != "pasted-code" || s256(form.Get("code_verifier")) != q.Get("code_challenge") {
		t.Errorf("exchange sent %v", form)
	}
	if _, err := PasteFlow(t.Context(), cfg, strings.NewReader("\n"), io.Discard); err == nil {
		t.Error("an empty paste logged in")
	}
}
