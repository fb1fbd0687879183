package watcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a Sink that remembers every call.
type recorder struct {
	mu      sync.Mutex
	ready   []File
	missing []error
	back    int
	stuck   map[string]string // rel -> why, while reported stuck
	changed chan struct{}
}

func newRecorder() *recorder {
	return &recorder{changed: make(chan struct{}, 1), stuck: make(map[string]string)}
}

func (r *recorder) poke() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) Ready(f File) {
	r.mu.Lock()
	r.ready = append(r.ready, f)
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) Missing(_ string, err error) {
	r.mu.Lock()
	r.missing = append(r.missing, err)
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) Back(string) {
	r.mu.Lock()
	r.back++
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) Stuck(f File, _ time.Time, why string) {
	r.mu.Lock()
	r.stuck[f.Rel] = why
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) Unstuck(_, rel string) {
	r.mu.Lock()
	delete(r.stuck, rel)
	r.mu.Unlock()
	r.poke()
}

// stuckWhy is why rel is reported stuck, or "".
func (r *recorder) stuckWhy(rel string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stuck[rel]
}

// readyFor returns the Ready calls for rel, in order.
func (r *recorder) readyFor(rel string) []File {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []File
	for _, f := range r.ready {
		if f.Rel == rel {
			out = append(out, f)
		}
	}
	return out
}

func (r *recorder) rels() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range r.ready {
		out = append(out, f.Rel)
	}
	slices.Sort(out)
	return out
}

func (r *recorder) counts() (ready, missing, back int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ready), len(r.missing), r.back
}

// waitFor waits until cond holds, re-checking whenever the sink is called.
func (r *recorder) waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-r.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s; ready: %v", timeout, what, r.rels())
		}
	}
}

func (r *recorder) waitReady(t testing.TB, rel string, n int) []File {
	t.Helper()
	r.waitFor(t, fmt.Sprintf("%d Ready for %q", n, rel), 10*time.Second, func() bool {
		return len(r.readyFor(rel)) >= n
	})
	return r.readyFor(rel)
}

const testSettle = 200 * time.Millisecond

// start runs a watcher on cfg until the test ends. tune may adjust the watch before Run.
func start(t testing.TB, cfg Config, tune func(*watch)) (*Watcher, *recorder) {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "w"
	}
	if cfg.Settle == 0 {
		cfg.Settle = testSettle
	}
	rec := newRecorder()
	w, err := New([]Config{cfg}, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.watches[0].rootEvery = 100 * time.Millisecond
	if tune != nil {
		tune(w.watches[0])
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
	return w, rec
}

// startSynced starts a watcher and returns once its start-up scan is done and its
// watches are in place, which a pre-existing old file's Ready proves.
func startSynced(t testing.TB, cfg Config, tune func(*watch)) (*Watcher, *recorder) {
	t.Helper()
	writeOld(t, filepath.Join(cfg.Path, "sentinel.bak"), "s")
	w, rec := start(t, cfg, tune)
	rec.waitReady(t, "sentinel.bak", 1)
	return w, rec
}

func write(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeOld writes a file dated an hour ago, as a backup that finished long before start-up.
func writeOld(t testing.TB, p, content string) {
	t.Helper()
	write(t, p, content)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

// barrier writes a fresh file and waits for it: anything written before it that was going
// to be reported has been reported by then, since its deadline came first.
func barrier(t testing.TB, rec *recorder, dir string) {
	t.Helper()
	name := fmt.Sprintf("barrier-%d.bak", time.Now().UnixNano())
	write(t, filepath.Join(dir, name), "b")
	rec.waitReady(t, name, 1)
}

func only(t testing.TB, got []string, want ...string) {
	t.Helper()
	var filtered []string
	for _, g := range got {
		if g != "sentinel.bak" && !strings.HasPrefix(g, "barrier-") {
			filtered = append(filtered, g)
		}
	}
	slices.Sort(want)
	if !slices.Equal(filtered, want) {
		t.Fatalf("reported %q, want %q", filtered, want)
	}
}
