package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHTTPRefusesForeignHostHeaders: a page that rebinds its own name to
// 127.0.0.1 reaches the listener with that name as Host; it gets 421 and
// no status, while every way of naming this computer is served.
func TestHTTPRefusesForeignHostHeaders(t *testing.T) {
	a, _ := testApp(t)
	a.Cfg.HTTP = "127.0.0.1:8742"
	p, err := a.pipeline(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := a.httpHandler(p)
	for _, tc := range []struct {
		host string
		want int
	}{
		{"localhost", 200},
		{"localhost:8742", 200},
		{"LOCALHOST:8742", 200},
		{"127.0.0.1", 200},
		{"127.0.0.1:8742", 200},
		{"[::1]", 200},
		{"[::1]:8742", 200},
		{"evil.example", http.StatusMisdirectedRequest},
		{"evil.example:8742", http.StatusMisdirectedRequest},
		{"127.0.0.1.nip.io:8742", http.StatusMisdirectedRequest},
		{"localhost.evil.example", http.StatusMisdirectedRequest},
		{"192.168.1.20:8742", http.StatusMisdirectedRequest},
		{"", http.StatusMisdirectedRequest},
	} {
		for _, path := range []string{"/healthz", "/metrics"} {
			r := httptest.NewRequest("GET", path, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("GET %s with Host %q = %d, want %d", path, tc.host, w.Code, tc.want)
			}
		}
	}
}
