package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a loopback webhook and ping listener that keeps every
// request: the URL path, and the event when the body is a webhook's JSON.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	paths  []string
	events []hookEvent
}

type hookEvent struct {
	Kind    string            `json:"kind"`
	Key     string            `json:"key"`
	Subject string            `json:"subject"`
	Text    string            `json:"text"`
	Fields  map[string]string `json:"fields"`
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.paths = append(r.paths, req.URL.Path)
		var e hookEvent
		if json.Unmarshal(body, &e) == nil && e.Kind != "" {
			r.events = append(r.events, e)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) kinds(kind string) []hookEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []hookEvent
	for _, e := range r.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) pings(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.paths {
		if strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	return out
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := json.MarshalIndent(struct {
		Paths  []string
		Events []hookEvent
	}{r.paths, r.events}, "", " ")
	return string(b)
}

// appendConfig adds YAML to the env's config.
func (e *env) appendConfig(yaml string) {
	e.t.Helper()
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(e.config, append(cfg, []byte(yaml)...), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

type statusJSON struct {
	Destinations []struct {
		Name    string `json:"name"`
		GivenUp int    `json:"given_up"`
	} `json:"destinations"`
	Problems []struct {
		File string `json:"file"`
	} `json:"problems"`
	Removed []struct {
		File        string `json:"file"`
		Destination string `json:"destination"`
	} `json:"removed"`
}

func (e *env) status() statusJSON {
	e.t.Helper()
	out, err := e.run("status", "--json")
	if err != nil {
		e.t.Fatalf("status: %v\n%s", err, out)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		e.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return st
}

// TestRemovedBackupIsAlertedAndOnceFails: a queued backup deleted from the
// folder before it was sent reaches a webhook with the default `on` list
// as a failure alert, `once` exits non-zero, status lists it (not as given
// up) until `offsite ack`, and later runs neither alert it again nor fail.
func TestRemovedBackupIsAlertedAndOnceFails(t *testing.T) {
	e := newEnv(t, "200ms")
	hook := newRecorder(t)
	e.appendConfig("notify:\n  - url: " + hook.srv.URL + "/hook\n")
	os.WriteFile(filepath.Join(e.watch, "keep.bak"), []byte("kept"), 0o644)
	os.WriteFile(filepath.Join(e.watch, "day-1.bak"), []byte("rotated out"), 0o644)
	os.WriteFile(filepath.Join(e.watch, "day-2.bak"), []byte("rotated out too"), 0o644)
	// Uploads held: the files are queued but not sent.
	if out, err := e.run("pause", "--until", time.Now().AddDate(0, 0, 2).Format("2006-01-02"), "--hold"); err != nil {
		t.Fatalf("pause: %v\n%s", err, out)
	}
	if out, err := e.run("once"); exitCode(err) != 2 {
		t.Fatalf("once with held uploads: %v\n%s", err, out)
	}
	// The shop software rotates two of them out before they were sent.
	os.Remove(filepath.Join(e.watch, "day-1.bak"))
	os.Remove(filepath.Join(e.watch, "day-2.bak"))
	if out, err := e.run("resume"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	out, err := e.run("once")
	if exitCode(err) != 2 || !strings.Contains(out, "day-1.bak → usb: removed from the folder") {
		t.Fatalf("once after the deletion: exit %d, want 2 naming the removed backups\n%s", exitCode(err), out)
	}
	alerts := hook.kinds("failure")
	if len(alerts) != 1 || !strings.Contains(alerts[0].Subject, "2 backups were deleted before they were sent") ||
		!strings.Contains(alerts[0].Text, "pos/day-2.bak → usb") {
		t.Fatalf("want one grouped failure alert for both files; got:\n%s", hook)
	}
	st := e.status()
	if len(st.Removed) != 2 || st.Destinations[0].GivenUp != 0 || len(st.Problems) != 0 {
		t.Fatalf("status = %+v, want 2 removed, none given up or in problems", st)
	}
	if out, err := e.run("retry"); err != nil || !strings.HasPrefix(out, "0 failed upload") {
		t.Fatalf("retry revived removed jobs: %v\n%s", err, out)
	}
	if out, err := e.run("once"); err != nil {
		t.Fatalf("a later once fails for an already-told removal: %v\n%s", err, out)
	}
	if n := len(hook.kinds("failure")); n != 1 {
		t.Fatalf("removed backups alerted %d times, want once:\n%s", n, hook)
	}
	// A misspelt name is refused, not taken for "nothing to acknowledge".
	if out, err := e.run("ack", "--to", "usbb"); err == nil || !strings.Contains(out, `"usbb"`) || !strings.Contains(out, "usb") {
		t.Fatalf("ack --to usbb: %v\n%s", err, out)
	}
	if out, err := e.run("ack", "--watch", "poss"); err == nil || !strings.Contains(out, `no watch named "poss"`) {
		t.Fatalf("ack --watch poss: %v\n%s", err, out)
	}
	if out, err := e.run("ack"); err != nil || !strings.HasPrefix(out, "2 deleted backup(s) acknowledged") {
		t.Fatalf("ack: %v\n%s", err, out)
	}
	if st := e.status(); len(st.Removed) != 0 {
		t.Fatalf("status after ack still lists %d removed backups", len(st.Removed))
	}
}

// TestRewrittenBackupIsNotAlerted: a file rewritten before it was sent is
// normal: its new version goes out, no alert, `once` exits 0.
func TestRewrittenBackupIsNotAlerted(t *testing.T) {
	e := newEnv(t, "200ms")
	hook := newRecorder(t)
	e.appendConfig("notify:\n  - url: " + hook.srv.URL + "/hook\n")
	p := filepath.Join(e.watch, "data.bak")
	os.WriteFile(p, []byte("version one"), 0o644)
	if out, err := e.run("pause", "--until", time.Now().AddDate(0, 0, 2).Format("2006-01-02"), "--hold"); err != nil {
		t.Fatalf("pause: %v\n%s", err, out)
	}
	e.run("once")
	os.WriteFile(p, []byte("version two, longer"), 0o644)
	os.Chtimes(p, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	e.run("resume")
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once after a rewrite: %v\n%s", err, out)
	}
	if n := len(hook.kinds("failure")); n != 0 {
		t.Fatalf("a rewritten backup raised %d failure alerts:\n%s", n, hook)
	}
	if st := e.status(); len(st.Removed) != 0 || st.Destinations[0].GivenUp != 0 {
		t.Fatalf("status = %+v", st)
	}
}

// TestOncePingsStartThenEnd: `once` sends URL/start when it begins and the
// success ping when it ends, and waits for both before it exits; a run
// that failed sends URL/fail and exits non-zero.
func TestOncePingsStartThenEnd(t *testing.T) {
	e := newEnv(t, "200ms")
	rec := newRecorder(t)
	e.appendConfig("healthcheck:\n  - " + rec.srv.URL + "/ping/abc\n")
	os.WriteFile(filepath.Join(e.watch, "a.bak"), []byte("hello"), 0o644)
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once: %v\n%s", err, out)
	}
	if got := strings.Join(rec.pings("/ping/"), " "); got != "/ping/abc/start /ping/abc" {
		t.Fatalf("pings after a good once: %q, want start then success", got)
	}
	// The backup disk is unplugged: the next run fails and says so.
	os.RemoveAll(e.dest)
	os.WriteFile(filepath.Join(e.watch, "b.bak"), []byte("world"), 0o644)
	if out, err := e.run("once"); exitCode(err) != 2 {
		t.Fatalf("once with the disk unplugged: exit %d\n%s", exitCode(err), out)
	}
	if got := strings.Join(rec.pings("/ping/"), " "); got != "/ping/abc/start /ping/abc /ping/abc/start /ping/abc/fail" {
		t.Fatalf("pings after a failed once: %q, want start then fail", got)
	}
}

// TestRunPingsStartThenEnd: the daemon pings URL/start when an upload run
// begins and the success ping when it ends.
func TestRunPingsStartThenEnd(t *testing.T) {
	e := newEnv(t, "200ms")
	rec := newRecorder(t)
	e.appendConfig("healthcheck:\n  - " + rec.srv.URL + "/ping/abc\n")
	c := e.cmd("run")
	var log syncBuffer
	c.Stderr = &log
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	os.WriteFile(filepath.Join(e.watch, "a.bak"), []byte("hello"), 0o644)
	waitFor(t, 30*time.Second, func() bool { return len(rec.pings("/ping/")) >= 2 }, &log)
	time.Sleep(300 * time.Millisecond)
	if got := strings.Join(rec.pings("/ping/"), " "); got != "/ping/abc/start /ping/abc" {
		t.Fatalf("pings of one upload run: %q, want start then success\n%s", got, log.String())
	}
}

// TestOnceLogsToTheStateFolder: `once`, run by a task scheduler with no
// console, leaves its log in state_dir/offsite.log.
func TestOnceLogsToTheStateFolder(t *testing.T) {
	e := newEnv(t, "200ms")
	os.WriteFile(filepath.Join(e.watch, "a.bak"), []byte("hello"), 0o644)
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(e.dir, "state", "offsite.log"))
	if err != nil || !strings.Contains(string(b), "uploaded") {
		t.Fatalf("offsite.log after once: %v\n%s", err, b)
	}
}

// TestOnceChecksMissedAndSmallBackups: a shop that runs `once` from a task
// scheduler gets the missed-backup and small-backup alerts, each once.
func TestOnceChecksMissedAndSmallBackups(t *testing.T) {
	e := newEnv(t, "200ms")
	cfg, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, []byte(strings.Replace(string(cfg), "    recursive: true\n", "    recursive: true\n    expect_every: 2s\n", 1)), 0o600)
	hook := newRecorder(t)
	e.appendConfig("notify:\n  - url: " + hook.srv.URL + "/hook\n")
	once := func(step string) {
		t.Helper()
		if out, err := e.run("once"); err != nil {
			t.Fatalf("once (%s): %v\n%s", step, err, out)
		}
	}
	count := func(subject string) int {
		n := 0
		for _, ev := range hook.kinds("missed") {
			if strings.Contains(ev.Subject, subject) {
				n++
			}
		}
		return n
	}
	for i := range 3 {
		os.WriteFile(filepath.Join(e.watch, fmt.Sprintf("day-%d.bak", i)), randomData(uint64(i), 10_000), 0o644)
	}
	once("three usual backups")
	time.Sleep(2500 * time.Millisecond)
	once("overdue")
	once("still overdue")
	if count("no new backup") != 1 {
		t.Fatalf("want one missed-backup alert:\n%s", hook)
	}
	os.WriteFile(filepath.Join(e.watch, "day-3.bak"), []byte("tiny"), 0o644)
	once("a tiny backup")
	once("nothing new")
	if count("much smaller than usual") != 1 {
		t.Fatalf("want one small-backup alert:\n%s", hook)
	}
	keys := map[string]bool{}
	for _, ev := range hook.kinds("missed") {
		if keys[ev.Key] {
			t.Fatalf("alert %s sent twice:\n%s", ev.Key, hook)
		}
		keys[ev.Key] = true
	}
}
