package throttle

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/gdrive"
	"github.com/offsite-backup/offsite/providers/gdrive/fakedrive"
	"github.com/offsite-backup/offsite/providers/oauth"
)

// chunkCounter counts resumable chunk PUTs and runs afterChunk once each
// has been answered.
type chunkCounter struct {
	base       http.RoundTripper
	mu         sync.Mutex
	chunks     int
	afterChunk func(n int)
}

func (c *chunkCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/upload/") {
		c.mu.Lock()
		c.chunks++
		n := c.chunks
		c.mu.Unlock()
		if c.afterChunk != nil {
			c.afterChunk(n)
		}
	}
	return resp, err
}

func (c *chunkCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.chunks
}

// TestWindowPausesChunkedUploadAtBoundary closes the window after the third
// chunk of a real resumable Drive upload (to the emulator): no chunk goes
// out while it is closed, and once it opens the same session carries on
// with the fourth chunk, sending each chunk exactly once.
func TestWindowPausesChunkedUploadAtBoundary(t *testing.T) {
	const chunk, chunks = 256 << 10, 8
	cloud := fakecloud.New(time.Hour)
	drv, err := fakedrive.New(cloud, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	drv.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "token.json")
	access, ttl := cloud.IssueToken("drive")
	tok := &oauth2.Token{AccessToken: access, TokenType: "Bearer", RefreshToken: "r", Expiry: time.Now().Add(ttl)}
	if err := (oauth.Store{Path: tokenFile, Dest: "cloud"}).Save(tok); err != nil {
		t.Fatal(err)
	}

	var open atomic.Bool
	open.Store(true)
	paused := make(chan struct{})
	cc := &chunkCounter{base: http.DefaultTransport, afterChunk: func(n int) {
		if n == 3 {
			open.Store(false)
			close(paused)
		}
	}}
	c, err := gdrive.New(context.Background(), gdrive.Config{Name: "cloud", Folder: "Backups", TokenFile: tokenFile,
		ClientID: "id", ClientSecret: "s", Endpoint: srv.URL, ChunkSize: chunk, MaxChunkSize: chunk, Transport: cc}) // chunks of one size, counted below
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, chunk*chunks)
	rand.Read(data)
	sum := sha256.Sum256(data)

	ctx := context.Background()
	body := GateReader(ctx, bytes.NewReader(data), func(time.Time) bool { return open.Load() }, 5*time.Millisecond)
	done := make(chan error, 1)
	go func() {
		_, err := c.Put(ctx, "pos/big.bak", body, int64(len(data)), providers.PutOptions{})
		done <- err
	}()
	<-paused
	time.Sleep(300 * time.Millisecond) // 60 polls of a closed window
	if n := cc.count(); n != 3 {
		t.Fatalf("%d chunks sent while the window was closed, want the 3 sent before it closed", n)
	}
	select {
	case err := <-done:
		t.Fatalf("upload ended while the window was closed: %v", err)
	default:
	}
	open.Store(true)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("upload did not resume after the window opened")
	}
	if n := cc.count(); n != chunks {
		t.Errorf("%d chunk requests in all, want %d (each chunk once, one session)", n, chunks)
	}
	files := drv.Files()
	if len(files) != 1 || files[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("stored %+v, want one file with sha256 %x", files, sum)
	}
}

func TestGateUnblocksOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := GateReader(ctx, bytes.NewReader([]byte("x")), func(time.Time) bool { return false }, time.Millisecond)
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := r.Read(make([]byte, 1)); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestGateOpenPassesThrough(t *testing.T) {
	r := GateReader(context.Background(), bytes.NewReader([]byte("hello")), func(time.Time) bool { return true }, time.Hour)
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "hello" {
		t.Fatalf("read %q, %v", b, err)
	}
	if GateReader(context.Background(), bytes.NewReader(nil), nil, 0) == nil {
		t.Fatal("nil window must pass the reader through")
	}
}
