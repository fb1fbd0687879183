package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestPinger(t *testing.T) {
	var mu sync.Mutex
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		if strings.Contains(r.URL.Path, "missing") {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	const uuid = "3f2a1b9c-7d4e-4b0a-9c1d-2e3f4a5b6c7d"
	p := NewPinger([]string{srv.URL + "/ping/" + uuid, srv.URL + "/api/push/Xk3bD9a2QZ?status=up&msg=OK"}, srv.Client())
	ctx := context.Background()
	for _, f := range []func(context.Context) error{p.Start, p.Success, p.Fail} {
		if err := f(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"GET /ping/" + uuid + "/start",
		"GET /ping/" + uuid,
		"GET /api/push/Xk3bD9a2QZ?msg=OK&status=up",
		"GET /ping/" + uuid + "/fail",
		"GET /api/push/Xk3bD9a2QZ?msg=OK&status=down",
	}
	if !slices.Equal(hits, want) {
		t.Errorf("hits:\n%s\nwant:\n%s", strings.Join(hits, "\n"), strings.Join(want, "\n"))
	}

	bad := NewPinger([]string{srv.URL + "/missing/" + uuid}, srv.Client())
	err := bad.Success(ctx)
	if err == nil || !strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), uuid) {
		t.Errorf("err = %v; want a 404 without the check's UUID", err)
	}
}
