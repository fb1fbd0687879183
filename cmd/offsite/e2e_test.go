package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/dropbox/fakedropbox"
	"github.com/offsite-backup/offsite/providers/gdrive/fakedrive"
	"github.com/offsite-backup/offsite/providers/onedrive/fakegraph"
)

// These tests drive the real binary, as a shop's PC would: real files
// written by a separate writer, the daemon killed with SIGKILL, and the
// destination read back independently.

var offsiteBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "offsite-bin")
	if err != nil {
		panic(err)
	}
	offsiteBin = filepath.Join(dir, "offsite")
	if out, err := exec.Command("go", "build", "-race", "-o", offsiteBin, ".").CombinedOutput(); err != nil {
		// -race needs cgo; fall back to a plain build.
		if out2, err2 := exec.Command("go", "build", "-o", offsiteBin, ".").CombinedOutput(); err2 != nil {
			fmt.Fprintf(os.Stderr, "build offsite: %v\n%s\n%s", err2, out, out2)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type env struct {
	t      *testing.T
	dir    string
	watch  string
	dest   string
	config string
}

func newEnv(t *testing.T, settle string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, watch: filepath.Join(dir, "backups"), dest: filepath.Join(dir, "usb"), config: filepath.Join(dir, "offsite.yaml")}
	os.MkdirAll(e.watch, 0o755)
	os.MkdirAll(e.dest, 0o755)
	cfg := fmt.Sprintf(`state_dir: %s
watches:
  - name: pos
    path: %s
    settle: %s
    recursive: true
    destinations: [usb]
destinations:
  - name: usb
    type: local
    path: %s
retry:
  initial: 100ms
  max: 1s
`, filepath.Join(dir, "state"), e.watch, settle, e.dest)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) cmd(args ...string) *exec.Cmd {
	c := exec.Command(offsiteBin, append(args, "-c", e.config)...)
	return c
}

func (e *env) run(args ...string) (string, error) {
	var out bytes.Buffer
	c := e.cmd(args...)
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	return out.String(), err
}

// destFiles maps every file at the destination to its sha256.
func (e *env) destFiles() map[string]string {
	got := map[string]string{}
	filepath.WalkDir(e.dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(e.dest, p)
		b, _ := os.ReadFile(p)
		sum := sha256.Sum256(b)
		got[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	return got
}

// storedFiles is destFiles without uploads still in progress (the local
// adapter's temp files, renamed when complete), for tests that watch a
// running daemon. After the daemon has stopped, destFiles must show none.
func (e *env) storedFiles() map[string]string {
	got := e.destFiles()
	for name := range got {
		if strings.HasPrefix(path.Base(name), ".offsite-tmp-") {
			delete(got, name)
		}
	}
	return got
}

// writeSlowly writes data in pieces, as a backup program does.
func writeSlowly(t *testing.T, path string, data []byte, pieces int, pause time.Duration) {
	f, err := os.Create(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	step := max(1, len(data)/pieces)
	for i := 0; i < len(data); i += step {
		f.Write(data[i:min(len(data), i+step)])
		time.Sleep(pause)
	}
}

func randomData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestOnceUploadsWhatRealWritersLeave covers the shapes backups arrive in:
// Unicode and spaced names, a 0-byte file, lock and temp files beside them.
func TestOnceUploadsWhatRealWritersLeave(t *testing.T) {
	e := newEnv(t, "300ms")
	want := map[string][]byte{
		"säkerhetskopia_åäö.bak": randomData(1, 5000),
		"sao_lưu_dữ_liệu.xlsx":   randomData(2, 7000),
		"Kassa 1/day end.zip":    randomData(3, 9000),
		"empty.bak":              {},
	}
	for name, data := range want {
		os.MkdirAll(filepath.Dir(filepath.Join(e.watch, name)), 0o755)
		os.WriteFile(filepath.Join(e.watch, name), data, 0o644)
	}
	for _, junk := range []string{"~$ledger.xlsx", ".~lock.ledger.xlsx#", "upload.tmp", "movie.part", ".rsync.a1b2c3"} {
		os.WriteFile(filepath.Join(e.watch, junk), []byte("junk"), 0o644)
	}
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once: %v\n%s", err, out)
	}
	got := e.destFiles()
	for name, data := range want {
		if got["pos/"+name] != sha(data) {
			t.Errorf("%s: missing or different at the destination", name)
		}
	}
	if len(got) != len(want) {
		t.Errorf("destination holds %d files, want %d: %v", len(got), len(want), got)
	}
	// A second run finds nothing new to send.
	before := e.destFiles()
	if out, err := e.run("once"); err != nil {
		t.Fatalf("second once: %v\n%s", err, out)
	}
	if after := e.destFiles(); len(after) != len(before) {
		t.Errorf("second once changed the destination: %v", after)
	}
}

// TestRunSendsNewVersionsBeside checks overwrite-in-place: two versions of
// one name both arrive, the second with a timestamped name.
func TestRunSendsNewVersionsBeside(t *testing.T) {
	e := newEnv(t, "300ms")
	c := e.cmd("run")
	var log syncBuffer
	c.Stderr = &log
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Signal(syscall.SIGTERM); c.Wait() }()
	v1, v2 := randomData(10, 30000), randomData(11, 40000)
	writeSlowly(t, filepath.Join(e.watch, "data.xlsx"), v1, 5, 100*time.Millisecond)
	waitFor(t, 10*time.Second, func() bool { return len(e.storedFiles()) == 1 }, &log)
	time.Sleep(1100 * time.Millisecond) // a new mtime second
	writeSlowly(t, filepath.Join(e.watch, "data.xlsx"), v2, 5, 100*time.Millisecond)
	waitFor(t, 10*time.Second, func() bool { return len(e.storedFiles()) == 2 }, &log)
	got := e.storedFiles()
	if got["pos/data.xlsx"] != sha(v1) {
		t.Errorf("first version overwritten or missing: %v", got)
	}
	found := false
	for name, sum := range got {
		if strings.HasPrefix(name, "pos/data.") && strings.HasSuffix(name, "Z.xlsx") && sum == sha(v2) {
			found = true
		}
	}
	if !found {
		t.Errorf("second version not stored beside the first with a timestamp: %v", got)
	}
	c.Process.Signal(syscall.SIGTERM)
	if err := c.Wait(); err != nil {
		t.Errorf("run did not exit cleanly on SIGTERM: %v\n%s", err, log.String())
	}
}

func TestSecondRunNamesTheHolder(t *testing.T) {
	e := newEnv(t, "1s")
	c := e.cmd("run")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	// Wait until the first one holds the lock, so the second cannot win the race.
	lockFile := filepath.Join(e.dir, "state", "offsite.lock")
	holder := fmt.Sprintf("pid %d", c.Process.Pid)
	waitFor(t, 10*time.Second, func() bool {
		b, _ := os.ReadFile(lockFile)
		return strings.Contains(string(b), holder)
	}, &syncBuffer{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, offsiteBin, "run", "-c", e.config).CombinedOutput()
	if err == nil || !strings.Contains(string(out), holder) {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	// After a kill -9 the lock goes with the process.
	c.Process.Kill()
	c.Wait()
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once after the holder was killed: %v\n%s", err, out)
	}
}

// TestKillLoop kills `offsite run` with SIGKILL at random moments while
// files keep arriving, then runs `offsite once`: every file must be at the
// destination exactly once with its hash, and nothing partial visible.
func TestKillLoop(t *testing.T) {
	kills := 20
	if testing.Short() {
		kills = 5
	}
	if n := os.Getenv("OFFSITE_KILLS"); n != "" {
		fmt.Sscan(n, &kills)
	}
	e := newEnv(t, "200ms")
	want := killLoop(t, e, kills, 3_000_000)
	checkExactlyOnce(t, "the destination", e.destFiles(), want)
	t.Logf("%d kills, %d files, all present exactly once", kills, len(want))
}

// TestKillLoopDrive is the kill loop with Google Drive's emulator as a
// second destination: Drive allows two files of one name, so a retried
// create after a kill is exactly where a duplicate would appear.
func TestKillLoopDrive(t *testing.T) {
	_, drv, srv := startDrive(t)
	kills, want := cloudKillLoop(t, "gdrive", srv.URL, "256KiB", 1_000_000, drv.Files)
	t.Logf("%d kills, %d files, each once locally and once on Drive", kills, len(want))
}

// TestKillLoopDropbox: the same through Dropbox, with files large enough
// (every tenth: 10 MB, three chunks) for concurrent upload sessions that
// the kills interrupt and the restarts resume from the queue.
func TestKillLoopDropbox(t *testing.T) {
	cloud := fakecloud.New(0)
	dbx, err := fakedropbox.New(cloud, filepath.Join(t.TempDir(), "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	srv := serveEmulator(t, cloud, dbx.Register)
	kills, want := cloudKillLoop(t, "dropbox", srv.URL, "4MiB", 10_000_000, dbx.Files)
	var total int64
	for _, f := range dbx.Files() {
		total += f.Size
	}
	// A kill loses at most what was in flight: two chunks of a session
	// (acknowledged chunks are never sent again) and the small files
	// being uploaded whole by the other workers.
	sent := cloud.StatsOf("dropbox").UploadBytes
	if limit := total + int64(kills)*(2*4<<20+4*200_000); sent > limit {
		t.Errorf("Dropbox received %d upload bytes for %d bytes of files after %d kills, more than %d", sent, total, kills, limit)
	}
	t.Logf("%d kills, %d files, each once locally and once on Dropbox; %d upload bytes for %d", kills, len(want), sent, total)
}

// TestKillLoopOneDrive: the same through OneDrive, whose upload sessions
// live at URLs of their own and accept byte ranges in multiples of 320 KiB:
// a restart resumes each from the range the service says it holds.
func TestKillLoopOneDrive(t *testing.T) {
	cloud := fakecloud.New(0)
	g, err := fakegraph.New(cloud, filepath.Join(t.TempDir(), "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	srv := serveEmulator(t, cloud, g.Register)
	kills, want := cloudKillLoop(t, "onedrive", srv.URL, "640KiB", 3_000_000, g.Files)
	var total int64
	for _, f := range g.Files() {
		total += f.Size
	}
	// As with Dropbox: a kill costs at most two ranges of a session and the
	// small files in flight.
	sent := cloud.StatsOf("onedrive").UploadBytes
	if limit := total + int64(kills)*(2*640<<10+4*200_000); sent > limit {
		t.Errorf("OneDrive received %d upload bytes for %d bytes of files after %d kills, more than %d", sent, total, kills, limit)
	}
	t.Logf("%d kills, %d files, each once locally and once on OneDrive; %d upload bytes for %d", kills, len(want), sent, total)
}

// cloudKillLoop runs the kill loop with a cloud destination of type typ
// (served at url) beside the local one, and checks that both hold every
// file exactly once; files lists what the cloud's emulator stores.
func cloudKillLoop(t *testing.T, typ, url, chunk string, big int, files func() []fakecloud.File) (int, map[string]string) {
	t.Helper()
	kills := 10
	if testing.Short() {
		kills = 3
	}
	if n := os.Getenv("OFFSITE_KILLS"); n != "" {
		fmt.Sscan(n, &kills)
	}
	e := newEnv(t, "200ms")
	os.MkdirAll(filepath.Join(e.dir, "state"), 0o700)
	os.WriteFile(filepath.Join(e.dir, "state", "cloud-token.json"),
		[]byte(`{"access_token":"x","refresh_token":"r","expiry":"2001-01-01T00:00:00Z"}`), 0o600)
	cfg, _ := os.ReadFile(e.config)
	cfg = []byte(strings.Replace(string(cfg), "destinations: [usb]", "destinations: [usb, cloud]", 1))
	cfg = []byte(strings.Replace(string(cfg), "retry:", fmt.Sprintf(`  - name: cloud
    type: %s
    folder: Backups
    endpoint: %s
    chunk_size: %s
retry:`, typ, url, chunk), 1))
	os.WriteFile(e.config, cfg, 0o600)
	want := killLoop(t, e, kills, big)
	checkExactlyOnce(t, "the local destination", e.destFiles(), want)
	got := map[string]string{}
	for _, f := range files() {
		p := strings.TrimPrefix(f.Path, "Backups/")
		if _, dup := got[p]; dup {
			t.Errorf("%s holds %s twice", typ, p)
		}
		got[p] = f.SHA256
	}
	checkExactlyOnce(t, typ, got, want)
	return kills, want
}

// startDrive serves Drive's emulator on loopback for one test.
func startDrive(t *testing.T) (*fakecloud.Cloud, *fakedrive.Server, *httptest.Server) {
	t.Helper()
	cloud := fakecloud.New(0)
	drv, err := fakedrive.New(cloud, filepath.Join(t.TempDir(), "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	return cloud, drv, serveEmulator(t, cloud, drv.Register)
}

// serveEmulator serves an emulator and cloud's control API on loopback
// for one test.
func serveEmulator(t *testing.T, cloud *fakecloud.Cloud, register func(fakecloud.Mux)) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/_fakecloud/", cloud.ControlHandler())
	register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// killLoop runs a writer that keeps adding backups (every tenth of big
// size, written in pieces) while `offsite run` is killed with SIGKILL at
// random moments, then runs `offsite once`. It returns the files written,
// as remote path → sha256.
func killLoop(t *testing.T, e *env, kills, big int) map[string]string {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	want := map[string]string{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the shop program
		defer close(done)
		r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("day-%04d.bak", i)
			if i%7 == 0 {
				name = fmt.Sprintf("Kassa %d/sub %d/day-%04d.zip", i%3, i%2, i)
			}
			size := 1000 + r.IntN(200_000)
			if i%10 == 0 {
				size = big
			}
			data := randomData(uint64(i), size)
			p := filepath.Join(e.watch, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			writeSlowly(t, p, data, 4, 20*time.Millisecond)
			want["pos/"+filepath.ToSlash(name)] = sha(data)
			time.Sleep(time.Duration(r.IntN(60)) * time.Millisecond)
		}
	}()
	for k := 0; k < kills; k++ {
		c := e.cmd("run")
		var log bytes.Buffer
		c.Stderr = &log
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+r.IntN(900)) * time.Millisecond)
		c.Process.Kill()
		c.Wait()
		if strings.Contains(log.String(), "panic") {
			t.Fatalf("daemon panicked:\n%s", log.String())
		}
	}
	close(stop)
	<-done
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once after %d kills: %v\n%s", kills, err, out)
	}
	return want
}

// checkExactlyOnce compares what a destination holds with what was written.
func checkExactlyOnce(t *testing.T, where string, got, want map[string]string) {
	t.Helper()
	for name, sum := range want {
		if got[name] != sum {
			t.Errorf("%s: %s holds %q, want %s", name, where, got[name], sum)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected file in %s (partial, temp or duplicate): %s", where, name)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	e := newEnv(t, "200ms")
	os.WriteFile(filepath.Join(e.watch, "a.bak"), []byte("hello"), 0o644)
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once: %v\n%s", err, out)
	}
	out, err := e.run("status", "--json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	var st struct {
		Destinations []struct {
			Name string `json:"name"`
			Done int    `json:"done"`
		} `json:"destinations"`
		Recent []struct {
			Remote string `json:"remote"`
		} `json:"recent"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, out)
	}
	if len(st.Destinations) != 1 || st.Destinations[0].Done != 1 || len(st.Recent) != 1 || st.Recent[0].Remote != "pos/a.bak" {
		t.Fatalf("status = %+v", st)
	}
}

func TestBadConfigNamesLineAndFix(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "offsite.yaml")
	os.WriteFile(cfg, []byte("watches:\n  - name: pos\n    path: /does/not/exist\n    destinations: [usb]\ndestinations:\n  - name: usb\n    type: local\n    path: /tmp\n    retires: 5\n"), 0o600)
	out, err := exec.Command(offsiteBin, "check", "-c", cfg).CombinedOutput()
	if err == nil {
		t.Fatal("check accepted a bad config")
	}
	for _, want := range []string{"offsite.yaml:3", "/does/not/exist", "offsite.yaml:9", "retires"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("error lacks %q:\n%s", want, out)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while a process writes into it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func waitFor(t *testing.T, d time.Duration, cond func() bool, log fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("condition not met within %v; log:\n%s", d, log.String())
}

// TestAlertSurvivesKill9: an alert raised while the webhook is down stays in
// the outbox through a SIGKILL and is delivered once after the restart —
// neither lost nor sent twice (the restarted daemon re-derives the same
// alert key for the same outage).
func TestAlertSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the outbox's first retry (30-45 s)")
	}
	e := newEnv(t, "200ms")
	var mu sync.Mutex
	got := 0
	hook := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got++
		mu.Unlock()
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens yet: the first delivery fails
	cfg, _ := os.ReadFile(e.config)
	cfg = []byte(strings.Replace(string(cfg), "    path: "+e.dest, "    path: "+filepath.Join(e.dir, "unplugged"), 1))
	cfg = append(cfg, []byte("notify:\n  - url: http://"+addr+"/hook\n    on: [failure]\n")...)
	os.WriteFile(e.config, cfg, 0o600)
	os.WriteFile(filepath.Join(e.watch, "a.bak"), []byte("x"), 0o644)

	c := e.cmd("run")
	var log syncBuffer
	c.Stderr = &log
	c.Start()
	waitFor(t, 20*time.Second, func() bool { return strings.Contains(log.String(), "destination unusable") }, &log)
	time.Sleep(500 * time.Millisecond) // the delivery attempt fails and is scheduled again
	c.Process.Kill()
	c.Wait()

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("webhook port taken meanwhile: %v", err)
	}
	hook.Listener = ln
	hook.Start()
	defer hook.Close()
	c = e.cmd("run")
	log.Reset()
	c.Stderr = &log
	c.Start()
	defer func() { c.Process.Signal(syscall.SIGTERM); c.Wait() }()
	waitFor(t, 75*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return got >= 1 }, &log)
	time.Sleep(3 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	if got != 1 {
		t.Fatalf("webhook received %d deliveries of one alert, want exactly 1\n%s", got, log.String())
	}
}

// TestResumeAfterKill9: a large upload to Drive's emulator is killed half
// way with SIGKILL; the next start continues the saved session from the last
// acknowledged chunk instead of starting over.
func TestResumeAfterKill9(t *testing.T) {
	const size, chunk = 24 << 20, 1 << 20
	cloud, drv, srv := startDrive(t)

	e := newEnv(t, "200ms")
	os.MkdirAll(filepath.Join(e.dir, "state"), 0o700)
	os.WriteFile(filepath.Join(e.dir, "state", "cloud-token.json"),
		[]byte(`{"access_token":"x","refresh_token":"r","expiry":"2001-01-01T00:00:00Z"}`), 0o600)
	cfg := fmt.Sprintf(`state_dir: %s
watches:
  - name: pos
    path: %s
    settle: 200ms
    destinations: [cloud]
destinations:
  - name: cloud
    type: gdrive
    folder: Backups
    endpoint: %s
    chunk_size: 1MiB
    chunk_size_max: 1MiB
    bandwidth: 6MiB/s
`, filepath.Join(e.dir, "state"), e.watch, srv.URL)
	os.WriteFile(e.config, []byte(cfg), 0o600)
	data := randomData(99, size)
	os.WriteFile(filepath.Join(e.watch, "big.bak"), data, 0o644)

	c := e.cmd("run")
	var log syncBuffer
	c.Stderr = &log
	c.Start()
	waitFor(t, 60*time.Second, func() bool { return cloud.StatsOf("drive").UploadBytes >= size/2 }, &log)
	c.Process.Kill()
	c.Wait()
	if n := len(drv.Files()); n != 0 {
		t.Fatalf("a half-sent upload is visible: %d files", n)
	}
	before := cloud.StatsOf("drive").UploadBytes
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once after the kill: %v\n%s", err, out)
	}
	sent := cloud.StatsOf("drive").UploadBytes
	files := drv.Files()
	if len(files) != 1 || files[0].SHA256 != sha(data) {
		t.Fatalf("after resuming: %+v", files)
	}
	if sent > size+2*chunk {
		t.Errorf("the service received %d bytes for a %d-byte file (%d before the kill): the upload started over", sent, size, before)
	}
	t.Logf("%d MiB file: %.1f MiB sent before the kill, %.1f MiB in all", size>>20, float64(before)/(1<<20), float64(sent)/(1<<20))
}
