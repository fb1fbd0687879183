package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func (e *env) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.run(args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return out
}

func (e *env) mustFail(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.run(args...)
	if err == nil {
		t.Fatalf("%v exited 0:\n%s", args, out)
	}
	return out
}

// TestReadOnlyCommandsWorkWithAWatchMissing: the PC's backup disk died, and
// the shop needs its backup back. status, ls, restore and verify must work
// (with a warning); status shows the watch as missing; once still refuses.
func TestReadOnlyCommandsWorkWithAWatchMissing(t *testing.T) {
	e := newEnv(t, "200ms")
	os.WriteFile(filepath.Join(e.watch, "a.bak"), []byte("the only copy"), 0o644)
	e.mustRun(t, "once")
	os.RemoveAll(e.watch)

	out := e.mustRun(t, "status")
	for _, want := range []string{"warning", e.watch, "NOT OK", "watch pos", "MISSING"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if out := e.mustRun(t, "ls", "usb", "pos"); !strings.Contains(out, "a.bak") {
		t.Errorf("ls:\n%s", out)
	}
	to := filepath.Join(e.dir, "restored.bak")
	e.mustRun(t, "restore", "usb", "pos/a.bak", "--to", to)
	if b, _ := os.ReadFile(to); string(b) != "the only copy" {
		t.Errorf("restored %q", b)
	}
	if out := e.mustRun(t, "verify"); !strings.Contains(out, "1 upload(s) verified") {
		t.Errorf("verify:\n%s", out)
	}
	if out := e.mustFail(t, "once"); !strings.Contains(out, e.watch) || !strings.Contains(out, "does not exist") {
		t.Errorf("once with the watched folder gone:\n%s", out)
	}
}

// TestRetryProbesAndResumesAPausedDisk: the USB disk was unplugged, so the
// destination paused. Plugged back, `offsite retry` probes it now, resumes
// it and says so; while it is still missing, retry says that and fails.
func TestRetryProbesAndResumesAPausedDisk(t *testing.T) {
	e := newEnv(t, "200ms")
	os.WriteFile(filepath.Join(e.watch, "a.bak"), []byte("day end"), 0o644)
	os.RemoveAll(e.dest)
	e.mustFail(t, "once")
	if st := e.statusJSON(t); st["destinations"].([]any)[0].(map[string]any)["paused"] == nil {
		t.Fatalf("not paused: %v", st)
	}
	if out := e.mustFail(t, "retry"); !strings.Contains(out, "usb is still unusable") || !strings.Contains(out, "plug the backup disk in") {
		t.Errorf("retry with the disk still gone:\n%s", out)
	}
	os.MkdirAll(e.dest, 0o755) // plugged back in
	out := e.mustRun(t, "retry")
	if !strings.Contains(out, "usb works again") || !strings.Contains(out, "1 waiting upload(s)") {
		t.Errorf("retry after the disk is back:\n%s", out)
	}
	st := e.statusJSON(t)
	if d := st["destinations"].([]any)[0].(map[string]any); d["paused"] != nil {
		t.Errorf("still paused after a successful probe: %v", d)
	}
	e.mustRun(t, "once")
	if got := e.destFiles(); got["pos/a.bak"] != sha([]byte("day end")) || len(got) != 1 {
		t.Errorf("destination after retry and once: %v", got)
	}
}

// TestVerifyRepairRequeuesMissingCopies: a copy deleted at the destination
// is found by verify and uploaded again after verify --repair.
func TestVerifyRepairRequeuesMissingCopies(t *testing.T) {
	e := newEnv(t, "200ms")
	os.WriteFile(filepath.Join(e.watch, "a.bak"), []byte("aaa"), 0o644)
	os.WriteFile(filepath.Join(e.watch, "b.bak"), []byte("bbb"), 0o644)
	e.mustRun(t, "once")
	os.Remove(filepath.Join(e.dest, "pos", "a.bak"))
	os.WriteFile(filepath.Join(e.dest, "pos", "b.bak"), []byte("tampered"), 0o644)
	if out := e.mustFail(t, "verify"); !strings.Contains(out, "2 missing or changed") || !strings.Contains(out, "--repair") {
		t.Errorf("verify:\n%s", out)
	}
	out := e.mustRun(t, "verify", "--repair")
	for _, want := range []string{"re-queued pos/a.bak → usb", "re-queued pos/b.bak → usb", "2 upload(s) re-queued"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify --repair lacks %q:\n%s", want, out)
		}
	}
	e.mustRun(t, "once")
	if got := e.destFiles(); got["pos/a.bak"] != sha([]byte("aaa")) || got["pos/b.bak"] != sha([]byte("bbb")) {
		t.Errorf("after repair: %v", got)
	}
	if out := e.mustRun(t, "verify"); !strings.Contains(out, "2 upload(s) verified, 0 missing") {
		t.Errorf("verify after repair:\n%s", out)
	}
}

// testHook records what is posted to it.
type testHook struct {
	mu     sync.Mutex
	bodies []string
}

func (h *testHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, string(b))
	h.mu.Unlock()
}

func (h *testHook) first() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bodies[0]
}

func (h *testHook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

// TestCheckProvesTheAlertsWork: check sends a test message to each channel
// and fails on one that cannot be reached (a webhook, an SMTP server);
// `notify test` does the same on its own. check leaves nothing behind at
// the destination.
func TestCheckProvesTheAlertsWork(t *testing.T) {
	h := &testHook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	e := newEnv(t, "200ms")
	os.MkdirAll(filepath.Join(e.dest, ".offsite-check"), 0o755) // left by an older version
	e.appendConfig("notify:\n  - url: " + srv.URL + "/hook\n    on: [failure]\n")
	out := e.mustRun(t, "check")
	if h.count() != 1 || !strings.Contains(out, "test message sent") || !strings.Contains(out, "all good") {
		t.Fatalf("check: %d messages\n%s", h.count(), out)
	}
	var msg map[string]any
	if err := json.Unmarshal([]byte(h.first()), &msg); err != nil || !strings.Contains(fmt.Sprint(msg["text"], msg["subject"]), "test") {
		t.Errorf("test message %s (%v)", h.first(), err)
	}
	if entries, _ := os.ReadDir(e.dest); len(entries) != 0 {
		var names []string
		for _, d := range entries {
			names = append(names, d.Name())
		}
		t.Errorf("check left %v at the destination", names)
	}
	if out := e.mustRun(t, "notify", "test"); h.count() != 2 || !strings.Contains(out, "test message sent") {
		t.Errorf("notify test: %d messages\n%s", h.count(), out)
	}
	if out := e.mustRun(t, "check", "--no-notify"); h.count() != 2 || !strings.Contains(out, "all good") {
		t.Errorf("check --no-notify: %d messages\n%s", h.count(), out)
	}

	e.appendConfig("  - url: http://127.0.0.1:1/hook\n    on: [failure]\n  - url: smtp://127.0.0.1:1/?from=a@example.com&to=b@example.com\n    on: [failure]\n")
	out = e.mustFail(t, "check")
	if !strings.Contains(out, "2 problem(s)") || strings.Count(out, "test message not delivered") != 2 || !strings.Contains(out, "test message sent") {
		t.Errorf("check with two unreachable channels:\n%s", out)
	}
	if out := e.mustFail(t, "notify", "test"); !strings.Contains(out, "2 notification channel(s) failed") {
		t.Errorf("notify test with two unreachable channels:\n%s", out)
	}
}

// TestEmptyConfigIsRefused: an empty config used to pass check ("all good")
// and make run watch nothing.
func TestEmptyConfigIsRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "offsite.yaml")
	os.WriteFile(cfg, nil, 0o600)
	for _, cmd := range []string{"check", "run", "once"} {
		out, err := runWith(cmd, cfg)
		if err == nil || !strings.Contains(out, "nothing to back up") || strings.Contains(out, "all good") {
			t.Errorf("%s with an empty config: %v\n%s", cmd, err, out)
		}
	}
}

func runWith(cmd, cfg string) (string, error) {
	var out strings.Builder
	c := (&env{config: cfg}).cmd(cmd)
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	return out.String(), err
}

// TestPauseInThePastIsRefused: a pause that already ended would silence
// nothing and only mislead.
func TestPauseInThePastIsRefused(t *testing.T) {
	e := newEnv(t, "200ms")
	if out := e.mustFail(t, "pause", "--until", "2020-01-01"); !strings.Contains(out, "has passed") {
		t.Errorf("pause in the past:\n%s", out)
	}
	if out := e.mustRun(t, "pause", "--until", "2999-01-01"); !strings.Contains(out, "silenced until") {
		t.Errorf("pause in the future:\n%s", out)
	}
}
