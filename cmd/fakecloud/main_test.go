package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/dropbox/fakedropbox"
)

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--data", t.TempDir(), "--addr", "127.0.0.1:0", "--token-ttl", "1m"}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	base, _, ok := strings.Cut(strings.TrimPrefix(line, "fakecloud listening on "), " ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("unexpected banner %q", line)
	}

	resp, err := http.Get(base + "/drive/v3/files")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("drive without a token = %d, want 401", resp.StatusCode)
	}
	resp, err = http.Get(base + "/_fakecloud/stats")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"drive":{"requests":1`) {
		t.Errorf("stats = %s", body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	if err := run(t.Context(), []string{"--token-ttl", "soon"}, io.Discard); err == nil {
		t.Fatal("bad duration accepted")
	}
}

// TestHelpListsTheControlAPI runs the real binary: --help exits 0 and names
// every control route and fault kind, so no one has to read the source.
func TestHelpListsTheControlAPI(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "fakecloud")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("fakecloud --help: %v\n%s", err, out)
	}
	for _, want := range []string{
		"--data", "--addr", "--token-ttl",
		"POST   /_fakecloud/faults", "DELETE /_fakecloud/faults", "/_fakecloud/files", "/_fakecloud/stats",
		"/_fakecloud/quota", "/_fakecloud/tokens/expire", "/_fakecloud/tokens/revoke", "/_fakecloud/dropbox/sessions/expire",
		"status", "retry_after", "times", "skip", "reset_after_bytes", "drop_response", "corrupt_body", "hang",
		"device codes are approved", "offsite auth", "docs/providers.md",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--help does not mention %q", want)
		}
	}
	// Every control route the emulators mount, so a new one cannot go unlisted.
	routes := fakecloud.ControlRoutes()
	for _, r := range fakedropbox.Routes() {
		if strings.Contains(r, "/_fakecloud/") {
			routes = append(routes, r)
		}
	}
	for _, r := range routes {
		_, path, _ := strings.Cut(r, " ")
		path, _, _ = strings.Cut(path, "{") // tokens/{op}: its ops are listed one by one
		if !strings.Contains(string(out), path) {
			t.Errorf("--help does not list the control route %q", r)
		}
	}
}

// TestSignInPagesAnswer: the addresses `offsite auth` prints lead somewhere
// on the emulator: a browser sign-in comes straight back to its loopback
// redirect with a code and the same state, the others say what to do.
func TestSignInPagesAnswer(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	go func() { _ = run(ctx, []string{"--data", t.TempDir(), "--addr", "127.0.0.1:0"}, pw); pw.Close() }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	base, _, _ := strings.Cut(strings.TrimPrefix(line, "fakecloud listening on "), " ")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for _, p := range []string{"/o/oauth2/auth", "/oauth2/authorize", "/common/oauth2/v2.0/authorize"} {
		resp, err := noFollow.Get(base + p + "?client_id=x&state=s1&redirect_uri=" + url.QueryEscape("http://127.0.0.1:5555/cb"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://127.0.0.1:5555/cb?") || !strings.Contains(loc, "state=s1") || !strings.Contains(loc, "code=") {
			t.Errorf("%s with a loopback redirect = %d %q", p, resp.StatusCode, loc)
		}
	}
	// Not a loopback redirect: no redirect, a code to paste.
	resp, err := noFollow.Get(base + "/oauth2/authorize?redirect_uri=" + url.QueryEscape("http://example.invalid/cb"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "fakecloud-code") {
		t.Errorf("dropbox paste page = %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/device")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "approves every device code") {
		t.Errorf("/device = %d %s", resp.StatusCode, body)
	}
}
