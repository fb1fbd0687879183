package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/queue"
)

// TestScheduleCopyResumesAfterKill9: a schedule's copy of a multi-chunk
// backup to Drive's emulator (a destination the watch is not routed to) is
// killed with SIGKILL mid-file, once by default and at several moments
// with OFFSITE_LONG=1. Being a queue job, it continues its saved session
// after each restart, and `once` ends with exactly one correct copy at the
// schedule's name and the run recorded as complete.
func TestScheduleCopyResumesAfterKill9(t *testing.T) {
	const size, chunk = 16 << 20, 1 << 20
	kills := 1
	if os.Getenv("OFFSITE_LONG") != "" {
		kills = 5
	}
	cloud, drv, srv := startDrive(t)
	e := newEnv(t, "200ms")
	state := filepath.Join(e.dir, "state")
	os.MkdirAll(state, 0o700)
	os.WriteFile(filepath.Join(state, "cloud-token.json"),
		[]byte(`{"access_token":"x","refresh_token":"r","expiry":"2001-01-01T00:00:00Z"}`), 0o600)
	cfg := fmt.Sprintf(`state_dir: %s
watches:
  - name: pos
    path: %s
    settle: 200ms
    destinations: [usb]
destinations:
  - name: usb
    type: local
    path: %s
  - name: cloud
    type: gdrive
    folder: Backups
    endpoint: %s
    chunk_size: 1MiB
    chunk_size_max: 1MiB
    bandwidth: 4MiB/s
schedules:
  - name: weekly
    cron: "0 3 * * SUN"
    copy_latest: pos
    destinations: [cloud]
    folder: Weekly
`, state, e.watch, e.dest, srv.URL)
	os.WriteFile(e.config, []byte(cfg), 0o600)
	data := randomData(7, size)
	os.WriteFile(filepath.Join(e.watch, "big.bak"), data, 0o644)

	// The backup is queued and sent to usb; the schedule is first seen.
	if out, err := e.run("once"); err != nil {
		t.Fatalf("first once: %v\n%s", err, out)
	}
	if n := len(drv.Files()); n != 0 {
		t.Fatalf("a schedule not yet due copied %d files", n)
	}
	// Its last run was over a week ago: the next start runs it, late.
	setLastRun(t, state, "weekly", time.Now().Add(-8*24*time.Hour))

	for k := range kills {
		c := e.cmd("run")
		var log syncBuffer
		c.Stderr = &log
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		target := int64(size) * int64(k+1) / int64(kills+1)
		waitFor(t, 60*time.Second, func() bool { return cloud.StatsOf("drive").UploadBytes >= target }, &log)
		c.Process.Kill()
		c.Wait()
		if n := len(drv.Files()); n != 0 {
			t.Fatalf("kill %d: a half-sent copy is visible: %d files\n%s", k+1, n, log.String())
		}
	}
	before := cloud.StatsOf("drive").UploadBytes
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once after the kills: %v\n%s", err, out)
	}
	sent := cloud.StatsOf("drive").UploadBytes
	files := drv.Files()
	if len(files) != 1 || files[0].Path != "Backups/Weekly/pos/big.bak" || files[0].SHA256 != sha(data) {
		t.Fatalf("Drive holds %+v, want one Backups/Weekly/pos/big.bak of the backup", files)
	}
	// Each restart continues from the last acknowledged chunk.
	if limit := int64(size + (kills+1)*chunk); sent > limit {
		t.Errorf("Drive received %d bytes for a %d-byte copy after %d kill(s) (%d before the last start), more than %d: the copy started over",
			sent, size, kills, before, limit)
	}
	checkExactlyOnce(t, "usb", e.destFiles(), map[string]string{"pos/big.bak": sha(data)})
	s, err := queue.Open(filepath.Join(state, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run, err := s.ScheduleRunOf(context.Background(), "weekly")
	if err != nil || run.Open() || time.Since(run.LastRun) > time.Minute {
		t.Fatalf("schedule run after once: %+v, %v; want it complete and recorded", run, err)
	}
	t.Logf("%d MiB copy, %d kill(s): %.1f MiB sent before the last start, %.1f MiB in all (ratio %.2f to the file)",
		size>>20, kills, float64(before)/(1<<20), float64(sent)/(1<<20), float64(sent)/float64(size))
}

// setLastRun records a schedule's last run in a stopped daemon's queue.
func setLastRun(t *testing.T, state, schedule string, at time.Time) {
	t.Helper()
	s, err := queue.Open(filepath.Join(state, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetLastRun(context.Background(), schedule, at); err != nil {
		t.Fatal(err)
	}
}
