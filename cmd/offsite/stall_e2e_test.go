package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/dropbox/fakedropbox"
	"github.com/offsite-backup/offsite/providers/gdrive/fakedrive"
	"github.com/offsite-backup/offsite/providers/onedrive/fakegraph"
)

// emulator is one cloud emulator for a stall test.
type emulator struct {
	files func() []fakecloud.File
	srv   *httptest.Server
}

func startEmulator(t *testing.T, typ string) emulator {
	t.Helper()
	cloud := fakecloud.New(0)
	dir := filepath.Join(t.TempDir(), "cloud")
	var (
		files    func() []fakecloud.File
		register func(fakecloud.Mux)
	)
	switch typ {
	case "gdrive":
		s, err := fakedrive.New(cloud, dir)
		if err != nil {
			t.Fatal(err)
		}
		files, register = s.Files, s.Register
	case "dropbox":
		s, err := fakedropbox.New(cloud, dir)
		if err != nil {
			t.Fatal(err)
		}
		files, register = s.Files, s.Register
	case "onedrive":
		s, err := fakegraph.New(cloud, dir)
		if err != nil {
			t.Fatal(err)
		}
		files, register = s.Files, s.Register
	}
	return emulator{files: files, srv: serveEmulator(t, cloud, register)}
}

// fault posts a fault to the emulator's control API, as a test script would.
func (em emulator) fault(t *testing.T, body string) {
	t.Helper()
	resp, err := http.Post(em.srv.URL+"/_fakecloud/faults", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("fault %s: %s", body, resp.Status)
	}
}

func (em emulator) has(name string) bool {
	for _, f := range em.files() {
		if strings.HasSuffix(f.Path, "/"+name) {
			return true
		}
	}
	return false
}

// cloudEnv is an env whose only destination is a cloud of type typ at
// url, logged in with an expired access token (the first call refreshes),
// with timeout: 1s and extra top-level config lines.
func cloudEnv(t *testing.T, typ, url, extra string) *env {
	t.Helper()
	e := newEnv(t, "200ms")
	os.MkdirAll(filepath.Join(e.dir, "state"), 0o700)
	os.WriteFile(filepath.Join(e.dir, "state", "cloud-token.json"),
		[]byte(`{"access_token":"x","refresh_token":"r","expiry":"2001-01-01T00:00:00Z"}`), 0o600)
	cfg := fmt.Sprintf(`state_dir: %s
%swatches:
  - name: pos
    path: %s
    settle: 200ms
    destinations: [cloud]
destinations:
  - name: cloud
    type: %s
    folder: Backups
    endpoint: %s
    timeout: 1s
retry:
  initial: 100ms
  max: 1s
`, filepath.Join(e.dir, "state"), extra, e.watch, typ, url)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestPushGivesUpOnAHangingCloud: a service that accepts every request and
// never answers (fakecloud's hang fault) used to hold `offsite push` for
// good; now push gives up well within two minutes, exits non-zero and
// says the service or the network stalled.
func TestPushGivesUpOnAHangingCloud(t *testing.T) {
	for _, typ := range []string{"gdrive", "dropbox", "onedrive"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			em := startEmulator(t, typ)
			e := cloudEnv(t, typ, em.srv.URL, "")
			file := filepath.Join(e.dir, "day.bak")
			os.WriteFile(file, randomData(1, 100_000), 0o644)
			em.fault(t, `{"service":"any","hang":true}`)

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var out bytes.Buffer
			c := exec.CommandContext(ctx, offsiteBin, "push", file, "--to", "cloud", "-c", e.config)
			c.Stdout, c.Stderr = &out, &out
			start := time.Now()
			err := c.Run()
			took := time.Since(start)
			if ctx.Err() != nil {
				t.Fatalf("push still hangs after %v:\n%s", took, out.String())
			}
			if err == nil {
				t.Fatalf("push to a hanging service succeeded:\n%s", out.String())
			}
			if !strings.Contains(out.String(), "the service or the network stalled") {
				t.Errorf("push's error does not say what happened:\n%s", out.String())
			}
			// One stalled call, not one per retry layer and attempt: with
			// the default timeout of 1m that is what keeps push well
			// within two minutes (a token fetch may stall once first).
			if took > 4*time.Second {
				t.Errorf("push gave up after %v with timeout: 1s, want at most a stall or two (a stall is not retried within the call)", took)
			}
			t.Logf("push gave up after %v: %s", took.Round(100*time.Millisecond), strings.TrimSpace(out.String()))
		})
	}
}

// TestDaemonMovesOnAfterAStalledUpload: with one worker, an upload the
// service never answers (hang fault on that file's path only) used to hold
// the worker, and every upload behind it, for good. Now the stalled job is
// given up and retried later, and the next file still goes out.
func TestDaemonMovesOnAfterAStalledUpload(t *testing.T) {
	em := startEmulator(t, "onedrive") // Graph addresses items by path, so a fault can pick one file
	e := cloudEnv(t, "onedrive", em.srv.URL, "workers: 1\n")
	em.fault(t, `{"service":"onedrive","path":"stuck.bak","hang":true}`)

	var log syncBuffer
	run := e.cmd("run")
	run.Stdout, run.Stderr = &log, &log
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		run.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { run.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			run.Process.Kill()
			<-done
			t.Errorf("offsite run did not stop within 20s of an interrupt")
		}
	}()
	os.WriteFile(filepath.Join(e.watch, "stuck.bak"), []byte("this one stalls"), 0o644)
	// Let the only worker take the stalled upload before the next file is ready.
	time.Sleep(2 * time.Second)
	os.WriteFile(filepath.Join(e.watch, "next.bak"), []byte("this one must still go out"), 0o644)
	start := time.Now()
	waitFor(t, 90*time.Second, func() bool { return em.has("next.bak") }, &log)
	t.Logf("next.bak uploaded %v after it was written, while stuck.bak stalls", time.Since(start).Round(100*time.Millisecond))
	if em.has("stuck.bak") {
		t.Fatal("stuck.bak was stored through a hang fault")
	}
	out, err := e.run("status", "--json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if !strings.Contains(out, "stalled") {
		t.Errorf("status does not show why stuck.bak is not offsite:\n%s", out)
	}
}
