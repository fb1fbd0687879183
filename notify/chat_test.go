package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// A chat service goes through shoutrrr with the subject as its title: ntfy,
// pointed at a loopback server.
func TestNtfyGetsTitleAndText(t *testing.T) {
	var mu sync.Mutex
	var path, title, body, auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		path, title, body, auth = r.URL.Path, r.Header.Get("Title"), string(b), r.Header.Get("Authorization")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"abc","event":"message"}`)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	box := NewMemoryOutbox()
	n := fastNotifier(t, []string{"ntfy://alice:Pa55word-x1@" + host + "/offsite-alerts?scheme=http"}, nil, box)
	ev := FolderMissing("pos", "/srv/pos")
	if err := n.Notify(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	runUntil(t, n, func() bool { return len(box.Pending()) == 0 })
	mu.Lock()
	defer mu.Unlock()
	if path != "/offsite-alerts" || title != ev.Subject || body != ev.Text || auth == "" {
		t.Errorf("path %q title %q auth %q body:\n%s", path, title, auth, body)
	}
}
